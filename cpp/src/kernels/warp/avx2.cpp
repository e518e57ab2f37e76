// Affine bilinear sampling, AVX2: 8 output pixels per step with dword gathers and
// _mm256_madd_epi16 on (left, right) tap pairs. Blocks with any tap outside the frame (and the
// row tail) use the same per-pixel arithmetic as scalar.cpp, so results match it bit for bit.
#include <immintrin.h>

#include <cstdlib>

#include "fastlive/warp.hpp"

namespace fastlive::warp::avx2 {

namespace {

inline int tap(const ImageView<const std::uint8_t>& src, int x, int y, int c, Border border,
               int border_value) {
    if (x < 0 || y < 0 || x >= src.width || y >= src.height) {
        if (border == Border::Constant) return border_value;
        x = x < 0 ? 0 : (x >= src.width ? src.width - 1 : x);
        y = y < 0 ? 0 : (y >= src.height ? src.height - 1 : y);
    }
    return src.row(y)[x * src.channels + c];
}

template <int CH>
inline void one(const ImageView<const std::uint8_t>& src, std::int32_t X, std::int32_t Y, int x,
                int n, Border border, int border_value, std::int32_t* sums) {
    const int xi = X >> 5, yi = Y >> 5, fx = X & 31, fy = Y & 31;
    const int w00 = (32 - fx) * (32 - fy), w01 = fx * (32 - fy);
    const int w10 = (32 - fx) * fy, w11 = fx * fy;
    for (int c = 0; c < CH; ++c)
        sums[c * n + x] = tap(src, xi, yi, c, border, border_value) * w00 +
                          tap(src, xi + 1, yi, c, border, border_value) * w01 +
                          tap(src, xi, yi + 1, c, border, border_value) * w10 +
                          tap(src, xi + 1, yi + 1, c, border, border_value) * w11;
}

// Pair (byte a of d0) | (byte b of d1) << 16 in every dword (lane-local shuffles).
inline __m256i pair(__m256i d0, __m256i d1, int a, int b) {
    const char z = static_cast<char>(0x80);
    const char A = static_cast<char>(a), B = static_cast<char>(b);
    const __m256i m0 = _mm256_setr_epi8(A, z, z, z, A + 4, z, z, z, A + 8, z, z, z, A + 12, z, z,
                                        z, A, z, z, z, A + 4, z, z, z, A + 8, z, z, z, A + 12, z,
                                        z, z);
    const __m256i m1 = _mm256_setr_epi8(z, z, B, z, z, z, B + 4, z, z, z, B + 8, z, z, z, B + 12,
                                        z, z, z, B, z, z, z, B + 4, z, z, z, B + 8, z, z, z,
                                        B + 12, z);
    return _mm256_or_si256(_mm256_shuffle_epi8(d0, m0), _mm256_shuffle_epi8(d1, m1));
}

template <int CH>
void sample_row_t(const ImageView<const std::uint8_t>& src, const std::int32_t* ax,
                  const std::int32_t* ay, std::int32_t x0, std::int32_t y0, int n, Border border,
                  int border_value, std::int32_t* sums) {
    // Vector path only when every in-frame byte offset fits in int32 (gather offsets).
    const long long span =
        std::llabs(static_cast<long long>(src.stride)) * src.height + 3LL * src.width;
    int x = 0;
    if (span < (1LL << 31) && src.width >= 4 && src.height >= 2) {
        // Taps (xi, yi) .. (xi + 1, yi + 1) all inside and, for gray, the dword at xi inside
        // the row: 0 <= xi < xlim, 0 <= yi < H - 1.
        const int xlim = CH == 3 ? src.width - 1 : src.width - 3;
        const __m256i vxlim = _mm256_set1_epi32(xlim), vylim = _mm256_set1_epi32(src.height - 1);
        const __m256i vx0 = _mm256_set1_epi32(x0), vy0 = _mm256_set1_epi32(y0);
        const __m256i m31 = _mm256_set1_epi32(31), v32 = _mm256_set1_epi32(32);
        const __m256i vneg = _mm256_set1_epi32(-1);
        const __m256i vstride = _mm256_set1_epi32(static_cast<int>(src.stride));
        const __m256i vch = _mm256_set1_epi32(CH);
        const int* base = reinterpret_cast<const int*>(src.data);
        for (; x + 8 <= n; x += 8) {
            const __m256i dx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ax + x));
            const __m256i dy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ay + x));
            const __m256i X = _mm256_srai_epi32(_mm256_add_epi32(vx0, dx), 5);
            const __m256i Y = _mm256_srai_epi32(_mm256_add_epi32(vy0, dy), 5);
            const __m256i xi = _mm256_srai_epi32(X, 5), yi = _mm256_srai_epi32(Y, 5);
            const __m256i in = _mm256_and_si256(
                _mm256_and_si256(_mm256_cmpgt_epi32(xi, vneg), _mm256_cmpgt_epi32(vxlim, xi)),
                _mm256_and_si256(_mm256_cmpgt_epi32(yi, vneg), _mm256_cmpgt_epi32(vylim, yi)));
            if (_mm256_movemask_epi8(in) != -1) {
                alignas(32) std::int32_t xs[8], ys[8];
                _mm256_store_si256(reinterpret_cast<__m256i*>(xs), X);
                _mm256_store_si256(reinterpret_cast<__m256i*>(ys), Y);
                for (int k = 0; k < 8; ++k)
                    one<CH>(src, xs[k], ys[k], x + k, n, border, border_value, sums);
                continue;
            }
            const __m256i fx = _mm256_and_si256(X, m31), fy = _mm256_and_si256(Y, m31);
            const __m256i gx = _mm256_sub_epi32(v32, fx), gy = _mm256_sub_epi32(v32, fy);
            // (w00 | w01 << 16) for the top row, (w10 | w11 << 16) for the bottom row.
            const __m256i wt = _mm256_or_si256(_mm256_mullo_epi32(gx, gy),
                                               _mm256_slli_epi32(_mm256_mullo_epi32(fx, gy), 16));
            const __m256i wb = _mm256_or_si256(_mm256_mullo_epi32(gx, fy),
                                               _mm256_slli_epi32(_mm256_mullo_epi32(fx, fy), 16));
            const __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(yi, vstride),
                                                 _mm256_mullo_epi32(xi, vch));
            if (CH == 3) {
                // dword at p: B G R B'; dword at p + 2: R B' G' R' (never past pixel xi + 1).
                const __m256i off2 = _mm256_add_epi32(off, _mm256_set1_epi32(2));
                const __m256i t0 = _mm256_i32gather_epi32(base, off, 1);
                const __m256i t1 = _mm256_i32gather_epi32(base, off2, 1);
                const __m256i b0 = _mm256_i32gather_epi32(base, _mm256_add_epi32(off, vstride), 1);
                const __m256i b1 = _mm256_i32gather_epi32(base, _mm256_add_epi32(off2, vstride), 1);
                for (int c = 0; c < 3; ++c) {
                    const __m256i s = _mm256_add_epi32(
                        _mm256_madd_epi16(pair(t0, t1, c, c + 1), wt),
                        _mm256_madd_epi16(pair(b0, b1, c, c + 1), wb));
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + c * n + x), s);
                }
            } else {
                const __m256i t0 = _mm256_i32gather_epi32(base, off, 1);
                const __m256i b0 = _mm256_i32gather_epi32(base, _mm256_add_epi32(off, vstride), 1);
                const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(pair(t0, t0, 0, 1), wt),
                                                   _mm256_madd_epi16(pair(b0, b0, 0, 1), wb));
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + x), s);
            }
        }
    }
    for (; x < n; ++x)
        one<CH>(src, (x0 + ax[x]) >> 5, (y0 + ay[x]) >> 5, x, n, border, border_value, sums);
}

}  // namespace

void sample_row(const ImageView<const std::uint8_t>& src, const std::int32_t* ax,
                const std::int32_t* ay, std::int32_t x0, std::int32_t y0, int n, Border border,
                int border_value, std::int32_t* sums) {
    if (src.channels == 3)
        sample_row_t<3>(src, ax, ay, x0, y0, n, border, border_value, sums);
    else
        sample_row_t<1>(src, ax, ay, x0, y0, n, border, border_value, sums);
}

}  // namespace fastlive::warp::avx2
