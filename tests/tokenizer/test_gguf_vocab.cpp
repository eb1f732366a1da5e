// Vocabularies from GGUF metadata: llama.cpp's tokenizer test vectors for the Llama SPM vocab,
// the golden models' prompts (tokenized by llama.cpp with their embedded 4096-piece vocab), and
// the errors for unsupported or inconsistent tokenizer metadata.
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "support/test_paths.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <sstream>

namespace smoe {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

Tokenizer tokenizer_from_gguf(const std::string& path) {
  const GgufFile gguf = GgufFile::open(path);
  return Tokenizer(load_vocab_from_gguf(gguf));
}

TEST(GgufVocab, LlamaSpmVocabMetadata) {
  SMOE_REQUIRE_SHARED();
  const GgufFile gguf = GgufFile::open(test::shared_path("tokenizer/ggml-vocab-llama-spm.gguf"));
  const Vocab v = load_vocab_from_gguf(gguf);
  EXPECT_EQ(v.size(), 32000);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.pad_id, -1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_FALSE(v.add_eos);
  EXPECT_TRUE(v.add_dummy_prefix);
  EXPECT_TRUE(v.byte_fallback);
  EXPECT_FALSE(v.remove_extra_whitespaces);
  EXPECT_EQ(v.kinds[0], TokenKind::Unknown);
  EXPECT_EQ(v.kinds[1], TokenKind::Control);
  EXPECT_EQ(v.kinds[3], TokenKind::Byte);
  EXPECT_EQ(v.pieces[3], "<0x00>");
}

// ggml-vocab-llama-spm.gguf.inp holds strings each followed by "\n__ggml_vocab_test__\n";
// .out has one line of expected ids (no BOS) per string, in the same order.
TEST(GgufVocab, LlamaCppTokenizerVectors) {
  SMOE_REQUIRE_SHARED();
  const std::string base = test::shared_path("tokenizer/ggml-vocab-llama-spm.gguf");
  const Tokenizer t = tokenizer_from_gguf(base);
  const std::string inp = read_text(base + ".inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t end = inp.find(separator, pos);
    ASSERT_NE(end, std::string::npos) << "unterminated test string at byte " << pos;
    texts.push_back(inp.substr(pos, end - pos));
    pos = end + separator.size();
  }
  std::istringstream out(read_text(base + ".out"));
  std::vector<std::vector<int32_t>> expected;
  for (std::string line; std::getline(out, line);) {
    std::istringstream numbers(line);
    std::vector<int32_t> ids;
    for (int32_t id; numbers >> id;) ids.push_back(id);
    expected.push_back(ids);
  }
  ASSERT_EQ(texts.size(), expected.size());
  ASSERT_GE(texts.size(), 40u);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(t.encode(texts[i], false), expected[i]) << "string #" << i << ": " << texts[i];
    EXPECT_EQ(t.decode(expected[i]), texts[i]) << "string #" << i;
  }
}

TEST(GgufVocab, GoldenPromptsMatchLlamaCpp) {
  SMOE_REQUIRE_SHARED();
  std::ifstream file(test::shared_path("golden/manifest.json"));
  ASSERT_TRUE(file);
  const nlohmann::json manifest = nlohmann::json::parse(file);
  std::map<std::string, std::unique_ptr<Tokenizer>> by_model;
  size_t checked = 0;
  for (const auto& c : manifest.at("cases")) {
    if (!c.contains("prompt_text") || c.at("prompt_text").is_null()) continue;
    const std::string model = c.at("model");
    auto& tokenizer = by_model[model];
    if (!tokenizer)
      tokenizer = std::make_unique<Tokenizer>(tokenizer_from_gguf(test::shared_path("golden/" + model)));
    ASSERT_EQ(tokenizer->vocab().size(), 4096);
    const std::string text = c.at("prompt_text");
    const std::vector<int32_t> expected = c.at("tokens");
    EXPECT_EQ(tokenizer->encode(text, true), expected) << model << ": " << text;
    ++checked;
  }
  EXPECT_GE(checked, 10u);
}

// A minimal valid SPM vocabulary in a GGUF, for the error tests to spoil one key at a time.
struct TinyVocab {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "\xE2\x96\x81" "a"};
  std::vector<float> scores = {0, 0, 0, -1, -2, -3};
  std::vector<int32_t> types = {2, 3, 3, 1, 1, 1};

  void write(GgufWriter& w) const {
    w.set_string("general.architecture", "llama");
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_f32_array("tokenizer.ggml.scores", scores);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
  }
};

std::string load_error(const GgufWriter& w) {
  const std::string path = test::temp_dir() + "/vocab.gguf";
  w.write(path);
  try {
    const GgufFile gguf = GgufFile::open(path);
    (void)load_vocab_from_gguf(gguf);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GgufVocab, TinyVocabularyLoadsAndEncodes) {
  GgufWriter w;
  TinyVocab().write(w);
  EXPECT_EQ(load_error(w), "");
  const std::string path = test::temp_dir() + "/tiny.gguf";
  w.write(path);
  const Tokenizer t = tokenizer_from_gguf(path);
  EXPECT_FALSE(t.vocab().byte_fallback);  // no byte pieces
  EXPECT_EQ(t.encode("a", true), (std::vector<int32_t>{1, 5}));
  EXPECT_EQ(t.encode("a a", false), (std::vector<int32_t>{5, 5}));
  // Without byte pieces, a run of unknown characters is one <unk>, as in SentencePiece.
  EXPECT_EQ(t.encode("a\xC3\xA9\xC3\xA9", false), (std::vector<int32_t>{5, 0}));
  EXPECT_EQ(t.decode(std::vector<int32_t>{5, 0, 5}), "a ⁇  a");
}

TEST(GgufVocab, RejectsOtherTokenizerModels) {
  GgufWriter w;
  TinyVocab().write(w);
  w.set_string("tokenizer.ggml.model", "gpt2");
  EXPECT_EQ(load_error(w),
            "tokenizer model 'gpt2' is not supported (smoe supports SentencePiece 'llama' vocabularies)");
}

TEST(GgufVocab, RejectsInconsistentMetadata) {
  {
    GgufWriter w;
    TinyVocab().write(w);
    w.remove("tokenizer.ggml.model");
    EXPECT_NE(load_error(w).find("tokenizer.ggml.model is missing"), std::string::npos);
  }
  {
    GgufWriter w;
    TinyVocab v;
    v.scores.pop_back();
    v.write(w);
    EXPECT_NE(load_error(w).find("tokenizer.ggml.scores has 5 entries but tokenizer.ggml.tokens has 6"),
              std::string::npos);
  }
  {
    GgufWriter w;
    TinyVocab v;
    v.types.push_back(1);
    v.write(w);
    EXPECT_NE(load_error(w).find("tokenizer.ggml.token_type has 7 entries"), std::string::npos);
  }
  {
    GgufWriter w;
    TinyVocab v;
    v.types[4] = 9;
    v.write(w);
    EXPECT_NE(load_error(w).find("tokenizer.ggml.token_type[4] = 9"), std::string::npos);
  }
  {
    GgufWriter w;
    TinyVocab().write(w);
    w.set_u32("tokenizer.ggml.bos_token_id", 6);
    EXPECT_NE(load_error(w).find("tokenizer.ggml.bos_token_id = 6 is out of range"), std::string::npos);
  }
  {
    GgufWriter w;
    TinyVocab().write(w);
    w.set_u32("tokenizer.ggml.unknown_token_id", 100);
    EXPECT_NE(load_error(w).find("tokenizer.ggml.unknown_token_id = 100 is out of range"), std::string::npos);
  }
  {
    GgufWriter w;
    TinyVocab v;
    v.types[4] = 6;  // a byte piece not spelled <0xNN>
    v.write(w);
    EXPECT_NE(load_error(w).find("not spelled <0xNN>"), std::string::npos);
  }
  {
    GgufWriter w;
    TinyVocab v;
    v.tokens[4] = "";
    v.write(w);
    EXPECT_NE(load_error(w).find("piece 4 is empty"), std::string::npos);
  }
  {
    GgufWriter w;
    TinyVocab().write(w);
    w.set_string("tokenizer.ggml.scores", "not an array");
    EXPECT_NE(load_error(w).find("tokenizer.ggml.scores"), std::string::npos);
  }
}

}  // namespace
}  // namespace smoe
