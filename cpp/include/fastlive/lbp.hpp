// Local binary patterns: LBP(8, r) codes on a square ring and per-cell histograms.
//
// Code of pixel (y, x): bit k (value 2**k) is set when neighbour k >= the centre, with the
// neighbours at (dy, dx) * r for k = 0..7 (with slack s > 0: neighbour k >= centre - s, the
// centre lowered by s and floored at 0, so a neighbour up to s levels darker still counts):
//     (-1,-1), (-1,0), (-1,+1), (0,+1), (+1,+1), (+1,0), (+1,-1), (0,-1)
// i.e. clockwise from the top-left. radius 2 uses the same 8 offsets times 2 (a square ring,
// no interpolation), so it is NOT the circular LBP(8, 2) of Ojala et al. Codes exist for the
// (H - 2r) x (W - 2r) pixels whose ring lies inside the image.
//
// Histograms: the code image is split into gy x gx cells; cell row i spans code rows
// [floor(i * Hc / gy), floor((i + 1) * Hc / gy)), the same for columns. Cells are emitted in
// row-major order, each with 256 bins ("default") or 59 bins ("uniform": the 58 codes with at
// most two circular 0/1 transitions in ascending code order, then one bin for all others).
//
// No pybind11 here: these are plain kernels; the caller validates arguments.
#pragma once
#include <cstddef>
#include <cstdint>

#include "fastlive/dispatch.hpp"
#include "fastlive/image_view.hpp"

namespace fastlive::lbp {

constexpr int kUniformBins = 59;
constexpr int kDefaultBins = 256;

// One row of codes. top/mid/bot point at source rows y, y + r, y + 2r (gray, contiguous);
// n codes are written for centres mid[r .. r + n).
using CodesRowFn = void (*)(const std::uint8_t* top, const std::uint8_t* mid,
                            const std::uint8_t* bot, int n, int radius, int slack,
                            std::uint8_t* out);

// Splits one row of w pixels with `channels` (2..4) interleaved channels into planes:
// dst[c * plane + x] = src[x * channels + c].
using DeinterleaveFn = void (*)(const std::uint8_t* src, int w, int channels, std::uint8_t* dst,
                                std::size_t plane);

namespace scalar {
void codes_row(const std::uint8_t* top, const std::uint8_t* mid, const std::uint8_t* bot, int n,
               int radius, int slack, std::uint8_t* out);
void deinterleave(const std::uint8_t* src, int w, int channels, std::uint8_t* dst,
                  std::size_t plane);
}  // namespace scalar

#if defined(FASTLIVE_HAVE_AVX2)
namespace avx2 {
void codes_row(const std::uint8_t* top, const std::uint8_t* mid, const std::uint8_t* bot, int n,
               int radius, int slack, std::uint8_t* out);
void deinterleave(const std::uint8_t* src, int w, int channels, std::uint8_t* dst,
                  std::size_t plane);
}  // namespace avx2
#endif

// The row functions for an ISA (scalar when the ISA is not compiled in).
CodesRowFn codes_row_for(Isa isa);
DeinterleaveFn deinterleave_for(Isa isa);

// Bin of each code under the "uniform" mapping (0..58).
const std::uint8_t* uniform_bin_table();

// Number of histogram values written by histogram(): cells * bins.
std::size_t histogram_size(int grid_y, int grid_x, bool uniform);

// Codes of channel `channel` of img (channels 1..4, interleaved) into out, a
// (H - 2r) x (W - 2r) image with row stride out_stride bytes. Requires H, W >= 2r + 1 and
// 0 <= slack <= 255.
void codes(const ImageView<const std::uint8_t>& img, int channel, int radius, int slack,
           std::uint8_t* out, std::ptrdiff_t out_stride, Isa isa);

// Histograms of every channel of img into out: img.channels * histogram_size() floats,
// channel-major. One pass over the image: each row is read (and de-interleaved) once, codes and
// histograms are computed per row; no code image is allocated. Requires 1 <= grid_y <= H - 2r
// and 1 <= grid_x <= W - 2r. normalize: each cell sums to 1; otherwise raw counts.
void histogram(const ImageView<const std::uint8_t>& img, int radius, int slack, int grid_y,
               int grid_x, bool uniform, bool normalize, float* out, Isa isa);

}  // namespace fastlive::lbp
