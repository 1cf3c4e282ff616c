#pragma once
// Internal to src/kernels (and its tests): the per-ISA tables and the few
// plain helpers they share.
//
// The ISA files are compiled with -mavx2 / -mavx512*. Any function they define
// with inline or external linkage that baseline code also uses (a header
// inline, a template instance) could be the copy the linker keeps, and would
// then crash on an older CPU. So the ISA files keep everything in an anonymous
// namespace, use no header-defined helpers, and share only the functions
// declared here, which are defined in baseline files.
#include <cstdint>
#include <optional>
#include <string_view>

#include "kernels/kernels.h"

namespace ig::kernel_detail {

extern const KernelTable kScalarKernels;
extern const KernelTable kAvx2Kernels;
extern const KernelTable kAvx512Kernels;

// "scalar", "avx2" or "avx512" (any case); nullopt for anything else.
std::optional<Isa> parse_isa(std::string_view name);

// The ISA to run given the value of IG_ISA (null when unset) and the best one
// the CPU supports: the override can only lower it; unknown values are ignored.
Isa resolve_isa(const char* override_value, Isa best_supported);

// Rope angles for frequencies [i0, i0 + count): theta = (double)pos * inv_freq[i],
// cos/sin in double, rounded to float. Shared so that every ISA rotates by
// exactly the same numbers.
void rope_cos_sin(int32_t pos, const float* inv_freq, int64_t i0, int64_t count, float* cos_out,
                  float* sin_out);

// Frequencies per rope cos/sin table; tables live on the stack.
inline constexpr int64_t kRopeChunk = 128;

// float(1 / sqrt(sum_sq / n + eps)), in double; shared by every rmsnorm.
float rms_scale(double sum_sq, int64_t n, float eps);

// A kernel got a type it does not implement: a caller bug. Prints and aborts.
[[noreturn]] void unsupported_dtype(const char* op, DType t);

}  // namespace ig::kernel_detail
