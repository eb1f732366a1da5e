#include "kernels/kernel_levels.h"
namespace smoe::kernel_impl {
// Placeholder until the AVX2 vector layer lands: the scalar kernels.
const LevelOps& avx2_ops() { return scalar_ops(); }
}
