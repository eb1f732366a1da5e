// The real Mixtral tokenizer.model against vectors produced by the SentencePiece library, plus
// the decoding rules (dummy-prefix space, byte pieces, control and unknown ids) and the streaming
// decoder.
#include "core/error.h"
#include "support/test_paths.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>

namespace smoe {
namespace {

const Tokenizer& mixtral() {
  static const std::unique_ptr<Tokenizer> tokenizer = std::make_unique<Tokenizer>(
      load_vocab_from_sentencepiece(test::shared_path("tokenizer/mixtral-v1.tokenizer.model")));
  return *tokenizer;
}

std::vector<int32_t> ids_of(const Tokenizer& t, std::initializer_list<std::string_view> pieces) {
  std::vector<int32_t> ids;
  for (std::string_view p : pieces) ids.push_back(t.piece_to_id(p));
  return ids;
}

TEST(MixtralTokenizer, LoadsTheModel) {
  SMOE_REQUIRE_SHARED();
  const Vocab& v = mixtral().vocab();
  EXPECT_EQ(v.size(), 32000);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.pad_id, -1);
  EXPECT_TRUE(v.add_dummy_prefix);
  EXPECT_FALSE(v.remove_extra_whitespaces);
  EXPECT_TRUE(v.escape_whitespaces);
  EXPECT_TRUE(v.byte_fallback);
  EXPECT_EQ(v.pieces[1], "<s>");
  EXPECT_EQ(v.kinds[0], TokenKind::Unknown);
  EXPECT_EQ(v.kinds[1], TokenKind::Control);
  EXPECT_EQ(v.kinds[3], TokenKind::Byte);
  EXPECT_EQ(v.kinds[264], TokenKind::Normal);
  EXPECT_EQ(v.pieces[264], "\xE2\x96\x81" "a");
  EXPECT_FLOAT_EQ(v.scores[264], -5.0f);
  EXPECT_EQ(v.unk_surface, " \xE2\x81\x87 ");
}

TEST(MixtralTokenizer, LibraryVectors) {
  SMOE_REQUIRE_SHARED();
  std::ifstream file(test::shared_path("tokenizer/mixtral-v1-vectors.json"));
  ASSERT_TRUE(file);
  const nlohmann::json doc = nlohmann::json::parse(file);
  const Tokenizer& t = mixtral();
  size_t cases = 0;
  for (const auto& c : doc.at("cases")) {
    const std::string text = c.at("text");
    const std::vector<int32_t> expected = c.at("ids");
    const std::vector<std::string> pieces = c.at("pieces");
    const std::string decoded = c.at("decoded");
    const std::vector<int32_t> ids = t.encode(text, false);
    EXPECT_EQ(ids, expected) << "text: " << text;
    std::vector<std::string> got_pieces;
    for (int32_t id : ids) got_pieces.push_back(t.vocab().pieces.at(id));
    EXPECT_EQ(got_pieces, pieces) << "text: " << text;
    EXPECT_EQ(t.decode(expected), decoded) << "text: " << text;
    std::vector<int32_t> with_bos = t.encode(text, true);
    ASSERT_FALSE(with_bos.empty());
    EXPECT_EQ(with_bos.front(), 1);
    EXPECT_EQ(std::vector<int32_t>(with_bos.begin() + 1, with_bos.end()), expected);
    ++cases;
  }
  EXPECT_GT(cases, 10u);
}

// Mistral's own instruct tokenizer (v1) output for a chat: per user turn the encoding of
// "[INST] " + text + " [/INST]", per assistant turn the encoding of its text, then EOS.
TEST(MixtralTokenizer, ChatSampleMatchesMistralInstructTokenizer) {
  SMOE_REQUIRE_SHARED();
  const Tokenizer& t = mixtral();
  std::ifstream messages_file(test::shared_path("tokenizer/mixtral-v1-chat-sample.messages.json"));
  std::ifstream tokens_file(test::shared_path("tokenizer/mixtral-v1-chat-sample.tokens.json"));
  ASSERT_TRUE(messages_file && tokens_file);
  const nlohmann::json messages = nlohmann::json::parse(messages_file).at("messages");
  const std::vector<int32_t> expected = nlohmann::json::parse(tokens_file).at("tokens");
  std::vector<int32_t> ids = {t.bos_id()};
  for (const auto& m : messages) {
    const std::string content = m.at("content");
    const bool user = m.at("role") == "user";
    const std::vector<int32_t> part = t.encode(user ? "[INST] " + content + " [/INST]" : content, false);
    ids.insert(ids.end(), part.begin(), part.end());
    if (!user) ids.push_back(t.eos_id());
  }
  EXPECT_EQ(ids, expected);
}

TEST(MixtralTokenizer, DecodeRules) {
  SMOE_REQUIRE_SHARED();
  const Tokenizer& t = mixtral();
  auto decode = [&](std::initializer_list<std::string_view> pieces) { return t.decode(ids_of(t, pieces)); };
  // The values below are what SentencePiece 0.1.97's DecodeIds returns.
  EXPECT_EQ(decode({"▁", "▁Hello", "▁world"}), " Hello world");
  EXPECT_EQ(decode({"▁", "▁", "▁Hello"}), "  Hello");
  EXPECT_EQ(decode({"<s>", "▁", "▁Hello"}), " Hello");
  EXPECT_EQ(decode({"<s>", "▁Hello"}), "Hello");
  EXPECT_EQ(decode({"▁Hello", "<s>", "▁Hello"}), "Hello Hello");
  EXPECT_EQ(decode({"</s>", "▁Hello"}), "Hello");
  EXPECT_EQ(decode({"<0x20>", "▁Hello"}), "  Hello");
  EXPECT_EQ(decode({"<0x41>", "▁Hello"}), "A Hello");
  EXPECT_EQ(decode({"<0xE2>", "<0x96>", "<0x81>", "▁Hello"}), "▁ Hello");
  EXPECT_EQ(decode({"<unk>"}), " ⁇ ");
  EXPECT_EQ(decode({"<unk>", "<unk>", "▁Hello"}), " ⁇  ⁇  Hello");
  EXPECT_EQ(decode({"▁Hello", "<unk>"}), "Hello ⁇ ");
  EXPECT_EQ(decode({"<0xFF>", "<0xC3>"}), "\uFFFD\uFFFD");
  EXPECT_EQ(decode({"<0xC3>", "▁Hello"}), "\uFFFD Hello");
  EXPECT_EQ(decode({"<0xF0>", "<0x9F>", "<0xA4>"}), "\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(decode({"<0xED>", "<0xA0>", "<0x80>"}), "\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(decode({"<0xEF>", "<0xBF>", "<0xBD>"}), "\uFFFD");
  EXPECT_EQ(decode({"<s>", "</s>", "▁", "▁"}), " ");
  EXPECT_EQ(decode({"<0x41>", "▁", "▁Hello"}), "A  Hello");
  EXPECT_EQ(decode({"▁▁", "▁Hello"}), "  Hello");
  EXPECT_EQ(decode({"<0x0A>", "▁"}), "\n ");
  EXPECT_EQ(t.decode(std::vector<int32_t>{}), "");
  EXPECT_THROW(t.decode(std::vector<int32_t>{32000}), Error);
  EXPECT_THROW(t.decode(std::vector<int32_t>{-1}), Error);
}

TEST(MixtralTokenizer, InvalidUtf8BecomesReplacementCharacters) {
  SMOE_REQUIRE_SHARED();
  const Tokenizer& t = mixtral();
  const int32_t fffd = t.piece_to_id("\uFFFD");
  const int32_t space = t.piece_to_id("▁");
  EXPECT_EQ(t.encode("\xff", false), (std::vector<int32_t>{space, fffd}));
  EXPECT_EQ(t.encode("\xe2\x82", false), (std::vector<int32_t>{space, fffd, fffd}));
  EXPECT_EQ(t.encode("\xf8\x88\x80\x80\x80", false),
            (std::vector<int32_t>{space, fffd, fffd, fffd, fffd, fffd}));
  EXPECT_EQ(t.encode(std::string_view("\0", 1), false), (std::vector<int32_t>{space, 3}));
  EXPECT_EQ(t.encode("\xe2\x96\x81", false), (std::vector<int32_t>{259}));
}

TEST(MixtralTokenizer, TokenBytes) {
  SMOE_REQUIRE_SHARED();
  const Tokenizer& t = mixtral();
  EXPECT_EQ(t.token_bytes(t.piece_to_id("▁Hello"), true), "Hello");
  EXPECT_EQ(t.token_bytes(t.piece_to_id("▁Hello"), false), " Hello");
  EXPECT_EQ(t.token_bytes(1, false), "");
  EXPECT_EQ(t.token_bytes(0, false), " ⁇ ");
  EXPECT_EQ(t.token_bytes(t.piece_to_id("<0xE2>"), false), "\xE2");
  EXPECT_EQ(t.token_bytes(t.piece_to_id("▁▁"), true), " ");
}

TEST(MixtralTokenizer, StreamingHoldsBackIncompleteCharacters) {
  SMOE_REQUIRE_SHARED();
  const Tokenizer& t = mixtral();
  const std::vector<int32_t> ids = t.encode("héllo 🤗 world", true);
  StreamingDecoder stream(t);
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    // Nothing printed is ever a partial UTF-8 character.
    for (size_t i = 0; i < piece.size();) {
      const auto lead = static_cast<uint8_t>(piece[i]);
      const size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      ASSERT_LE(i + len, piece.size());
      i += len;
    }
    out += piece;
  }
  out += stream.finish();
  EXPECT_EQ(out, "héllo 🤗 world");
  EXPECT_EQ(out, t.decode(ids));

  // Continuing after a prompt keeps the leading space.
  StreamingDecoder cont(t, /*at_start=*/false);
  EXPECT_EQ(cont.push(t.piece_to_id("▁Hello")), " Hello");
}

}  // namespace
}  // namespace smoe
