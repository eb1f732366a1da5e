// Fills one output tensor of a conversion: each row is read from its source (after the RoPE
// permutation), dequantized exactly to float32 and quantized to the output type by the
// reference quantizers (byte-identical to llama.cpp's). Rows whose source already has the output
// type are copied byte for byte. Multi-threaded over chunks of rows; memory beyond the output
// buffer is one row of floats per thread.
#pragma once

#include "convert/tensor_plan.h"

#include <cstddef>
#include <cstdint>
#include <functional>

namespace smoe {

// Called from worker threads with the number of output bytes just finished (must be
// thread-safe and must not throw).
using RowsDone = std::function<void(size_t bytes)>;

// Writes exactly p.n_bytes() bytes to dst. threads <= 0: one thread.
void produce_tensor(const PlannedTensor& p, uint8_t* dst, int threads, const RowsDone& rows_done);

// Tells the kernel that the source bytes of `p` will not be read again, so converting a model
// larger than RAM does not keep its whole mapping resident.
void release_source_pages(const PlannedTensor& p);

}  // namespace smoe
