// Affine warps: aligned uint8 crops and the fused "crop + normalize + NCHW" CNN input tensor.
//
// Sample positions (shared by every entry point, so crop and tensor agree exactly):
// the caller's 2x3 matrix M maps source pixel coordinates to destination coordinates (the
// cv2.warpAffine convention, pixel centres at integer coordinates). It is inverted once; the
// source position of destination pixel (x, y) is computed in fixed point exactly as OpenCV's
// classic INTER_LINEAR path does:
//     X = (round((i01*y + i02) * 1024) + 16 + round(i00*x*1024)) >> 5      (1/32 pixel units)
//     Y = (round((i11*y + i12) * 1024) + 16 + round(i10*x*1024)) >> 5
//     xi = X >> 5, fx = X & 31 (and the same for y)
// and the bilinear weights are the integers (32-fx)(32-fy), fx(32-fy), (32-fx)fy, fx*fy
// (sum 1024). A sample is therefore an exact integer S = sum(w * p) in 0..1024*255:
//     warp_crop   -> (S + 512) >> 10                 (round half up)
//     to_tensor   -> S / 1024 as float, then normalized
// Taps outside the frame take border_value ("constant") or the nearest edge pixel
// ("replicate"), tap by tap, like cv2.BORDER_CONSTANT / cv2.BORDER_REPLICATE.
//
// No pybind11 here: the caller validates arguments (see check_affine()).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "fastlive/dispatch.hpp"
#include "fastlive/image_view.hpp"

namespace fastlive::warp {

enum class Border { Constant = 0, Replicate = 1 };
enum class Lighting { None = 0, Standardize = 1 };

constexpr int kMaxSize = 4096;          // largest output side
constexpr double kMaxCoord = 1000000.0;  // |source coordinate| bound (keeps fixed point in int32)

// Fixed-point sample grid of one output: per-column increments and per-row origins.
struct Grid {
    int out_h = 0, out_w = 0;
    double inv[6] = {0, 0, 0, 0, 0, 0};  // destination -> source
};

// Inverts M (src -> dst) into inv (dst -> src). Returns an empty string on success, otherwise
// the reason (singular, or mapping the output outside +-kMaxCoord source pixels).
std::string make_grid(const double m[6], int out_h, int out_w, Grid& grid);

// Weighted sums S (see above) of one output row: n samples for row y, channel-planar into
// sums[c * n + x] for c < channels (1 or 3; source channel order). ax/ay: per-column fixed-point
// increments round(i00*x*1024), round(i10*x*1024); x0/y0: the row origins (with +16).
using SampleRowFn = void (*)(const ImageView<const std::uint8_t>& src, const std::int32_t* ax,
                             const std::int32_t* ay, std::int32_t x0, std::int32_t y0, int n,
                             Border border, int border_value, std::int32_t* sums);

namespace scalar {
void sample_row(const ImageView<const std::uint8_t>& src, const std::int32_t* ax,
                const std::int32_t* ay, std::int32_t x0, std::int32_t y0, int n, Border border,
                int border_value, std::int32_t* sums);
}  // namespace scalar

#if defined(FASTLIVE_HAVE_AVX2)
namespace avx2 {
void sample_row(const ImageView<const std::uint8_t>& src, const std::int32_t* ax,
                const std::int32_t* ay, std::int32_t x0, std::int32_t y0, int n, Border border,
                int border_value, std::int32_t* sums);
}  // namespace avx2
#endif

SampleRowFn sample_row_for(Isa isa);

// uint8 crop: out is out_h x out_w x src.channels (1 or 3), row stride out_stride bytes.
void crop(const ImageView<const std::uint8_t>& src, const Grid& grid, Border border,
          int border_value, std::uint8_t* out, std::ptrdiff_t out_stride, Isa isa);

// float32 tensor: out is 3 x out_h x out_w (C-contiguous planes, in output channel order).
// src has 3 channels (BGR). rgb: output plane 0 is R. mean/std in output channel order, in
// 0..255 units. Lighting::Standardize: before mean/std, p' = (p - mu) / max(sd, 1) with mu and
// sd the mean and standard deviation over the crop of Y = 0.299 R + 0.587 G + 0.114 B.
void to_tensor(const ImageView<const std::uint8_t>& src, const Grid& grid, Border border,
               int border_value, const double mean[3], const double std[3], bool rgb,
               Lighting lighting, float* out, Isa isa);

}  // namespace fastlive::warp
