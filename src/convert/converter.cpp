// convert_model: checks the paths, loads the source, plans the tensors, picks their types,
// writes metadata and streams the tensors through the GGUF writer.
#include "convert/convert.h"

#include "convert/metadata.h"
#include "convert/progress.h"
#include "convert/tensor_codec.h"
#include "convert/tensor_plan.h"
#include "convert/type_policy.h"
#include "core/cpu.h"
#include "core/error.h"
#include "formats/gguf_writer.h"
#include "model/model.h"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace smoe {
namespace {

namespace fs = std::filesystem;

QuantMix mix_from_name(const std::string& name) {
  if (auto mix = parse_quant_mix(name)) return *mix;
  std::string names;
  for (std::string_view n : quant_mix_names()) names += (names.empty() ? "" : ", ") + std::string(n);
  fail("unknown --type '{}' (one of {})", name, names);
}

void check_source(const std::string& source) {
  std::error_code ec;
  const fs::file_status status = fs::status(source, ec);
  if (!fs::exists(status)) fail("cannot open '{}': no such file or directory", source);
  if (fs::is_directory(status)) {
    if (!HfCheckpoint::looks_like_checkpoint(source))
      fail("'{}' is a directory without config.json, not a Hugging Face checkpoint", source);
    return;
  }
  char magic[4] = {};
  std::ifstream f(source, std::ios::binary);
  if (!f) fail("cannot open '{}': {}", source, std::strerror(errno));
  f.read(magic, sizeof magic);
  if (!fs::is_regular_file(status) || f.gcount() != 4 || std::memcmp(magic, "GGUF", 4) != 0)
    fail("'{}' is neither a GGUF file nor a Hugging Face checkpoint directory", source);
}

// Fails early, before any work, when the output cannot be written.
void check_output(const std::string& source, const std::string& output) {
  if (output.empty()) fail("no output file given (-o OUT.gguf)");
  std::error_code ec;
  if (fs::is_directory(output, ec)) fail("output '{}' is a directory; give a file name", output);
  if (fs::exists(output, ec) && fs::equivalent(source, output, ec))
    fail("output '{}' is the source itself; write to another file", output);
  fs::path dir = fs::path(output).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) fail("cannot write '{}': directory '{}' does not exist", output, dir.string());
  if (::access(dir.c_str(), W_OK) != 0) fail("cannot write '{}': {}", output, std::strerror(errno));
}

// Without --type: the float type the source's matrices are stored in, so nothing is lost.
QuantMix source_precision(const Model& model) {
  const TensorRef* embedding = model.tensors().find(model.hf() ? "model.embed_tokens.weight" : "token_embd.weight");
  GgmlType type = embedding ? embedding->type : GgmlType::F32;
  for (const TensorRef* t : model.tensors().all())
    if (t->ne.size() >= 2 && t->type != GgmlType::F32 && t->type != GgmlType::F16 && t->type != GgmlType::BF16)
      fail("'{}' holds quantized weights ({} in '{}'); choose the output with --type", model.path(),
           type_name(t->type), t->name);
  return *parse_quant_mix(type_name(type));
}

ModelFacts model_facts(const Model& model) {
  const ModelConfig& c = model.config();
  return {c.n_layer, c.n_expert, c.n_head / c.n_kv_head, !model.weights().tied_output};
}

bool progress_enabled(ConvertOptions::Progress p) {
  if (p == ConvertOptions::Progress::Auto) return ::isatty(STDERR_FILENO) == 1;
  return p == ConvertOptions::Progress::Always;
}

}  // namespace

ConvertReport convert_model(const ConvertOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<QuantMix> mix;
  if (!options.type.empty()) mix = mix_from_name(options.type);
  check_source(options.source);
  check_output(options.source, options.output);

  const std::unique_ptr<Model> model = Model::load(options.source);
  if (!mix) mix = source_precision(*model);
  std::vector<PlannedTensor> plan = plan_tensors(*model);
  const ModelFacts facts = model_facts(*model);
  for (PlannedTensor& p : plan)
    if (!p.copy_verbatim) p.type = choose_tensor_type(*mix, p.facts, facts);

  GgufWriter writer;
  if (model->hf())
    write_hf_metadata(writer, *model, *mix);
  else
    write_gguf_metadata(writer, *model->gguf(), *mix);

  ConvertReport report;
  report.type = std::string(mix->name);
  report.source_format = model->format();
  report.source_bytes = model->file_bytes();
  report.n_tensors = plan.size();
  uint64_t total_bytes = 0;
  for (const PlannedTensor& p : plan) total_bytes += p.n_bytes(), ++report.tensors_by_type[std::string(type_name(p.type))];

  const int threads = options.threads > 0 ? options.threads : physical_core_count();
  ConvertProgress progress(progress_enabled(options.progress), plan.size(), total_bytes);
  for (const PlannedTensor& p : plan) {
    writer.add_tensor(p.name, p.type, p.ne, [&p, &progress, threads](uint8_t* dst, size_t) {
      progress.start_tensor(p.name);
      produce_tensor(p, dst, threads, [&progress](size_t bytes) { progress.add_bytes(bytes); });
      release_source_pages(p);
      progress.finish_tensor();
    });
  }
  try {
    writer.write(options.output);
  } catch (...) {
    progress.finish();
    throw;
  }
  progress.finish();

  std::error_code ec;
  report.output_bytes = fs::file_size(options.output, ec);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string summarize(const ConvertOptions& options, const ConvertReport& r) {
  std::string types;
  for (const auto& [type, count] : r.tensors_by_type) types += fmt::format("{}{} {}", types.empty() ? "" : ", ", count, type);
  return fmt::format("converted '{}' ({}, {}) to '{}' ({}: {} tensors [{}], {}) in {:.2f} s", options.source,
                     r.source_format, format_bytes(r.source_bytes), options.output, r.type, r.n_tensors, types,
                     format_bytes(r.output_bytes), r.seconds);
}

}  // namespace smoe
