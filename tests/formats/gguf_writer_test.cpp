// GgufWriter round trips: every metadata type and several tensor types written, reopened with
// GgufFile and compared exactly; the producer path; alignment; replacement; write failures.
#include "formats/gguf_writer.h"
#include "formats/tensor_geometry.h"
#include "gguf_test_support.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

namespace fs = std::filesystem;

namespace smoe {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

TEST(GgufWriter, RoundTripsEveryMetadataType) {
  const std::string path = test::temp_dir() + "/meta.gguf";
  GgufWriter w;
  w.set_u8("t.u8", 200);
  w.set_i8("t.i8", -100);
  w.set_u16("t.u16", 60000);
  w.set_i16("t.i16", -30000);
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_u64("t.u64", uint64_t{1} << 40);
  w.set_u64("t.u64_max", std::numeric_limits<uint64_t>::max());
  w.set_i64("t.i64", std::numeric_limits<int64_t>::min());
  w.set_f32("t.f32", 1.5e-5f);
  w.set_f64("t.f64", 1e300);
  w.set_bool("t.true", true);
  w.set_bool("t.false", false);
  w.set_string("t.string", "héllo\nworld");
  w.set_string("t.empty", "");
  const std::vector<std::string> strings = {"<s>", "", "▁the", std::string("a\0b", 3)};
  w.set_string_array("t.strings", strings);
  const std::vector<float> floats = {0.f, -1.25f, 3e38f, std::numeric_limits<float>::denorm_min()};
  w.set_f32_array("t.f32s", floats);
  const std::vector<int32_t> i32s = {-1, 0, 2147483647};
  w.set_i32_array("t.i32s", i32s);
  const std::vector<uint32_t> u32s = {0, 4294967295u};
  w.set_u32_array("t.u32s", u32s);
  w.set_u32_array("t.empty_array", {});
  const int16_t i16s[] = {-5, 5};
  w.set_array("t.i16s", GgufValueType::INT16, i16s, 2);
  const double f64s[] = {0.1, -2.5};
  w.set_array("t.f64s", GgufValueType::FLOAT64, f64s, 2);
  const uint64_t u64s[] = {1, std::numeric_limits<uint64_t>::max()};
  w.set_array("t.u64s", GgufValueType::UINT64, u64s, 2);
  const uint8_t bools[] = {1, 0, 1};
  w.set_array("t.bools", GgufValueType::BOOL, bools, 3);
  w.write(path);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.metadata().size(), w.key_count());

  EXPECT_EQ(f.find("t.u8")->type, GgufValueType::UINT8);
  EXPECT_EQ(f.get_int("t.u8"), 200);
  EXPECT_EQ(f.find("t.i8")->type, GgufValueType::INT8);
  EXPECT_EQ(f.get_int("t.i8"), -100);
  EXPECT_EQ(f.find("t.u16")->type, GgufValueType::UINT16);
  EXPECT_EQ(f.get_int("t.u16"), 60000);
  EXPECT_EQ(f.find("t.i16")->type, GgufValueType::INT16);
  EXPECT_EQ(f.get_int("t.i16"), -30000);
  EXPECT_EQ(f.find("t.u32")->type, GgufValueType::UINT32);
  EXPECT_EQ(f.get_int("t.u32"), 4000000000LL);
  EXPECT_EQ(f.find("t.i32")->type, GgufValueType::INT32);
  EXPECT_EQ(f.get_int("t.i32"), -2000000000);
  EXPECT_EQ(f.find("t.u64")->type, GgufValueType::UINT64);
  EXPECT_EQ(f.get_int("t.u64"), int64_t{1} << 40);
  EXPECT_EQ(f.find("t.i64")->type, GgufValueType::INT64);
  EXPECT_EQ(f.get_int("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.find("t.f32")->type, GgufValueType::FLOAT32);
  EXPECT_EQ(f.get_float("t.f32"), double{1.5e-5f});
  EXPECT_EQ(f.find("t.f64")->type, GgufValueType::FLOAT64);
  EXPECT_EQ(f.get_float("t.f64"), 1e300);
  EXPECT_EQ(f.get_bool("t.true"), true);
  EXPECT_EQ(f.get_bool("t.false"), false);
  EXPECT_EQ(f.get_string("t.string"), "héllo\nworld");
  EXPECT_EQ(f.get_string("t.empty"), "");
  EXPECT_EQ(f.get_string_array("t.strings"), strings);
  EXPECT_EQ(f.get_float_array("t.f32s"), floats);
  EXPECT_EQ(f.get_int_array("t.i32s"), (std::vector<int64_t>{-1, 0, 2147483647}));
  EXPECT_EQ(f.get_int_array("t.u32s"), (std::vector<int64_t>{0, 4294967295LL}));
  EXPECT_EQ(f.get_int_array("t.empty_array"), std::vector<int64_t>{});
  EXPECT_EQ(f.find("t.empty_array")->array_type, GgufValueType::UINT32);
  EXPECT_EQ(f.get_int_array("t.i16s"), (std::vector<int64_t>{-5, 5}));
  EXPECT_EQ(f.get_float_array("t.f64s"), (std::vector<float>{0.1f, -2.5f}));
  EXPECT_EQ(f.find("t.bools")->array_count, 3u);
  EXPECT_EQ(std::memcmp(f.find("t.bools")->array_data, bools, 3), 0);

  // Integers fit get_float; a UINT64 above INT64_MAX is kept but does not fit get_int.
  EXPECT_EQ(f.get_float("t.u32"), 4e9);
  EXPECT_EQ(f.get_float("t.u64_max"), 18446744073709551615.0);
  EXPECT_THROW(f.get_int("t.u64_max"), Error);
  EXPECT_THROW(f.get_int_array("t.u64s"), Error);
  // Absent keys are nullopt; present keys of the wrong type are errors naming key and types.
  EXPECT_EQ(f.get_int("t.absent"), std::nullopt);
  EXPECT_EQ(f.get_string_array("t.absent"), std::nullopt);
  try {
    f.get_int("t.string");
    ADD_FAILURE() << "get_int of a string should throw";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'t.string'"), std::string::npos) << message;
    EXPECT_NE(message.find("STRING"), std::string::npos) << message;
  }
  EXPECT_THROW(f.get_float("t.string"), Error);
  EXPECT_THROW(f.get_bool("t.u8"), Error);
  EXPECT_THROW(f.get_string("t.u8"), Error);
  EXPECT_THROW(f.get_string_array("t.f32s"), Error);
  EXPECT_THROW(f.get_float_array("t.i32s"), Error);
  EXPECT_THROW(f.get_int_array("t.strings"), Error);
  EXPECT_THROW(f.get_int_array("t.u8"), Error);
}

TEST(GgufWriter, KeysKeepOrderAndReplaceInPlace) {
  const std::string path = test::temp_dir() + "/order.gguf";
  GgufWriter w;
  w.set_string("z.first", "a");
  w.set_u32("a.second", 1);
  w.set_string("m.third", "c");
  w.set_f32("a.second", 2.5f);  // replaced, type changes, position kept
  w.set_bool("gone", true);
  EXPECT_TRUE(w.has("gone"));
  w.remove("gone");
  EXPECT_FALSE(w.has("gone"));
  w.write(path);
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.key_order(), (std::vector<std::string>{"z.first", "a.second", "m.third"}));
  EXPECT_EQ(f.find("a.second")->type, GgufValueType::FLOAT32);
  EXPECT_EQ(f.get_float("a.second"), 2.5);
}

TEST(GgufWriter, RoundTripsTensorsOfSeveralTypes) {
  struct Spec {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
  };
  const std::vector<Spec> specs = {
      {"f32.vector", GgmlType::F32, {7}},
      {"f16.matrix", GgmlType::F16, {5, 3}},
      {"bf16.matrix", GgmlType::BF16, {4, 2}},
      {"q8_0.matrix", GgmlType::Q8_0, {64, 3}},
      {"q4_0.cube", GgmlType::Q4_0, {32, 2, 2}},
      {"q4_k.experts", GgmlType::Q4_K, {256, 2, 3}},
      {"q6_k.matrix", GgmlType::Q6_K, {512, 1}},
      {"q2_k.4d", GgmlType::Q2_K, {256, 1, 2, 2}},
  };
  std::vector<std::vector<uint8_t>> payloads;
  GgufWriter w;
  w.set_string("general.architecture", "test");
  for (size_t i = 0; i < specs.size(); ++i) {
    TensorGeometry expected;
    std::string problem;
    ASSERT_TRUE(compute_tensor_geometry(specs[i].type, specs[i].ne, expected, problem)) << problem;
    payloads.push_back(random_bytes(expected.n_bytes, static_cast<uint32_t>(i)));
    EXPECT_EQ(w.add_tensor(specs[i].name, specs[i].type, specs[i].ne, payloads.back().data()),
              expected.n_bytes);
  }
  const std::string path = test::temp_dir() + "/tensors.gguf";
  w.write(path);

  const GgufFile f = GgufFile::open(path);
  ASSERT_EQ(f.tensors().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const GgufTensor& t = f.tensors()[i];
    SCOPED_TRACE(specs[i].name);
    EXPECT_EQ(t.name, specs[i].name);
    EXPECT_EQ(t.type, specs[i].type);
    EXPECT_EQ(t.ne, specs[i].ne);
    EXPECT_EQ(t.n_bytes, payloads[i].size());
    EXPECT_EQ(t.offset % 32, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 32, 0u);
    EXPECT_EQ(std::memcmp(t.data, payloads[i].data(), t.n_bytes), 0);
    EXPECT_EQ(f.find_tensor(specs[i].name), &t);
  }
  EXPECT_EQ(f.find_tensor("absent"), nullptr);
  EXPECT_EQ(f.tensors()[5].n_elements, 256 * 2 * 3);
  EXPECT_EQ(f.tensors()[5].dim(2), 3);
  EXPECT_EQ(f.tensors()[5].dim(3), 1);
  // Each tensor is padded to the alignment, as llama.cpp lays files out.
  EXPECT_EQ(f.file_size(), f.data_offset() + f.tensors().back().offset +
                               (f.tensors().back().n_bytes + 31) / 32 * 32);
}

TEST(GgufWriter, ProducersRunOnceInOrderWithCustomAlignment) {
  GgufWriter w;
  w.set_u32("general.alignment", 64);
  std::vector<std::string> calls;
  auto producer = [&calls](std::string name, uint8_t fill) {
    return [&calls, name, fill](uint8_t* dst, size_t n) {
      calls.push_back(name);
      for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(fill + i);
    };
  };
  const std::vector<uint8_t> middle = random_bytes(3 * 4, 9);
  w.add_tensor("first", GgmlType::F32, {5}, producer("first", 1));
  w.add_tensor("middle", GgmlType::F32, {3}, middle.data());
  w.add_tensor("last", GgmlType::Q8_0, {32, 2}, producer("last", 100));
  const std::string path = test::temp_dir() + "/produced.gguf";
  w.write(path);
  EXPECT_EQ(calls, (std::vector<std::string>{"first", "last"}));

  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.tensors().size(), 3u);
  for (const GgufTensor& t : f.tensors()) EXPECT_EQ(t.offset % 64, 0u) << t.name;
  const GgufTensor* first = f.find_tensor("first");
  for (size_t i = 0; i < first->n_bytes; ++i) EXPECT_EQ(first->data[i], static_cast<uint8_t>(1 + i));
  EXPECT_EQ(std::memcmp(f.find_tensor("middle")->data, middle.data(), middle.size()), 0);
  const GgufTensor* last = f.find_tensor("last");
  ASSERT_EQ(last->n_bytes, 68u);
  for (size_t i = 0; i < last->n_bytes; ++i) EXPECT_EQ(last->data[i], static_cast<uint8_t>(100 + i));
  // Padding is zeros: the bytes between "first" (20 bytes) and "middle" (offset 64).
  for (size_t i = first->n_bytes; i < 64; ++i) EXPECT_EQ(first->data[i], 0) << i;
}

TEST(GgufWriter, CopiesValuesReadFromAFile) {
  // A nested array can only come from a file; build one by hand, then copy every value through.
  test::ByteBuilder b;
  b.header(0, 3);
  b.str("nested").u32(9).u32(9).u64(2);
  b.u32(5).u64(2).put<int32_t>(-7).put<int32_t>(8);
  b.u32(8).u64(1).str("x");
  b.str("big").u32(10).u64(std::numeric_limits<uint64_t>::max());
  b.str("f32").u32(6).put<float>(0.1f);
  const std::string dir = test::temp_dir();
  test::write_bytes(dir + "/source.gguf", b.bytes());
  const GgufFile source = GgufFile::open(dir + "/source.gguf");
  const GgufValue* nested = source.find("nested");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->array_type, GgufValueType::ARRAY);
  EXPECT_EQ(nested->array_count, 2u);
  EXPECT_THROW(source.get_int_array("nested"), Error);

  GgufWriter w;
  for (const std::string& key : source.key_order()) w.set_value(key, *source.find(key));
  w.write(dir + "/copy.gguf");
  const GgufFile copy = GgufFile::open(dir + "/copy.gguf");
  EXPECT_EQ(copy.key_order(), source.key_order());
  const GgufValue* copied = copy.find("nested");
  ASSERT_EQ(copied->array_encoded_bytes, nested->array_encoded_bytes);
  EXPECT_EQ(std::memcmp(copied->array_encoded, nested->array_encoded, nested->array_encoded_bytes), 0);
  EXPECT_EQ(copy.find("big")->integer, -1);  // the exact bits of UINT64 max
  EXPECT_EQ(copy.find("f32")->real, double{0.1f});
}

TEST(GgufWriter, RejectsInvalidInput) {
  GgufWriter w;
  const float data[64] = {};
  w.add_tensor("a", GgmlType::F32, {4}, data);
  EXPECT_THROW(w.add_tensor("a", GgmlType::F32, {4}, data), Error);       // duplicate name
  EXPECT_THROW(w.add_tensor("", GgmlType::F32, {4}, data), Error);        // empty name
  EXPECT_THROW(w.add_tensor("b", GgmlType::F32, {}, data), Error);        // no dimensions
  EXPECT_THROW(w.add_tensor("b", GgmlType::F32, {1, 1, 1, 1, 1}, data), Error);
  EXPECT_THROW(w.add_tensor("b", GgmlType::F32, {4, 0}, data), Error);
  EXPECT_THROW(w.add_tensor("b", GgmlType::F32, {-4}, data), Error);
  EXPECT_THROW(w.add_tensor("b", GgmlType::Q8_0, {16}, data), Error);     // partial block
  EXPECT_THROW(w.add_tensor("b", GgmlType::F32, {int64_t{1} << 40, int64_t{1} << 40}, data), Error);
  EXPECT_THROW(w.add_tensor("b", GgmlType::F32, {4}, static_cast<const void*>(nullptr)), Error);
  EXPECT_THROW(w.add_tensor("b", GgmlType::F32, {4}, GgufWriter::TensorProducer{}), Error);
  w.add_tensor("b", GgmlType::F32, {4}, data);  // the failed attempts did not reserve the name
  EXPECT_EQ(w.tensor_count(), 2u);

  EXPECT_THROW(w.set_u32("", 1), Error);
  EXPECT_THROW(w.set_u32(std::string(70000, 'k'), 1), Error);
  EXPECT_THROW(w.set_u32("general.alignment", 0), Error);
  EXPECT_THROW(w.set_u32("general.alignment", 48), Error);
  EXPECT_THROW(w.set_u64("general.alignment", 32), Error);
  EXPECT_THROW(w.set_string("general.alignment", "32"), Error);
  EXPECT_THROW(w.set_array("k", GgufValueType::STRING, data, 1), Error);
  EXPECT_THROW(w.set_array("k", GgufValueType::UINT8, data, (uint64_t{1} << 28) + 1), Error);
}

TEST(GgufWriter, WriteFailuresLeaveNoFileBehind) {
  const std::string dir = test::temp_dir();
  GgufWriter w;
  w.set_string("general.architecture", "test");
  const float data[4] = {1, 2, 3, 4};
  w.add_tensor("a", GgmlType::F32, {4}, data);

  EXPECT_THROW(w.write(dir + "/no/such/dir/x.gguf"), Error);

  // Disk full: the temporary file is a link to /dev/full, whose writes fail with ENOSPC.
  if (fs::exists("/dev/full")) {
    const std::string path = dir + "/full.gguf";
    fs::create_symlink("/dev/full", path + ".tmp");
    try {
      w.write(path);
      ADD_FAILURE() << "writing to /dev/full should fail";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::is_symlink(path + ".tmp"));
  }

  // A producer that throws: the error propagates and neither file remains.
  GgufWriter failing;
  failing.add_tensor("a", GgmlType::F32, {4}, [](uint8_t*, size_t) { throw Error("producer failed"); });
  const std::string path = dir + "/failing.gguf";
  EXPECT_THROW(failing.write(path), Error);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  // An existing file is replaced only by a complete new one.
  w.write(path);
  EXPECT_THROW(failing.write(path), Error);
  EXPECT_EQ(GgufFile::open(path).tensors().size(), 1u);
}

}  // namespace
}  // namespace smoe
