// Runtime ISA selection, decided once per process.
// Kernel families keep their own function-pointer tables and pick an entry with
// FASTLIVE_SELECT_ISA(isa, fn) for the ISA the binding passes (active_isa()).
#pragma once
#include <string>
#include <vector>

namespace fastlive {

enum class Isa { Scalar = 0, AVX2 = 1 };

// ISAs compiled into this build (always includes Scalar).
std::vector<Isa> compiled_isas();
// ISAs this CPU can run (subset of compiled_isas()).
std::vector<Isa> supported_isas();
// The ISA used by kernels: the best supported one, unless FASTLIVE_SIMD (read once, at first
// call) names another ("scalar", "avx2"). An unsupported or unknown request falls back to
// scalar and is reported by dispatch_note().
Isa active_isa();
// Override at run time (tests compare ISAs in one process). Throws std::invalid_argument when
// the ISA is not supported on this CPU/build.
void set_active_isa(Isa isa);
const char* isa_name(Isa isa);
Isa isa_from_name(const std::string& name);  // throws std::invalid_argument
std::string dispatch_note();

}  // namespace fastlive

// The one ISA selection: &avx2::fn when isa is Isa::AVX2 and AVX2 is compiled in, else
// &scalar::fn. Used inside a kernel family's namespace, whose scalar:: and avx2:: namespaces
// declare fn with the same signature (avx2:: only when FASTLIVE_HAVE_AVX2 is defined).
#if defined(FASTLIVE_HAVE_AVX2)
#define FASTLIVE_SELECT_ISA(isa, fn) \
    ((isa) == ::fastlive::Isa::AVX2 ? &avx2::fn : &scalar::fn)
#else
#define FASTLIVE_SELECT_ISA(isa, fn) (static_cast<void>(isa), &scalar::fn)
#endif
