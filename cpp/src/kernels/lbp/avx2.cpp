// LBP codes, AVX2: 32 centres per iteration. Unsigned a >= c is max_epu8(a, c) == a.
// Compiled with -mavx2 -mfma; everything here stays in this namespace (no inline functions
// shared with other ISA files: ODR trap).
#include <immintrin.h>

#include "fastlive/lbp.hpp"

namespace fastlive::lbp::avx2 {
namespace {

inline __m256i load(const std::uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// 0xFF where a >= c (unsigned), else 0, masked to `bit`.
inline __m256i ge_bit(__m256i a, __m256i c, __m256i bit) {
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_max_epu8(a, c), a), bit);
}

inline void block32(const std::uint8_t* top, const std::uint8_t* mid, const std::uint8_t* bot,
                    int i, int r, std::uint8_t* out) {
    const int r2 = 2 * r;
    const __m256i c = load(mid + i + r);
    __m256i code = ge_bit(load(top + i), c, _mm256_set1_epi8(1));
    code = _mm256_or_si256(code, ge_bit(load(top + i + r), c, _mm256_set1_epi8(2)));
    code = _mm256_or_si256(code, ge_bit(load(top + i + r2), c, _mm256_set1_epi8(4)));
    code = _mm256_or_si256(code, ge_bit(load(mid + i + r2), c, _mm256_set1_epi8(8)));
    code = _mm256_or_si256(code, ge_bit(load(bot + i + r2), c, _mm256_set1_epi8(16)));
    code = _mm256_or_si256(code, ge_bit(load(bot + i + r), c, _mm256_set1_epi8(32)));
    code = _mm256_or_si256(code, ge_bit(load(bot + i), c, _mm256_set1_epi8(64)));
    code = _mm256_or_si256(code, ge_bit(load(mid + i), c, _mm256_set1_epi8(char(-128))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), code);
}

void tail_scalar(const std::uint8_t* top, const std::uint8_t* mid, const std::uint8_t* bot,
                 int i0, int n, int r, std::uint8_t* out) {
    const int r2 = 2 * r;
    for (int i = i0; i < n; ++i) {
        const int c = mid[i + r];
        unsigned code = static_cast<unsigned>(top[i] >= c) |
                        static_cast<unsigned>(top[i + r] >= c) << 1 |
                        static_cast<unsigned>(top[i + r2] >= c) << 2 |
                        static_cast<unsigned>(mid[i + r2] >= c) << 3 |
                        static_cast<unsigned>(bot[i + r2] >= c) << 4 |
                        static_cast<unsigned>(bot[i + r] >= c) << 5 |
                        static_cast<unsigned>(bot[i] >= c) << 6 |
                        static_cast<unsigned>(mid[i] >= c) << 7;
        out[i] = static_cast<std::uint8_t>(code);
    }
}

}  // namespace

void codes_row(const std::uint8_t* top, const std::uint8_t* mid, const std::uint8_t* bot, int n,
               int radius, std::uint8_t* out) {
    if (n < 32) {
        tail_scalar(top, mid, bot, 0, n, radius, out);
        return;
    }
    int i = 0;
    for (; i + 32 <= n; i += 32) block32(top, mid, bot, i, radius, out);
    // Tail: redo the last 32 centres (overlapping writes of identical values; reads stay
    // inside the rows since every read index is < n + 2r).
    if (i < n) block32(top, mid, bot, n - 32, radius, out);
}

}  // namespace fastlive::lbp::avx2
