// Malformed GGUF files: each must fail to open with one clean smoe::Error naming the problem,
// never crash, hang or read out of bounds (this suite is also meant to be run under
// -fsanitize=address,undefined). Bad files are made by patching fields of a small valid file
// written by GgufWriter, by hand-built bytes where the writer cannot express the case, and by
// truncating a golden file at every header offset.
#include "formats/gguf_writer.h"
#include "gguf_test_support.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <random>

#include <fcntl.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace smoe {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// A small valid file and the positions of its fields. Keys and tensor names are unique byte
// strings, so each field is found by searching for its name.
class GgufMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir();
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_u32("general.alignmenU", 32);    // renamed to general.alignment by some tests
    w.set_string("general.alignmenS", "32");
    w.set_u32("test.k1", 7);
    w.set_u32("test.k2", 8);
    const std::vector<int32_t> ints = {1, 2, 3};
    w.set_i32_array("test.ints", ints);
    const std::vector<std::string> words = {"a", "bc"};
    w.set_string_array("test.words", words);
    static const uint8_t payload[128] = {1, 2, 3};
    w.add_tensor("tensor.a", GgmlType::F32, {8, 2}, payload);   // 64 bytes at offset 0
    w.add_tensor("tensor.b", GgmlType::Q8_0, {32, 2}, payload); // 68 bytes at offset 64
    w.write(dir_ + "/base.gguf");
    base_ = test::read_bytes(dir_ + "/base.gguf");
  }

  // Position of the value that follows key `key` and its u32 type field.
  size_t value_of(std::string_view key) { return test::find_unique(base_, key) + key.size() + 4; }
  size_t type_of(std::string_view key) { return test::find_unique(base_, key) + key.size(); }
  // Fields of the tensor info named `name` (whose n_dims is 2).
  size_t n_dims_of(std::string_view name) { return test::find_unique(base_, name) + name.size(); }
  size_t ne_of(std::string_view name, int i) { return n_dims_of(name) + 4 + 8 * i; }
  size_t type_of_tensor(std::string_view name) { return ne_of(name, 2); }
  size_t offset_of(std::string_view name) { return ne_of(name, 2) + 4; }

  // Writes `bytes` to a fresh file and returns its path.
  std::string write(const std::vector<uint8_t>& bytes) {
    const std::string path = dir_ + "/case" + std::to_string(cases_++) + ".gguf";
    test::write_bytes(path, bytes);
    return path;
  }
  template <typename T>
  std::string patched(size_t pos, T value) {
    std::vector<uint8_t> bytes = base_;
    test::patch(bytes, pos, value);
    return write(bytes);
  }

  std::string dir_;
  std::vector<uint8_t> base_;
  int cases_ = 0;
};

// from_bytes (what fuzz_gguf uses) runs the same checks on memory, in place.
TEST_F(GgufMalformed, FromBytesReadsMemoryInPlace) {
  const GgufFile f = GgufFile::from_bytes(base_.data(), base_.size(), "memory");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.find_tensor("tensor.b")->data, base_.data() + f.data_offset() + 64);
  EXPECT_EQ(f.get_int("test.k2"), 8);
  try {
    // Cut inside tensor.b (68 bytes at data offset 64); the file may end in alignment padding.
    GgufFile::from_bytes(base_.data(), f.data_offset() + 100, "memory");
    ADD_FAILURE() << "accepted a truncated file";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("memory: ", 0), 0u) << e.what();
  }
}

TEST_F(GgufMalformed, BaseFileIsValid) {
  const GgufFile f = GgufFile::open(dir_ + "/base.gguf");
  EXPECT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.find_tensor("tensor.b")->offset, 64u);
  EXPECT_EQ(f.get_int("test.k2"), 8);
  EXPECT_EQ(test::peek<uint64_t>(base_, offset_of("tensor.b")), 64u);
  EXPECT_EQ(test::peek<uint32_t>(base_, type_of_tensor("tensor.b")), 8u);
}

TEST_F(GgufMalformed, MessagesNameTheFile) {
  const std::string path = patched<uint32_t>(4, 4);
  const std::string message = test::open_error(path);
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
}

TEST_F(GgufMalformed, MissingEmptyOrTinyFiles) {
  EXPECT_OPEN_ERROR(dir_ + "/absent.gguf", "cannot open");
  EXPECT_OPEN_ERROR(dir_, "directory");
  EXPECT_OPEN_ERROR(write({}), "truncated while reading the header");
  EXPECT_OPEN_ERROR(write({'G', 'G', 'U'}), "truncated while reading the header");
  EXPECT_OPEN_ERROR(write({'G', 'G', 'U', 'F', 3, 0, 0, 0, 0}), "truncated while reading the header");
}

TEST_F(GgufMalformed, BadMagicAndVersions) {
  EXPECT_OPEN_ERROR(patched<uint32_t>(0, 0x58554747), "not a GGUF file");  // "GGUX"
  EXPECT_OPEN_ERROR(patched<uint32_t>(0, 0x47475546), "big-endian");      // "FUGG"
  EXPECT_OPEN_ERROR(patched<uint32_t>(4, 0), "unsupported GGUF version 0");
  EXPECT_OPEN_ERROR(patched<uint32_t>(4, 1), "version 1 is not supported");
  EXPECT_OPEN_ERROR(patched<uint32_t>(4, 4), "unsupported GGUF version 4");
  EXPECT_OPEN_ERROR(patched<uint32_t>(4, 0xFFFFFFFF), "unsupported GGUF version 4294967295");
  EXPECT_OPEN_ERROR(patched<uint32_t>(4, 0x03000000), "big-endian");
  // Version 2 has the same layout as 3 (3 only added big-endian files).
  EXPECT_EQ(GgufFile::open(patched<uint32_t>(4, 2)).version(), 2u);
}

TEST_F(GgufMalformed, HugeCounts) {
  EXPECT_OPEN_ERROR(patched<uint64_t>(8, kU64Max), "tensor count 18446744073709551615 exceeds the limit");
  EXPECT_OPEN_ERROR(patched<uint64_t>(8, uint64_t{1} << 63), "exceeds the limit");
  EXPECT_OPEN_ERROR(patched<uint64_t>(8, gguf_limits::kMaxTensorCount), "truncated or corrupt");
  EXPECT_OPEN_ERROR(patched<uint64_t>(8, 1000), "truncated or corrupt");
  EXPECT_OPEN_ERROR(patched<uint64_t>(16, kU64Max), "metadata key count 18446744073709551615 exceeds");
  EXPECT_OPEN_ERROR(patched<uint64_t>(16, gguf_limits::kMaxKvCount), "truncated or corrupt");
  EXPECT_OPEN_ERROR(patched<uint64_t>(16, 1000), "truncated or corrupt");
}

TEST_F(GgufMalformed, BadStringLengths) {
  const size_t arch_length = value_of("general.architecture");
  const uint64_t remaining = base_.size() - (arch_length + 8);
  EXPECT_OPEN_ERROR(patched<uint64_t>(arch_length, uint64_t{1} << 63), "string length 9223372036854775808 exceeds");
  EXPECT_OPEN_ERROR(patched<uint64_t>(arch_length, kU64Max), "exceeds the limit");
  EXPECT_OPEN_ERROR(patched<uint64_t>(arch_length, remaining + 1), "truncated while reading key 0 ('general.architecture')");
  EXPECT_OPEN_ERROR(patched<uint64_t>(arch_length, remaining), "truncated");
  EXPECT_OPEN_ERROR(patched<uint64_t>(arch_length, gguf_limits::kMaxStringLength + 1), "exceeds the limit");

  const size_t key_length = test::find_unique(base_, "test.k1") - 8;
  EXPECT_OPEN_ERROR(patched<uint64_t>(key_length, uint64_t{1} << 63), "name length 9223372036854775808 exceeds");
  EXPECT_OPEN_ERROR(patched<uint64_t>(key_length, gguf_limits::kMaxNameLength + 1), "exceeds the limit of 65535");
  EXPECT_OPEN_ERROR(patched<uint64_t>(key_length, 0), "empty name");

  const size_t tensor_name_length = test::find_unique(base_, "tensor.b") - 8;
  EXPECT_OPEN_ERROR(patched<uint64_t>(tensor_name_length, kU64Max), "tensor info 1: name length");
  EXPECT_OPEN_ERROR(patched<uint64_t>(tensor_name_length, gguf_limits::kMaxNameLength + 1), "exceeds the limit");
  EXPECT_OPEN_ERROR(patched<uint64_t>(tensor_name_length, base_.size()), "truncated while reading tensor info 1");

  // The first string of an array: length field right after element type and count.
  const size_t first_word = value_of("test.words") + 4 + 8;
  EXPECT_EQ(test::peek<uint64_t>(base_, first_word), 1u);
  EXPECT_OPEN_ERROR(patched<uint64_t>(first_word, uint64_t{1} << 62), "string element length");
  EXPECT_OPEN_ERROR(patched<uint64_t>(first_word, base_.size()), "truncated");
}

TEST_F(GgufMalformed, BadArrays) {
  const size_t ints = value_of("test.ints");  // element type, then count
  EXPECT_EQ(test::peek<uint64_t>(base_, ints + 4), 3u);
  EXPECT_OPEN_ERROR(patched<uint64_t>(ints + 4, kU64Max), "more than the limit");
  EXPECT_OPEN_ERROR(patched<uint64_t>(ints + 4, gguf_limits::kMaxArrayCount + 1), "more than the limit");
  EXPECT_OPEN_ERROR(patched<uint64_t>(ints + 4, gguf_limits::kMaxArrayCount), "truncated while reading key");
  EXPECT_OPEN_ERROR(patched<uint64_t>(ints + 4, base_.size() / 4), "truncated while reading key");
  EXPECT_OPEN_ERROR(patched<uint32_t>(ints, 13), "key 'test.ints' has unknown array element type 13");
  EXPECT_OPEN_ERROR(patched<uint32_t>(ints, 0xFFFFFFFF), "unknown array element type");
  const size_t words = value_of("test.words");
  EXPECT_OPEN_ERROR(patched<uint64_t>(words + 4, uint64_t{1} << 40), "more than the limit");
  EXPECT_OPEN_ERROR(patched<uint64_t>(words + 4, base_.size() / 8), "truncated");
}

TEST_F(GgufMalformed, UnknownValueTypes) {
  EXPECT_OPEN_ERROR(patched<uint32_t>(type_of("test.k1"), 13), "key 'test.k1' has unknown value type 13");
  EXPECT_OPEN_ERROR(patched<uint32_t>(type_of("test.k1"), 0xFFFFFFFF), "unknown value type 4294967295");

  // A control byte in a name is escaped, so the message stays one line.
  std::vector<uint8_t> bytes = base_;
  bytes[test::find_unique(base_, "test.k1") + 4] = '\n';
  test::patch<uint32_t>(bytes, type_of("test.k1"), 13);
  const std::string message = test::open_error(write(bytes));
  EXPECT_NE(message.find("key 'test\\x0ak1' has unknown value type 13"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

// An array of arrays, `levels` deep, whose innermost array holds one INT32.
std::vector<uint8_t> nested_file(int levels, uint64_t inner_count = 1, uint32_t inner_type = 5) {
  test::ByteBuilder b;
  b.header(0, 1).str("nested").u32(9);
  for (int i = 1; i < levels; ++i) b.u32(9).u64(1);
  b.u32(inner_type).u64(inner_count).put<int32_t>(42);
  return b.bytes();
}

TEST_F(GgufMalformed, NestedArrays) {
  // Well-formed nesting within the limit is validated and skipped.
  const GgufFile deep = GgufFile::open(write(nested_file(gguf_limits::kMaxArrayNesting)));
  EXPECT_EQ(deep.find("nested")->array_type, GgufValueType::ARRAY);
  EXPECT_EQ(deep.find("nested")->array_count, 1u);
  EXPECT_OPEN_ERROR(write(nested_file(gguf_limits::kMaxArrayNesting + 1)), "nested deeper than 8");
  EXPECT_OPEN_ERROR(write(nested_file(2, kU64Max)), "more than the limit");
  EXPECT_OPEN_ERROR(write(nested_file(2, 2)), "truncated");
  EXPECT_OPEN_ERROR(write(nested_file(2, 1, 13)), "unknown array element type 13");
  EXPECT_OPEN_ERROR(write(nested_file(2, 1, 8)), "truncated");  // 42 read as a string length

  test::ByteBuilder b;  // a nested array of strings with a hostile length
  b.header(0, 1).str("nested").u32(9).u32(9).u64(1).u32(8).u64(1).u64(uint64_t{1} << 60);
  EXPECT_OPEN_ERROR(write(b.bytes()), "string element length");

  // Very many elements, each itself an array: bounded by the bytes that remain.
  test::ByteBuilder many;
  many.header(0, 1).str("nested").u32(9).u32(9).u64(gguf_limits::kMaxArrayCount);
  EXPECT_OPEN_ERROR(write(many.bytes()), "truncated");
}

TEST_F(GgufMalformed, BadTensorTypes) {
  EXPECT_OPEN_ERROR(patched<uint32_t>(type_of_tensor("tensor.b"), 99), "tensor 'tensor.b' has unknown type 99");
  EXPECT_OPEN_ERROR(patched<uint32_t>(type_of_tensor("tensor.b"), 4), "has unknown type 4");  // removed Q4_2
  EXPECT_OPEN_ERROR(patched<uint32_t>(type_of_tensor("tensor.b"), 0xFFFFFFFF), "unknown type");
}

TEST_F(GgufMalformed, BadDimensions) {
  EXPECT_OPEN_ERROR(patched<uint32_t>(n_dims_of("tensor.a"), 0), "tensor 'tensor.a' has 0 dimensions");
  EXPECT_OPEN_ERROR(patched<uint32_t>(n_dims_of("tensor.a"), 5), "has 5 dimensions");
  EXPECT_OPEN_ERROR(patched<uint32_t>(n_dims_of("tensor.a"), 0xFFFFFFFF), "dimensions");
  EXPECT_OPEN_ERROR(patched<int64_t>(ne_of("tensor.a", 1), 0), "dimension 1 = 0");
  EXPECT_OPEN_ERROR(patched<int64_t>(ne_of("tensor.a", 0), -8), "dimension 0 = -8");
  EXPECT_OPEN_ERROR(patched<int64_t>(ne_of("tensor.a", 0), std::numeric_limits<int64_t>::min()), "dimension 0");

  std::vector<uint8_t> overflow = base_;  // 2^62 * 4 elements overflows int64
  test::patch<int64_t>(overflow, ne_of("tensor.b", 0), int64_t{1} << 62);
  test::patch<int64_t>(overflow, ne_of("tensor.b", 1), 4);
  EXPECT_OPEN_ERROR(write(overflow), "overflows int64");
  std::vector<uint8_t> big_bytes = base_;  // 2^62 F32 elements fit int64, 2^64 bytes do not
  test::patch<int64_t>(big_bytes, ne_of("tensor.a", 0), int64_t{1} << 31);
  test::patch<int64_t>(big_bytes, ne_of("tensor.a", 1), int64_t{1} << 31);
  EXPECT_OPEN_ERROR(write(big_bytes), "byte size that overflows");
  std::vector<uint8_t> large = base_;  // a valid shape far larger than the file
  test::patch<int64_t>(large, ne_of("tensor.a", 0), int64_t{1} << 30);
  test::patch<int64_t>(large, ne_of("tensor.a", 1), int64_t{1} << 30);
  EXPECT_OPEN_ERROR(write(large), "extends past the end");

  EXPECT_OPEN_ERROR(patched<int64_t>(ne_of("tensor.b", 0), 33), "not a multiple of the Q8_0 block size 32");
  EXPECT_OPEN_ERROR(patched<int64_t>(ne_of("tensor.b", 0), 16), "not a multiple");
}

TEST_F(GgufMalformed, BadOffsets) {
  const size_t offset = offset_of("tensor.b");
  EXPECT_OPEN_ERROR(patched<uint64_t>(offset, 65), "tensor 'tensor.b' has offset 65, not a multiple of the alignment 32");
  EXPECT_OPEN_ERROR(patched<uint64_t>(offset, 1 << 20), "extends past the end");
  EXPECT_OPEN_ERROR(patched<uint64_t>(offset, 96), "extends past the end");  // 68 bytes from 96 > 160
  EXPECT_OPEN_ERROR(patched<uint64_t>(offset, kU64Max - 31), "extends past the end");  // no wrap-around
  EXPECT_OPEN_ERROR(patched<uint64_t>(offset, 32), "overlap");
  EXPECT_OPEN_ERROR(patched<uint64_t>(offset, 0), "overlap");
}

TEST_F(GgufMalformed, DuplicateNames) {
  std::vector<uint8_t> bytes = base_;
  bytes[test::find_unique(base_, "tensor.b") + 7] = 'a';
  EXPECT_OPEN_ERROR(write(bytes), "duplicate tensor name 'tensor.a'");
  bytes = base_;
  bytes[test::find_unique(base_, "test.k2") + 6] = '1';
  EXPECT_OPEN_ERROR(write(bytes), "duplicate key 'test.k1'");
}

TEST_F(GgufMalformed, BadAlignment) {
  const size_t u32_name = test::find_unique(base_, "general.alignmenU");
  const size_t string_name = test::find_unique(base_, "general.alignmenS");
  auto with_alignment = [&](uint32_t value) {
    std::vector<uint8_t> bytes = base_;
    bytes[u32_name + 16] = 't';
    test::patch<uint32_t>(bytes, u32_name + 17 + 4, value);
    return write(bytes);
  };
  EXPECT_EQ(GgufFile::open(with_alignment(32)).alignment(), 32u);
  EXPECT_OPEN_ERROR(with_alignment(0), "general.alignment 0 is not a power of two");
  EXPECT_OPEN_ERROR(with_alignment(3), "general.alignment 3 is not a power of two");
  EXPECT_OPEN_ERROR(with_alignment(48), "not a power of two");
  EXPECT_OPEN_ERROR(with_alignment(0x80000000u), "truncated before the data section");
  std::vector<uint8_t> as_string = base_;
  as_string[string_name + 16] = 't';
  EXPECT_OPEN_ERROR(write(as_string), "general.alignment has type STRING (must be UINT32)");
}

// Random byte changes in the header: whatever they hit, the result opens or fails cleanly. The
// changes are written into one file in place and undone after each attempt.
TEST_F(GgufMalformed, RandomHeaderCorruptionNeverCrashes) {
  const size_t header_size = GgufFile::open(dir_ + "/base.gguf").data_offset();
  const std::string path = write(base_);
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  auto put_byte = [fd](size_t pos, uint8_t value) {
    ASSERT_EQ(::pwrite(fd, &value, 1, static_cast<off_t>(pos)), 1);
  };
  std::mt19937 rng(1234);
  constexpr int kIterations = 3000;
  int opened = 0;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    std::vector<size_t> changed;
    const int n_changes = 1 + static_cast<int>(rng() % 4);
    for (int c = 0; c < n_changes; ++c) {
      const size_t pos = rng() % header_size;
      uint8_t value = base_[pos];
      switch (rng() % 4) {
        case 0: value = static_cast<uint8_t>(rng()); break;
        case 1: value = 0xFF; break;
        case 2: value = 0; break;
        default: value ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
      }
      put_byte(pos, value);
      changed.push_back(pos);
    }
    if (test::open_error(path).empty()) ++opened;
    for (size_t pos : changed) put_byte(pos, base_[pos]);
  }
  ::close(fd);
  EXPECT_LT(opened, kIterations);  // most changes must be caught; some (a value byte) are harmless
}

// A golden file cut at every offset through its tensor infos, and at a few hundred offsets in
// its data section, never opens. The file is shrunk in place, so no offset costs a copy.
TEST(GgufTruncation, GoldenFileCutAnywhereFailsCleanly) {
  SMOE_REQUIRE_SHARED();
  const std::string source = test::shared_path("golden/micro-q4_0.gguf");
  size_t data_offset = 0, data_end = 0;
  {
    const GgufFile f = GgufFile::open(source);
    data_offset = f.data_offset();
    for (const GgufTensor& t : f.tensors()) data_end = std::max(data_end, data_offset + t.offset + t.n_bytes);
  }
  const std::string path = test::temp_dir() + "/cut.gguf";
  fs::copy_file(source, path);

  std::vector<size_t> lengths;  // in decreasing order: a file can only be shrunk in place
  lengths.push_back(data_end - 1);
  constexpr size_t kDataSamples = 300;
  for (size_t i = kDataSamples; i-- > 0;) lengths.push_back(data_offset + (data_end - data_offset) * i / kDataSamples);
  for (size_t n = data_offset; n-- > 0;) lengths.push_back(n);

  size_t failures = 0;
  for (size_t length : lengths) {
    fs::resize_file(path, length);
    const std::string message = test::open_error(path);
    const bool ok = length >= data_offset ? message.find("extends past the end") != std::string::npos
                                          : message.find("truncated") != std::string::npos;
    if (!ok && ++failures <= 5)
      ADD_FAILURE() << "cut at " << length << " of " << data_end << ": '" << message << "'";
  }
  EXPECT_EQ(failures, 0u);
}

}  // namespace
}  // namespace smoe
