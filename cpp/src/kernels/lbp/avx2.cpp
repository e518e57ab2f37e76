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

// slack: the centres lowered by it, saturating at 0 (as scalar's max(c - slack, 0)).
inline void block32(const std::uint8_t* top, const std::uint8_t* mid, const std::uint8_t* bot,
                    int i, int r, __m256i slack, std::uint8_t* out) {
    const int r2 = 2 * r;
    const __m256i c = _mm256_subs_epu8(load(mid + i + r), slack);
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
                 int i0, int n, int r, int slack, std::uint8_t* out) {
    const int r2 = 2 * r;
    for (int i = i0; i < n; ++i) {
        const int c = mid[i + r] > slack ? mid[i + r] - slack : 0;
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

// pshufb masks: output plane c takes, from input vector k (bytes 16k..16k+15 of a 16*C-byte
// group of 16 pixels), the bytes C*p + c - 16k that fall inside it (0x80 = zero).
template <int C>
struct SplitMasks {
    alignas(32) std::uint8_t m[C][C][32];
    SplitMasks() {
        for (int c = 0; c < C; ++c)
            for (int k = 0; k < C; ++k)
                for (int p = 0; p < 32; ++p) {
                    const int b = C * (p & 15) + c - 16 * k;
                    m[c][k][p] = (b >= 0 && b < 16) ? static_cast<std::uint8_t>(b) : 0x80;
                }
    }
};

// 32 pixels per iteration: lane 0 holds pixels 0..15, lane 1 pixels 16..31.
template <int C>
void split(const std::uint8_t* src, int w, std::uint8_t* dst, std::size_t plane) {
    static const SplitMasks<C> masks;
    __m256i mk[C][C];
    for (int c = 0; c < C; ++c)
        for (int k = 0; k < C; ++k)
            mk[c][k] = _mm256_load_si256(reinterpret_cast<const __m256i*>(masks.m[c][k]));
    int x = 0;
    for (; x + 32 <= w; x += 32) {
        const std::uint8_t* s = src + static_cast<std::ptrdiff_t>(x) * C;
        __m256i v[C];
        for (int k = 0; k < C; ++k)
            v[k] = _mm256_inserti128_si256(
                _mm256_castsi128_si256(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16 * k))),
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16 * C + 16 * k)), 1);
        for (int c = 0; c < C; ++c) {
            __m256i o = _mm256_shuffle_epi8(v[0], mk[c][0]);
            for (int k = 1; k < C; ++k) o = _mm256_or_si256(o, _mm256_shuffle_epi8(v[k], mk[c][k]));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c * plane + x), o);
        }
    }
    for (; x < w; ++x)
        for (int c = 0; c < C; ++c)
            dst[c * plane + x] = src[static_cast<std::ptrdiff_t>(x) * C + c];
}

}  // namespace

void deinterleave(const std::uint8_t* src, int w, int channels, std::uint8_t* dst,
                  std::size_t plane) {
    switch (channels) {
        case 2: split<2>(src, w, dst, plane); break;
        case 3: split<3>(src, w, dst, plane); break;
        default: split<4>(src, w, dst, plane); break;
    }
}

void codes_row(const std::uint8_t* top, const std::uint8_t* mid, const std::uint8_t* bot, int n,
               int radius, int slack, std::uint8_t* out) {
    if (n < 32) {
        tail_scalar(top, mid, bot, 0, n, radius, slack, out);
        return;
    }
    const __m256i s = _mm256_set1_epi8(static_cast<char>(slack));
    int i = 0;
    for (; i + 32 <= n; i += 32) block32(top, mid, bot, i, radius, s, out);
    // Tail: redo the last 32 centres (overlapping writes of identical values; reads stay
    // inside the rows since every read index is < n + 2r).
    if (i < n) block32(top, mid, bot, n - 32, radius, s, out);
}

}  // namespace fastlive::lbp::avx2
