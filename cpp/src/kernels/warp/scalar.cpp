// Affine bilinear sampling, scalar reference. Every other ISA must match it bit for bit.
#include "fastlive/warp.hpp"

namespace fastlive::warp::scalar {

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
void sample_row_t(const ImageView<const std::uint8_t>& src, const std::int32_t* ax,
                  const std::int32_t* ay, std::int32_t x0, std::int32_t y0, int n, Border border,
                  int border_value, std::int32_t* sums) {
    const unsigned wlim = static_cast<unsigned>(src.width - 1);
    const unsigned hlim = static_cast<unsigned>(src.height - 1);
    const std::ptrdiff_t stride = src.stride;
    for (int x = 0; x < n; ++x) {
        const std::int32_t X = (x0 + ax[x]) >> 5, Y = (y0 + ay[x]) >> 5;
        const int xi = X >> 5, yi = Y >> 5, fx = X & 31, fy = Y & 31;
        const int w00 = (32 - fx) * (32 - fy), w01 = fx * (32 - fy);
        const int w10 = (32 - fx) * fy, w11 = fx * fy;
        if (static_cast<unsigned>(xi) < wlim && static_cast<unsigned>(yi) < hlim) {
            const std::uint8_t* p = src.row(yi) + xi * CH;
            const std::uint8_t* q = p + stride;
            for (int c = 0; c < CH; ++c)
                sums[c * n + x] = p[c] * w00 + p[c + CH] * w01 + q[c] * w10 + q[c + CH] * w11;
        } else {
            for (int c = 0; c < CH; ++c)
                sums[c * n + x] = tap(src, xi, yi, c, border, border_value) * w00 +
                                  tap(src, xi + 1, yi, c, border, border_value) * w01 +
                                  tap(src, xi, yi + 1, c, border, border_value) * w10 +
                                  tap(src, xi + 1, yi + 1, c, border, border_value) * w11;
        }
    }
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

}  // namespace fastlive::warp::scalar
