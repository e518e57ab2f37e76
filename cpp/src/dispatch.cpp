#include "fastlive/dispatch.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace fastlive {
namespace {

bool cpu_has_avx2() {
#if defined(FASTLIVE_HAVE_AVX2) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

std::atomic<int> g_active{-1};
std::string g_note;
std::once_flag g_once;

void init_once() {
    std::call_once(g_once, [] {
        auto sup = supported_isas();
        Isa best = sup.back();
        const char* env = std::getenv("FASTLIVE_SIMD");
        if (env && *env) {
            std::string req(env);
            std::transform(req.begin(), req.end(), req.begin(), ::tolower);
            try {
                Isa want = isa_from_name(req);
                if (std::find(sup.begin(), sup.end(), want) != sup.end()) {
                    best = want;
                    g_note = std::string("FASTLIVE_SIMD=") + env + " honoured";
                } else {
                    best = Isa::Scalar;
                    g_note = std::string("FASTLIVE_SIMD=") + env +
                             " is not supported here; using scalar";
                }
            } catch (const std::invalid_argument&) {
                best = Isa::Scalar;
                g_note = std::string("FASTLIVE_SIMD=") + env +
                         " is unknown (use 'scalar' or 'avx2'); using scalar";
            }
        }
        int expected = -1;
        g_active.compare_exchange_strong(expected, static_cast<int>(best));
    });
}

}  // namespace

std::vector<Isa> compiled_isas() {
    std::vector<Isa> v{Isa::Scalar};
#if defined(FASTLIVE_HAVE_AVX2)
    v.push_back(Isa::AVX2);
#endif
    return v;
}

std::vector<Isa> supported_isas() {
    std::vector<Isa> v{Isa::Scalar};
    static const bool avx2 = cpu_has_avx2();
    if (avx2) v.push_back(Isa::AVX2);
    return v;
}

Isa active_isa() {
    int a = g_active.load(std::memory_order_relaxed);
    if (a < 0) {
        init_once();
        a = g_active.load(std::memory_order_relaxed);
    }
    return static_cast<Isa>(a);
}

void set_active_isa(Isa isa) {
    init_once();
    auto sup = supported_isas();
    if (std::find(sup.begin(), sup.end(), isa) == sup.end())
        throw std::invalid_argument(std::string("isa: '") + isa_name(isa) +
                                    "' is not supported on this CPU/build; see simd_info()");
    g_active.store(static_cast<int>(isa));
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::AVX2: return "avx2";
    }
    return "unknown";
}

Isa isa_from_name(const std::string& name) {
    if (name == "scalar") return Isa::Scalar;
    if (name == "avx2") return Isa::AVX2;
    throw std::invalid_argument("isa: unknown name '" + name + "'; expected 'scalar' or 'avx2'");
}

std::string dispatch_note() {
    init_once();
    return g_note;
}

}  // namespace fastlive
