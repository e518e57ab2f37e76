// Specular per-pixel classification, AVX2: 32 BGR pixels per step, deinterleaved with
// lane-local byte shuffles (each 128-bit lane handles 16 pixels). Matches scalar.cpp exactly.
#include <immintrin.h>

#include "fastlive/specular.hpp"

namespace fastlive::specular::avx2 {

namespace {

// Shuffle masks: channel k of 16 pixels from the three 16-byte chunks that hold them.
struct Masks {
    __m256i m[3][3];  // [channel][chunk]
    Masks() {
        for (int k = 0; k < 3; ++k)
            for (int c = 0; c < 3; ++c) {
                alignas(32) char b[32];
                for (int i = 0; i < 16; ++i) {
                    const int src = 3 * i + k - 16 * c;
                    b[i] = b[i + 16] = (src >= 0 && src < 16) ? static_cast<char>(src)
                                                                : static_cast<char>(0x80);
                }
                m[k][c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
            }
    }
};

const Masks& masks() {
    static const Masks m;
    return m;
}

inline __m256i load2(const std::uint8_t* lo, const std::uint8_t* hi) {
    return _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi)), 1);
}

// a <= b for unsigned 16-bit lanes, as 0xFFFF / 0.
inline __m256i le_epu16(__m256i a, __m256i b) {
    return _mm256_cmpeq_epi16(_mm256_max_epu16(a, b), b);
}

}  // namespace

RowResult classify_row(const std::uint8_t* bgr, const std::uint8_t* mask, int n, int v_min,
                       int s_max, std::uint8_t* vm, std::uint8_t* cand) {
    const Masks& M = masks();
    const __m256i vmin = _mm256_set1_epi8(static_cast<char>(v_min));
    const __m256i k255 = _mm256_set1_epi16(255), ks = _mm256_set1_epi16(static_cast<short>(s_max));
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi8(1);
    __m256i vmax = zero, ncand = zero;  // ncand: per-byte counts, flushed with sad every 255
    long long n_cand = 0;
    int x = 0, since_flush = 0;
    for (; x + 32 <= n; x += 32) {
        const std::uint8_t* p = bgr + 3 * x;
        // Pixels 0..15 in the low lanes, 16..31 in the high lanes.
        const __m256i c0 = load2(p, p + 48), c1 = load2(p + 16, p + 64),
                      c2 = load2(p + 32, p + 80);
        __m256i ch[3];
        for (int k = 0; k < 3; ++k)
            ch[k] = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(c0, M.m[k][0]),
                                                    _mm256_shuffle_epi8(c1, M.m[k][1])),
                                    _mm256_shuffle_epi8(c2, M.m[k][2]));
        const __m256i hi = _mm256_max_epu8(ch[0], _mm256_max_epu8(ch[1], ch[2]));
        const __m256i lo = _mm256_min_epu8(ch[0], _mm256_min_epu8(ch[1], ch[2]));
        // Saturation: 255 * (hi - lo) <= s_max * hi, in 16-bit lanes.
        const __m256i d = _mm256_sub_epi8(hi, lo);
        const __m256i sat_lo = le_epu16(_mm256_mullo_epi16(_mm256_unpacklo_epi8(d, zero), k255),
                                        _mm256_mullo_epi16(_mm256_unpacklo_epi8(hi, zero), ks));
        const __m256i sat_hi = le_epu16(_mm256_mullo_epi16(_mm256_unpackhi_epi8(d, zero), k255),
                                        _mm256_mullo_epi16(_mm256_unpackhi_epi8(hi, zero), ks));
        const __m256i sat = _mm256_packs_epi16(sat_lo, sat_hi);  // 0xFF / 0, original order
        __m256i ok = _mm256_and_si256(sat, _mm256_cmpeq_epi8(_mm256_max_epu8(hi, vmin), hi));
        __m256i v = hi;
        if (mask) {
            const __m256i in = _mm256_xor_si256(
                _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask + x)),
                                  zero),
                _mm256_set1_epi8(-1));
            v = _mm256_and_si256(v, in);
            ok = _mm256_and_si256(ok, in);
        }
        const __m256i c = _mm256_and_si256(ok, one);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(vm + x), v);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(cand + x), c);
        vmax = _mm256_max_epu8(vmax, v);
        ncand = _mm256_add_epi8(ncand, c);
        if (++since_flush == 255) {
            const __m256i s = _mm256_sad_epu8(ncand, zero);
            n_cand += _mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) +
                      _mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3);
            ncand = zero;
            since_flush = 0;
        }
    }
    const __m256i s = _mm256_sad_epu8(ncand, zero);
    n_cand += _mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) +
              _mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3);
    alignas(32) std::uint8_t mx[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(mx), vmax);
    int max_v = 0;
    for (int i = 0; i < 32; ++i) max_v = mx[i] > max_v ? mx[i] : max_v;
    for (; x < n; ++x) {
        const int b = bgr[3 * x], g = bgr[3 * x + 1], r = bgr[3 * x + 2];
        const int h = b > g ? (b > r ? b : r) : (g > r ? g : r);
        const int l = b < g ? (b < r ? b : r) : (g < r ? g : r);
        const bool in = mask == nullptr || mask[x] != 0;
        const int vv = in ? h : 0;
        const bool cc = in && h >= v_min && 255 * (h - l) <= s_max * h;
        vm[x] = static_cast<std::uint8_t>(vv);
        cand[x] = cc ? 1 : 0;
        max_v = vv > max_v ? vv : max_v;
        n_cand += cc;
    }
    return {max_v, static_cast<int>(n_cand)};
}

}  // namespace fastlive::specular::avx2
