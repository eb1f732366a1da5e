// Row-wise re-encoding of one tensor, parallel over chunks of rows.
#include "convert/tensor_codec.h"

#include "core/error.h"
#include "kernels/kernels.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace smoe {
namespace {

// Rows per unit of work: enough values (~64K) that scheduling costs nothing, few enough that
// the progress bar moves smoothly on the largest tensors.
constexpr int64_t kValuesPerChunk = int64_t{1} << 16;

struct SourceView {
  const uint8_t* data;
  size_t row_bytes;
  const TypeKernels* kernels;  // nullptr when its rows are copied
};

}  // namespace

void produce_tensor(const PlannedTensor& p, uint8_t* dst, int threads, const RowsDone& rows_done) {
  const int64_t n_cols = p.ne[0];
  const int64_t n_rows = p.n_rows();
  const auto n_sources = static_cast<int64_t>(p.sources.size());
  const int64_t rows_per_source = n_rows / n_sources;
  const size_t out_row_bytes = row_bytes(p.type, n_cols);

  // Everything that can throw happens here, before the parallel region.
  std::vector<SourceView> sources;
  for (const TensorRef* t : p.sources) {
    if (t->ne[0] != n_cols || t->n_elements != rows_per_source * n_cols)
      fail("tensor '{}': source '{}' does not have {} rows of {} values", p.name, t->name, rows_per_source, n_cols);
    const bool copy = t->type == p.type;
    sources.push_back({t->data, row_bytes(t->type, n_cols), copy ? nullptr : &reference_kernels(t->type)});
  }
  const bool any_conversion =
      std::any_of(sources.begin(), sources.end(), [](const SourceView& s) { return s.kernels != nullptr; });
  const TypeKernels* out_kernels = any_conversion ? &reference_kernels(p.type) : nullptr;
  if (out_kernels && !out_kernels->quantize_row) fail("tensor '{}': no quantizer for type {}", p.name, type_name(p.type));

  const int64_t rows_per_chunk = std::max<int64_t>(1, kValuesPerChunk / std::max<int64_t>(n_cols, 1));
  const int64_t n_chunks = (n_rows + rows_per_chunk - 1) / rows_per_chunk;
  const int n_threads = static_cast<int>(std::clamp<int64_t>(threads, 1, std::max<int64_t>(n_chunks, 1)));

#pragma omp parallel num_threads(n_threads)
  {
    std::vector<float> values(static_cast<size_t>(n_cols));
#pragma omp for schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < n_chunks; ++chunk) {
      const int64_t first = chunk * rows_per_chunk, end = std::min(n_rows, first + rows_per_chunk);
      for (int64_t row = first; row < end; ++row) {
        const SourceView& s = sources[static_cast<size_t>(row / rows_per_source)];
        const int64_t src_row = source_row(row % rows_per_source, rows_per_source, p.rope_heads);
        const uint8_t* in = s.data + static_cast<size_t>(src_row) * s.row_bytes;
        uint8_t* out = dst + static_cast<size_t>(row) * out_row_bytes;
        if (!s.kernels) {
          std::memcpy(out, in, out_row_bytes);
        } else {
          s.kernels->dequantize_row(in, values.data(), n_cols);
          out_kernels->quantize_row(values.data(), out, n_cols);
        }
      }
      rows_done(static_cast<size_t>(end - first) * out_row_bytes);
    }
  }
}

void release_source_pages(const PlannedTensor& p) {
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (const TensorRef* t : p.sources) {
    // Only whole pages inside the tensor: a page shared with a neighbour may still be needed
    // (and dropping it would only cost a re-read, but there is no gain either).
    const auto begin = (reinterpret_cast<uintptr_t>(t->data) + page - 1) & ~(page - 1);
    const auto end = (reinterpret_cast<uintptr_t>(t->data) + t->n_bytes) & ~(page - 1);
    // Advice on a read-only private file mapping: the pages are dropped and, if ever touched
    // again, read back from the file. Failure only means they stay cached.
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

}  // namespace smoe
