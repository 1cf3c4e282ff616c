// CPU feature detection and kernel-table dispatch. Baseline x86-64 code: it
// runs before we know what the CPU can do.
#include <cpuid.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

#include "kernels/kernel_impl.h"

namespace ig {
namespace {

// XCR0 via xgetbv: which register states the OS saves on a context switch.
// A CPU may report AVX-512 while the OS does not enable ZMM state.
uint64_t read_xcr0() {
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned a = 0, b = 0, c = 0, d = 0;
    const unsigned max_leaf = __get_cpuid_max(0, nullptr);
    if (max_leaf < 1 || !__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = c & (1u << 27);
    const bool avx = c & (1u << 28);
    const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool ymm_state = (xcr0 & 0x6) == 0x6;    // SSE + AVX
    const bool zmm_state = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM0-15 hi, ZMM16-31
    if (!avx || !ymm_state) return f;              // no usable AVX at all
    f.fma = c & (1u << 12);
    f.f16c = c & (1u << 29);
    if (max_leaf < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned max_sub7 = a;
    f.avx2 = b & (1u << 5);
    if (!zmm_state) return f;
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
    f.avx512vnni = c & (1u << 11);
    if (max_sub7 >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512bf16 = a & (1u << 5);
    }
    return f;
}

Isa best_supported() {
    if (isa_supported(Isa::Avx512)) return Isa::Avx512;
    if (isa_supported(Isa::Avx2)) return Isa::Avx2;
    return Isa::Scalar;
}

}  // namespace

namespace kernel_detail {

std::optional<Isa> parse_isa(std::string_view name) {
    std::string_view names[] = {"scalar", "avx2", "avx512"};
    const Isa isas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512};
    for (int i = 0; i < 3; ++i) {
        if (std::ranges::equal(name, names[i], [](char x, char y) {
                return std::tolower(static_cast<unsigned char>(x)) == y;
            }))
            return isas[i];
    }
    return std::nullopt;
}

Isa resolve_isa(const char* override_value, Isa best) {
    if (!override_value || !*override_value) return best;
    const auto want = parse_isa(override_value);
    if (!want) {
        static std::atomic<bool> warned{false};
        if (!warned.exchange(true))
            spdlog::warn("IG_ISA='{}' is not scalar, avx2 or avx512; ignored", override_value);
        return best;
    }
    return std::min(*want, best);
}

}  // namespace kernel_detail

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

bool isa_supported(Isa isa) {
    const CpuFeatures& f = cpu_features();
    const bool avx2 = f.avx2 && f.fma && f.f16c;
    switch (isa) {
        case Isa::Scalar:
            return true;
        case Isa::Avx2:
            return avx2;
        case Isa::Avx512:
            // The AVX-512 kernels use F/BW/VL/DQ only (Skylake-X and later);
            // VNNI and BF16 are reported for callers but not required.
            return avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
    }
    return false;
}

// Reads IG_ISA on every call (a getenv is cheap next to any kernel) so a test
// or an operator can change it without a restart.
Isa best_isa() {
    return kernel_detail::resolve_isa(std::getenv("IG_ISA"), best_supported());
}

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar:
            return "scalar";
        case Isa::Avx2:
            return "avx2";
        case Isa::Avx512:
            return "avx512";
    }
    return "unknown";
}

const KernelTable& kernel_table() {
    return kernel_table(best_isa());
}

const KernelTable& kernel_table(Isa isa) {
    if (!isa_supported(isa)) {
        // Running these kernels would die on an illegal instruction; say why.
        std::fprintf(stderr, "infergrid: kernel_table(%s): this CPU does not support it\n",
                     std::string(isa_name(isa)).c_str());
        std::abort();
    }
    switch (isa) {
        case Isa::Avx512:
            return kernel_detail::kAvx512Kernels;
        case Isa::Avx2:
            return kernel_detail::kAvx2Kernels;
        case Isa::Scalar:
            break;
    }
    return kernel_detail::kScalarKernels;
}

}  // namespace ig
