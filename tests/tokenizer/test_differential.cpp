// Differential tests against the SentencePiece library itself (libsentencepiece, when installed):
// the same model is loaded in both, and thousands of generated strings (fixed seed) must encode
// to the same ids and decode back to the same text; random id sequences must decode the same,
// also through the streaming decoder. Variants of the Mixtral model (other normalizer options,
// user-defined and unused pieces, no byte fallback) exercise the paths the real model does not.
#include "core/error.h"
#include "support/test_paths.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <tuple>

#if SMOE_HAVE_SENTENCEPIECE
#include <sentencepiece_processor.h>
#endif

namespace smoe {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

std::string mixtral_model_bytes() {
  static const std::string bytes = read_file(test::shared_path("tokenizer/mixtral-v1.tokenizer.model"));
  return bytes;
}

// ---- A minimal protobuf writer/reader, to derive model variants from the real file. ----

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, uint32_t field, uint32_t wire) { put_varint(out, (uint64_t{field} << 3) | wire); }
void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_int(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, 0);
  put_varint(out, static_cast<uint64_t>(v));
}
void put_float(std::string& out, uint32_t field, float f) {
  put_key(out, field, 5);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
}
std::string piece_message(std::string_view piece, float score, int type) {
  std::string m;
  put_bytes(m, 1, piece);
  put_float(m, 2, score);
  if (type != 1) put_int(m, 3, type);
  return m;
}

struct Variant {
  std::string name;
  std::string bytes;
};

// Rewrites the model: `retype` may change a piece's type (by its text); `extra_pieces` are
// appended; `normalizer` / `trainer` are appended as extra spec messages, which protobuf merges
// into the existing ones field by field.
std::string derive_model(const std::function<int(std::string_view piece, int type)>& retype,
                         const std::vector<std::tuple<std::string, float, int>>& extra_pieces,
                         const std::string& normalizer, const std::string& trainer) {
  const std::string original = mixtral_model_bytes();
  std::string out;
  size_t pos = 0;
  auto varint = [&](const std::string& s, size_t& p) {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<uint8_t>(s[p++]);
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
  };
  bool extras_written = false;
  while (pos < original.size()) {
    const uint64_t key = varint(original, pos);
    const uint32_t field = static_cast<uint32_t>(key >> 3);
    EXPECT_EQ(key & 7, 2u);  // every top-level field of ModelProto is a message
    const uint64_t length = varint(original, pos);
    const std::string value = original.substr(pos, length);
    pos += length;
    if (field == 1) {
      // Decode piece, score, type.
      std::string piece;
      float score = 0;
      int type = 1;
      size_t p = 0;
      while (p < value.size()) {
        const uint64_t k = varint(value, p);
        if ((k >> 3) == 1) {
          const uint64_t n = varint(value, p);
          piece = value.substr(p, n);
          p += n;
        } else if ((k >> 3) == 2) {
          std::memcpy(&score, value.data() + p, 4);
          p += 4;
        } else {
          type = static_cast<int>(varint(value, p));
        }
      }
      put_bytes(out, 1, piece_message(piece, score, retype ? retype(piece, type) : type));
    } else {
      if (!extras_written) {
        for (const auto& [piece, score, type] : extra_pieces) put_bytes(out, 1, piece_message(piece, score, type));
        extras_written = true;
      }
      put_bytes(out, field, value);
    }
  }
  if (!normalizer.empty()) put_bytes(out, 3, normalizer);
  if (!trainer.empty()) put_bytes(out, 2, trainer);
  return out;
}

std::vector<Variant> model_variants() {
  std::vector<Variant> variants;
  variants.push_back({"mixtral", mixtral_model_bytes()});
  {
    std::string n;
    put_int(n, 4, 1);  // remove_extra_whitespaces
    variants.push_back({"remove_extra_whitespaces", derive_model(nullptr, {}, n, "")});
  }
  {
    std::string n;
    put_int(n, 3, 0);  // add_dummy_prefix = false
    variants.push_back({"no_dummy_prefix", derive_model(nullptr, {}, n, "")});
  }
  {
    std::string n;
    put_int(n, 3, 0);
    put_int(n, 4, 1);
    variants.push_back({"no_dummy_prefix_remove_ws", derive_model(nullptr, {}, n, "")});
  }
  {
    std::string n;
    put_int(n, 5, 0);  // escape_whitespaces = false
    variants.push_back({"no_escape_whitespaces", derive_model(nullptr, {}, n, "")});
  }
  {
    // Common merge results made Unused: merges into them must be undone afterwards.
    auto retype = [](std::string_view piece, int type) {
      static const std::vector<std::string_view> unused = {"▁t", "in", "er", "▁a", "en", "on", "▁th", "es",
                                                           "▁the", "▁▁", "at", "or", "▁s", "ing", "he", "▁and"};
      for (auto u : unused)
        if (piece == u) return 5;
      return type;
    };
    variants.push_back({"unused_pieces", derive_model(retype, {}, "", "")});
  }
  {
    // User-defined pieces: matched whole before merging, never merged further.
    auto retype = [](std::string_view piece, int type) {
      if (piece == "ing" || piece == "▁world" || piece == "ll" || piece == "▁▁▁▁▁▁" || piece == "ab") return 4;
      return type;
    };
    std::vector<std::tuple<std::string, float, int>> extra = {
        {"[INST]", 0.0f, 4}, {"<|im_start|>", 0.0f, 4}, {"a b", 0.0f, 4}, {"zq▁▁", -3.0f, 4},
        {"你好", 0.0f, 4},   {"<|", 0.0f, 4},           {"x\ny", 0.0f, 4}};
    variants.push_back({"user_defined", derive_model(retype, extra, "", "")});
  }
  {
    // No byte fallback: the byte pieces become ordinary pieces, unknown characters become <unk>.
    auto retype = [](std::string_view, int type) { return type == 6 ? 1 : type; };
    std::string t;
    put_int(t, 35, 0);
    put_bytes(t, 44, "<?>");  // unk_surface
    variants.push_back({"no_byte_fallback", derive_model(retype, {}, "", t)});
  }
  return variants;
}

// ---- String generators (fixed seed). ----

class TextGenerator {
 public:
  explicit TextGenerator(uint32_t seed) : rng_(seed) {}

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(uniform(0, static_cast<int>(v.size()) - 1))]; }

  static std::string utf8(uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  }

  std::string word() {
    static const std::vector<std::string> words = {
        "the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are",
        "The", "Hello", "world", "token", "Mixtral", "experts", "router", "tokenization", "unbelievable",
        "ing", "[INST]", "[/INST]", "<s>", "</s>", "<unk>", "<0x41>", "I'm", "don't", "e.g.", "U.S.A.",
        "http://example.com/a?b=c", "foo_bar", "CamelCaseName", "snake_case", "x86-64", "C++20", "ab",
        "你好", "<|im_start|>", "a b", "ll", "hello", "HELLO", "naïve", "café", "Zürich", "Ελληνικά", "Привет"};
    if (uniform(0, 3) == 0) {  // random lowercase letters
      std::string w;
      for (int i = uniform(1, 12); i > 0; --i) w += static_cast<char>('a' + uniform(0, 25));
      return w;
    }
    return pick(words);
  }

  std::string whitespace() {
    static const std::vector<std::string> ws = {" ", " ", " ", "  ", "   ", "    ", "\t", "\n", "\n\n", "\r\n",
                                                " \t ", "\xE2\x96\x81", "\xC2\xA0", "\xE3\x80\x80", "\v", "\f"};
    std::string s;
    for (int i = uniform(1, 3); i > 0; --i) s += pick(ws);
    return s;
  }

  std::string digits() {
    std::string s;
    for (int i = uniform(1, 12); i > 0; --i) s += static_cast<char>('0' + uniform(0, 9));
    if (uniform(0, 3) == 0) s += "." + std::to_string(uniform(0, 999));
    return s;
  }

  std::string punctuation() {
    static const std::string p = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    std::string s;
    for (int i = uniform(1, 6); i > 0; --i) s += p[static_cast<size_t>(uniform(0, static_cast<int>(p.size()) - 1))];
    return s;
  }

  std::string accented() {
    static const std::vector<uint32_t> letters = {0xE9, 0xE8, 0xEA, 0xE0, 0xE7, 0xF1, 0xFC, 0xF6, 0xDF, 0xD8,
                                                  0x153, 0x142, 0x159, 0x11F, 0x131, 0x1EA1, 0x1EC7, 0xC5};
    std::string s;
    for (int i = uniform(1, 8); i > 0; --i) {
      if (uniform(0, 2) == 0) s += utf8(static_cast<uint32_t>(uniform('a', 'z')));
      else s += utf8(pick(letters));
    }
    return s;
  }

  std::string combining() {
    std::string s = utf8(static_cast<uint32_t>(uniform('a', 'z')));
    for (int i = uniform(1, 4); i > 0; --i) s += utf8(static_cast<uint32_t>(uniform(0x300, 0x36F)));
    return s;
  }

  std::string cjk() {
    std::string s;
    for (int i = uniform(1, 10); i > 0; --i) {
      switch (uniform(0, 4)) {
        case 0: s += utf8(static_cast<uint32_t>(uniform(0x3040, 0x30FF))); break;  // kana
        case 1: s += utf8(static_cast<uint32_t>(uniform(0xAC00, 0xD7A3))); break;  // hangul
        case 2: s += utf8(static_cast<uint32_t>(uniform(0x20000, 0x2A6DF))); break;  // ext. B
        default: s += utf8(static_cast<uint32_t>(uniform(0x4E00, 0x9FFF)));
      }
    }
    return s;
  }

  std::string emoji() {
    static const std::vector<std::string> sequences = {
        "\U0001F917", "\U0001F600", "\u2705", "\U0001F468\u200D\U0001F469\u200D\U0001F467", "\u2764\uFE0F",
        "\U0001F1EB\U0001F1F7", "\U0001F44D\U0001F3FD", "\U0001F999", "\U0001F680"};
    if (uniform(0, 1) == 0) return pick(sequences);
    return utf8(static_cast<uint32_t>(uniform(0x1F300, 0x1FAFF)));
  }

  std::string any_codepoint() {
    for (;;) {
      const uint32_t cp = static_cast<uint32_t>(uniform(1, 0x10FFFF));
      if (cp >= 0xD800 && cp < 0xE000) continue;
      return utf8(cp);
    }
  }

  std::string random_bytes() {
    static const std::vector<std::string> tricky = {
        "\xff", "\xfe", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\x80", "\xbf", "\xc3", "\xe2\x82", "\xf0\x9f\xa4",
        "\xef\xbf\xbd", "\xe2\x96", std::string("\0", 1)};
    std::string s;
    for (int i = uniform(1, 8); i > 0; --i) {
      if (uniform(0, 1) == 0) s += pick(tricky);
      else s += static_cast<char>(uniform(0, 255));
    }
    return s;
  }

  // One fragment of a category, then texts mixing several.
  std::string fragment(int category) {
    switch (category) {
      case 0: return word();
      case 1: return whitespace();
      case 2: return digits();
      case 3: return punctuation();
      case 4: return accented();
      case 5: return cjk();
      case 6: return emoji();
      case 7: return combining();
      case 8: return random_bytes();
      default: return any_codepoint();
    }
  }

  std::string text(int max_fragments) {
    std::string s;
    const int focus = uniform(0, 9);  // most texts lean on one category
    for (int i = uniform(0, max_fragments); i > 0; --i) {
      const int category = uniform(0, 2) == 0 ? uniform(0, 9) : focus;
      s += fragment(category);
      if (uniform(0, 2) == 0) s += " ";
    }
    if (uniform(0, 5) == 0) s = whitespace() + s;
    if (uniform(0, 5) == 0) s += whitespace();
    return s;
  }

 private:
  std::mt19937 rng_;
};

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

#if SMOE_HAVE_SENTENCEPIECE

struct Pair {
  std::unique_ptr<Tokenizer> ours;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> library;
};

Pair load_both(const Variant& variant) {
  Pair p;
  p.library = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = p.library->LoadFromSerializedProto(variant.bytes);
  EXPECT_TRUE(status.ok()) << variant.name << ": " << status.ToString();
  p.ours = std::make_unique<Tokenizer>(parse_sentencepiece_model(variant.bytes, variant.name));
  return p;
}

std::vector<int> library_encode(const sentencepiece::SentencePieceProcessor& sp, std::string_view text) {
  std::vector<int> ids;
  const auto status = sp.Encode(text, &ids);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return ids;
}

std::string library_decode(const sentencepiece::SentencePieceProcessor& sp, const std::vector<int32_t>& ids) {
  std::string text;
  const auto status = sp.Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return text;
}

// Compares encode and decode(encode) on `count` generated texts; returns the number compared.
int compare_texts(const Pair& p, const std::string& name, uint32_t seed, int count, int max_fragments) {
  TextGenerator gen(seed);
  int mismatches = 0;
  for (int i = 0; i < count; ++i) {
    const std::string text = gen.text(max_fragments);
    const std::vector<int> expected = library_encode(*p.library, text);
    const std::vector<int32_t> ids = p.ours->encode(text, false);
    const bool same_ids = std::equal(ids.begin(), ids.end(), expected.begin(), expected.end());
    const std::string decoded = p.ours->decode(ids);
    const std::string expected_decoded = library_decode(*p.library, ids);
    if (!same_ids || decoded != expected_decoded) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << name << " text #" << i << " \"" << printable(text) << "\": ids "
                      << (same_ids ? "equal" : "differ") << ", decoded \"" << printable(decoded)
                      << "\" vs library \"" << printable(expected_decoded) << "\"";
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << name;
  return count;
}

class Differential : public ::testing::TestWithParam<int> {};

TEST_P(Differential, EncodeAndDecodeMatchTheLibrary) {
  SMOE_REQUIRE_SHARED();
  const std::vector<Variant> variants = model_variants();
  const Variant& variant = variants.at(static_cast<size_t>(GetParam()));
  const Pair p = load_both(variant);
  // The real model gets the most strings; each variant a share of them.
  const bool real = variant.name == "mixtral";
  int compared = compare_texts(p, variant.name, 1234 + GetParam(), real ? 3000 : 400, 12);
  compared += compare_texts(p, variant.name + " (long)", 99 + GetParam(), real ? 20 : 4, 4000);
  RecordProperty("strings", compared);
}

std::string variant_test_name(const ::testing::TestParamInfo<int>& info) {
  static const std::vector<std::string> names = {"mixtral", "remove_extra_whitespaces", "no_dummy_prefix",
                                                 "no_dummy_prefix_remove_ws", "no_escape_whitespaces",
                                                 "unused_pieces", "user_defined", "no_byte_fallback"};
  return names.at(static_cast<size_t>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Variants, Differential, ::testing::Range(0, 8), variant_test_name);

TEST(DifferentialVariants, NamesMatchTheList) {
  SMOE_REQUIRE_SHARED();
  const std::vector<Variant> variants = model_variants();
  ASSERT_EQ(variants.size(), 8u);
  EXPECT_EQ(variants[7].name, "no_byte_fallback");
}

// Long inputs stay fast (a priority queue over a linked list: O(n log n)) and still match.
TEST(Differential, LongTextsMatchAndAreFast) {
  SMOE_REQUIRE_SHARED();
  const Pair p = load_both(model_variants().front());
  TextGenerator gen(2024);
  std::string text;
  while (text.size() < 300000) text += gen.text(50);
  std::string one_word(100000, 'a');  // a single 100 KB "word": many merge rounds
  std::string spaces(100000, ' ');
  for (const std::string* s : {&text, &one_word, &spaces}) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = p.ours->encode(*s, true);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 2.0) << s->size() << " bytes";
    std::vector<int> expected = library_encode(*p.library, *s);
    expected.insert(expected.begin(), 1);
    EXPECT_TRUE(std::equal(ids.begin(), ids.end(), expected.begin(), expected.end())) << s->size() << " bytes";
    EXPECT_EQ(p.ours->decode(ids), library_decode(*p.library, ids));
  }
}

// Random id sequences, weighted towards the ids decoding treats specially (bytes, control,
// unknown, pieces starting with U+2581), decoded by both; the streaming decoder must agree at
// every prefix.
TEST(Differential, DecodeRandomIdsAndStream) {
  SMOE_REQUIRE_SHARED();
  for (const Variant& variant : model_variants()) {
    if (variant.name != "mixtral" && variant.name != "remove_extra_whitespaces" &&
        variant.name != "no_dummy_prefix" && variant.name != "no_byte_fallback")
      continue;
    const Pair p = load_both(variant);
    const Tokenizer& t = *p.ours;
    std::vector<int32_t> space_pieces;
    for (int32_t id = 0; id < t.vocab().size(); ++id)
      if (t.vocab().pieces[id].starts_with("\xE2\x96\x81")) space_pieces.push_back(id);
    std::mt19937 rng(7);
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    int mismatches = 0;
    for (int i = 0; i < 2000; ++i) {
      std::vector<int32_t> ids;
      for (int n = uniform(0, 24); n > 0; --n) {
        switch (uniform(0, 6)) {
          case 0: ids.push_back(uniform(0, 2)); break;                // unk, bos, eos
          case 6: ids.push_back(t.piece_to_id(uniform(0, 1) ? "\xE2\x96\x81" : "\xE2\x96\x81\xE2\x96\x81")); break;
          case 1: case 2: ids.push_back(uniform(3, 258)); break;      // byte pieces
          case 3: ids.push_back(space_pieces[static_cast<size_t>(uniform(0, static_cast<int>(space_pieces.size()) - 1))]); break;
          default: ids.push_back(uniform(0, t.vocab().size() - 1));
        }
      }
      // Complete multi-byte characters as byte tokens, so valid reassembly is exercised too.
      if (uniform(0, 3) == 0) {
        const std::string ch = TextGenerator::utf8(static_cast<uint32_t>(uniform(0x80, 0x10FFFF)));
        const size_t at = static_cast<size_t>(uniform(0, static_cast<int>(ids.size())));
        std::vector<int32_t> bytes;
        for (unsigned char c : ch) bytes.push_back(3 + c);
        ids.insert(ids.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin(), bytes.end());
      }
      const std::string expected = library_decode(*p.library, ids);
      const std::string decoded = t.decode(ids);
      if (decoded != expected && ++mismatches <= 5)
        ADD_FAILURE() << variant.name << " ids #" << i << ": \"" << printable(decoded) << "\" vs library \""
                      << printable(expected) << "\"";

      StreamingDecoder stream(t);
      std::string streamed;
      for (size_t k = 0; k < ids.size(); ++k) {
        streamed += stream.push(ids[k]);
        StreamingDecoder flushed = stream;
        const std::string prefix_text =
            t.decode(std::span<const int32_t>(ids.data(), k + 1));
        if (streamed + flushed.finish() != prefix_text) {
          if (++mismatches <= 5)
            ADD_FAILURE() << variant.name << " stream #" << i << " at " << k << ": \"" << printable(streamed)
                          << "\" vs \"" << printable(prefix_text) << "\"";
          break;
        }
      }
      streamed += stream.finish();
      if (streamed != decoded && ++mismatches <= 5)
        ADD_FAILURE() << variant.name << " stream #" << i << " total differs";
    }
    EXPECT_EQ(mismatches, 0) << variant.name;
  }
}

// Truncated and corrupted model files: ours must throw smoe::Error or load, never crash, and
// must accept exactly when the library accepts (a truncation at a field boundary is a valid,
// smaller model).
TEST(Differential, MalformedModelsAreCleanErrors) {
  SMOE_REQUIRE_SHARED();
  const std::string original = mixtral_model_bytes();
  std::mt19937 rng(11);
  std::vector<size_t> offsets;
  for (size_t i = 0; i < 600; ++i) offsets.push_back(i);
  for (size_t i = 0; i < 200; ++i) offsets.push_back(original.size() - 1 - i);
  for (int i = 0; i < 200; ++i) offsets.push_back(std::uniform_int_distribution<size_t>(0, original.size() - 1)(rng));
  int disagreements = 0;
  auto check = [&](const std::string& bytes, const std::string& what) {
    bool ours_ok = true;
    try {
      Tokenizer t(parse_sentencepiece_model(bytes, what));
      (void)t.encode("Hello world, héllo 你好 🤗", true);
    } catch (const Error& e) {
      ours_ok = false;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    }
    sentencepiece::SentencePieceProcessor sp;
    const bool library_ok = sp.LoadFromSerializedProto(bytes).ok();
    if (ours_ok != library_ok && ++disagreements <= 10)
      ADD_FAILURE() << what << ": ours " << (ours_ok ? "loads" : "rejects") << ", library "
                    << (library_ok ? "loads" : "rejects");
  };
  for (size_t offset : offsets) check(original.substr(0, offset), fmt::format("truncated at {}", offset));
  for (int i = 0; i < 300; ++i) {
    std::string garbage(static_cast<size_t>(std::uniform_int_distribution<int>(0, 2000)(rng)), '\0');
    for (char& c : garbage) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    check(garbage, fmt::format("garbage #{}", i));
  }
  EXPECT_EQ(disagreements, 0);
}

#endif  // SMOE_HAVE_SENTENCEPIECE

// Without the library these still run: corrupted files never crash.
TEST(MalformedModel, TruncationsAndGarbageThrowOrLoad) {
  SMOE_REQUIRE_SHARED();
  const std::string original = mixtral_model_bytes();
  std::mt19937 rng(5);
  int errors = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bytes = original.substr(0, std::uniform_int_distribution<size_t>(0, original.size())(rng));
    // Corrupt a few bytes too.
    for (int k = std::uniform_int_distribution<int>(0, 3)(rng); k > 0 && !bytes.empty(); --k)
      bytes[std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng)] =
          static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    try {
      Tokenizer t(parse_sentencepiece_model(bytes, "corrupt"));
      (void)t.encode("Hello world", true);
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_THROW(load_vocab_from_sentencepiece("/nonexistent/tokenizer.model"), Error);
  EXPECT_THROW(parse_sentencepiece_model("", "empty"), Error);
}

}  // namespace
}  // namespace smoe
