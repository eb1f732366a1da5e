// safetensors reader: a valid file reads back; every malformed header is one clear error.
#include "core/error.h"
#include "formats/safetensors.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

namespace smoe {
namespace {

std::string file_with(const std::string& header, size_t data_bytes, size_t declared_len = SIZE_MAX) {
  const std::string path = test::temp_dir() + "/t.safetensors";
  std::ofstream f(path, std::ios::binary);
  const uint64_t len = declared_len == SIZE_MAX ? header.size() : declared_len;
  f.write(reinterpret_cast<const char*>(&len), 8);
  f << header;
  for (size_t i = 0; i < data_bytes; ++i) f.put(static_cast<char>(i));
  return path;
}

void expect_error(const std::string& path, const std::string& part) {
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "accepted a file that should fail with '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Safetensors, ReadsTensorsInPlace) {
  const std::string path = file_with(
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
      R"("b":{"dtype":"F32","shape":[],"data_offsets":[12,16]}})",
      16);
  SafetensorsFile f = SafetensorsFile::open(path);
  ASSERT_EQ(f.tensors().size(), 2u);
  const SafetensorsTensor* a = f.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, SafetensorsDtype::BF16);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->n_elements, 6);
  EXPECT_EQ(a->data[0], 0);
  EXPECT_EQ(f.find("b")->data[0], 12);
  EXPECT_EQ(f.find("b")->n_elements, 1);
  EXPECT_EQ(f.metadata().at("format"), "pt");
}

TEST(Safetensors, MalformedFilesAreClearErrors) {
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  expect_error(file_with(ok, 8, 1u << 30), "larger than");
  expect_error(file_with(ok, 8, ok.size() + 100), "truncated");
  expect_error(file_with("{\"a\":", 0), "not valid JSON");
  expect_error(file_with("[1,2]", 0), "not a JSON object");
  expect_error(file_with(R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", 8), "unknown dtype");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "need 12 bytes");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "outside");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "outside");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "non-negative");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
               "too large");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[2]}})", 8), "data_offsets");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         12),
               "overlap");
  expect_error(file_with(R"({"a":7})", 0), "not an object");
  const std::string tiny = test::temp_dir() + "/tiny";
  std::ofstream(tiny) << "abc";
  expect_error(tiny, "too short");
}

// The limits that protect the host, each refused with its own message (without them a header of
// many tiny entries is held in memory whole before anything is checked).
TEST(Safetensors, HeaderLimits) {
  std::string many = "{";
  for (size_t i = 0; i <= SafetensorsFile::kMaxTensorCount; ++i)
    many += fmt::format(R"("t{}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}},)", i);
  many.back() = '}';
  expect_error(file_with(many, 0), "more than the 65536 tensors");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", 8), "nests deeper than 3");
  expect_error(file_with(R"({"__metadata__":{"k":{"x":[1]}}})", 0), "nests deeper than 3");
  expect_error(file_with(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,2],"data_offsets":[0,8]}})", 8),
               "more than 8 dimensions");
  // At the limits themselves, files are accepted.
  EXPECT_NO_THROW(SafetensorsFile::open(
      file_with(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,2],"data_offsets":[0,8]}})", 8)));
}

TEST(Safetensors, EveryTruncationOfAValidFileIsAnError) {
  const std::string good = file_with(R"({"w":{"dtype":"F16","shape":[4,4],"data_offsets":[0,32]}})", 32);
  std::ifstream in(good, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  const std::string cut = test::temp_dir() + "/cut.safetensors";
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::ofstream(cut, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(n));
    EXPECT_THROW(SafetensorsFile::open(cut), Error) << "cut at " << n;
  }
}

// from_bytes (what fuzz_safetensors uses) runs the same checks on memory, in place.
TEST(Safetensors, FromBytesReadsMemoryInPlace) {
  const std::string header = R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})";
  std::string bytes(8, '\0');
  const uint64_t len = header.size();
  std::memcpy(bytes.data(), &len, 8);
  bytes += header + "xyz";
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const SafetensorsFile f = SafetensorsFile::from_bytes(data, bytes.size(), "memory");
  ASSERT_NE(f.find("a"), nullptr);
  EXPECT_EQ(f.find("a")->data, data + 8 + header.size());
  try {
    SafetensorsFile::from_bytes(data, bytes.size() - 1, "memory");
    ADD_FAILURE() << "accepted a tensor past the end";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("memory: tensor 'a'", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace smoe
