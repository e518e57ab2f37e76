// Area downscaling (box filter over each output pixel's footprint), bit-exact with OpenCV's
// cv2.resize(..., interpolation=cv2.INTER_AREA) for uint8 images whenever OpenCV takes its
// general path (some scale factor not an integer) and neither side grows.
//
// The arithmetic is OpenCV's, in the same order, so the float results round identically:
//   scale = 1 / (out_size / in_size)   (double)
//   for output index d: the footprint [d * scale, d * scale + scale) clipped to the input; its
//   taps are (index, weight) with weight = covered fraction / footprint width, as float, in
//   increasing index order (a partial first pixel, the whole pixels, a partial last pixel;
//   fractions under 1e-3 dropped).
//   row pass:    buf[x] = (((0 + p[t0] * a0) + p[t1] * a1) + ...)             (float)
//   column pass: sum[y] = (b0 * buf_r0) + b1 * buf_r1 + ...                    (float)
//   out = saturate(round-half-even(sum))
// No fused multiply-add (these files are compiled with -ffp-contract=off): a*b+c rounds twice.
//
// No pybind11 here: the caller validates arguments.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fastlive/dispatch.hpp"
#include "fastlive/image_view.hpp"

namespace fastlive::area {

// Taps of every output index of one dimension: output d uses taps start[d] .. start[d+1]-1.
struct Taps {
    std::vector<int> start;    // size out + 1
    std::vector<int> index;    // input index of each tap
    std::vector<float> weight;
};

// in_size >= out_size >= 1.
Taps make_taps(int in_size, int out_size);

// Row pass of one input row (channels interleaved, 1..4): buf[x * channels + c] for every
// output column x. buf must hold out_w * channels + 4 floats (vector stores may write past
// the last pixel). row_bytes: the row's length in bytes (loads never read past it).
// scratch: row_bytes + 8 floats the pass may use.
using RowFn = void (*)(const std::uint8_t* row, std::ptrdiff_t row_bytes, int channels,
                       const Taps& taps, int out_w, float* buf, float* scratch);

namespace scalar {
void row_pass(const std::uint8_t* row, std::ptrdiff_t row_bytes, int channels, const Taps& taps,
              int out_w, float* buf, float* scratch);
}  // namespace scalar

#if defined(FASTLIVE_HAVE_AVX2)
namespace avx2 {
void row_pass(const std::uint8_t* row, std::ptrdiff_t row_bytes, int channels, const Taps& taps,
              int out_w, float* buf, float* scratch);
}  // namespace avx2
#endif

RowFn row_pass_for(Isa isa);

// out: out_h x out_w x src.channels, row stride out_stride bytes. Requires
// 1 <= out_h <= src.height, 1 <= out_w <= src.width.
void resize(const ImageView<const std::uint8_t>& src, int out_h, int out_w, std::uint8_t* out,
            std::ptrdiff_t out_stride, Isa isa);

}  // namespace fastlive::area
