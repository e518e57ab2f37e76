// Area downscaling, row pass with vectors: the row is widened to float once, then one 128-bit
// lane per channel (3 or 4 channels) does the scalar reference's multiply then add, tap by
// tap in the same order (bit-exact). Other channel counts use the scalar reference.
#include <immintrin.h>

#include "fastlive/area.hpp"

namespace fastlive::area::avx2 {

void row_pass(const std::uint8_t* row, std::ptrdiff_t row_bytes, int channels, const Taps& taps,
              int out_w, float* buf, float* scratch) {
    if (channels != 3 && channels != 4) {
        scalar::row_pass(row, row_bytes, channels, taps, out_w, buf, scratch);
        return;
    }
    std::ptrdiff_t i = 0;
    for (; i + 8 <= row_bytes; i += 8) {
        const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + i));
        _mm256_storeu_ps(scratch + i, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)));
    }
    for (; i < row_bytes; ++i) scratch[i] = static_cast<float>(row[i]);
    scratch[row_bytes] = 0.0f;  // the 4th lane of the last 3-channel pixel
    const int* idx = taps.index.data();
    const float* w = taps.weight.data();
    const int* start = taps.start.data();
    for (int x = 0; x < out_w; ++x) {
        __m128 acc = _mm_setzero_ps();
        for (int k = start[x]; k < start[x + 1]; ++k) {
            const __m128 p = _mm_loadu_ps(scratch + static_cast<std::ptrdiff_t>(idx[k]) * channels);
            acc = _mm_add_ps(acc, _mm_mul_ps(p, _mm_set1_ps(w[k])));
        }
        _mm_storeu_ps(buf + static_cast<std::ptrdiff_t>(x) * channels, acc);
    }
}

}  // namespace fastlive::area::avx2
