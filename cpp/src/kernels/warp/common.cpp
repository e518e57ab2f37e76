// Affine warps: grid set-up, ISA dispatch, crop/tensor drivers (ISA independent).
#include <algorithm>
#include <cmath>
#include <vector>

#include "fastlive/warp.hpp"

namespace fastlive::warp {

std::string make_grid(const double m[6], int out_h, int out_w, Grid& grid) {
    const double det = m[0] * m[4] - m[1] * m[3];
    const double scale = std::max({std::fabs(m[0]), std::fabs(m[1]), std::fabs(m[3]),
                                   std::fabs(m[4])});
    if (!(std::fabs(det) > 1e-10 * scale * scale) || !std::isfinite(1.0 / det))
        return "the 2x2 part is singular (determinant " + std::to_string(det) +
               "); pass an invertible source->destination matrix";
    // Same operations as cv2.invertAffineTransform, so sample positions match cv2.warpAffine.
    double* i = grid.inv;
    const double r = 1.0 / det;
    i[0] = m[4] * r;
    i[1] = -m[1] * r;
    i[3] = -m[3] * r;
    i[4] = m[0] * r;
    i[2] = -i[0] * m[2] - i[1] * m[5];
    i[5] = -i[3] * m[2] - i[4] * m[5];
    const double xs[2] = {0.0, static_cast<double>(out_w - 1)};
    const double ys[2] = {0.0, static_cast<double>(out_h - 1)};
    for (double x : xs)
        for (double y : ys) {
            const double sx = i[0] * x + i[1] * y + i[2], sy = i[3] * x + i[4] * y + i[5];
            if (!(std::fabs(sx) <= kMaxCoord && std::fabs(sy) <= kMaxCoord))
                return "maps output pixel (" + std::to_string(static_cast<int>(x)) + ", " +
                       std::to_string(static_cast<int>(y)) + ") to source (" +
                       std::to_string(sx) + ", " + std::to_string(sy) +
                       "), beyond +-1e6 pixels; check that it maps source to destination "
                       "coordinates (the cv2.warpAffine convention) and is not near-singular";
        }
    grid.out_h = out_h;
    grid.out_w = out_w;
    return {};
}

SampleRowFn sample_row_for(Isa isa) { return FASTLIVE_SELECT_ISA(isa, sample_row); }

namespace {

struct Tables {
    std::vector<std::int32_t> ax, ay;
    explicit Tables(const Grid& g) : ax(g.out_w), ay(g.out_w) {
        for (int x = 0; x < g.out_w; ++x) {
            ax[x] = static_cast<std::int32_t>(std::lrint(g.inv[0] * x * 1024.0));
            ay[x] = static_cast<std::int32_t>(std::lrint(g.inv[3] * x * 1024.0));
        }
    }
    static std::int32_t x0(const Grid& g, int y) {
        return static_cast<std::int32_t>(std::lrint((g.inv[1] * y + g.inv[2]) * 1024.0)) + 16;
    }
    static std::int32_t y0(const Grid& g, int y) {
        return static_cast<std::int32_t>(std::lrint((g.inv[4] * y + g.inv[5]) * 1024.0)) + 16;
    }
};

}  // namespace

void crop(const ImageView<const std::uint8_t>& src, const Grid& grid, Border border,
          int border_value, std::uint8_t* out, std::ptrdiff_t out_stride, Isa isa) {
    const int n = grid.out_w, ch = src.channels;
    const Tables t(grid);
    std::vector<std::int32_t> sums(static_cast<std::size_t>(n) * ch);
    const SampleRowFn fn = sample_row_for(isa);
    for (int y = 0; y < grid.out_h; ++y) {
        fn(src, t.ax.data(), t.ay.data(), Tables::x0(grid, y), Tables::y0(grid, y), n, border,
           border_value, sums.data());
        std::uint8_t* o = out + static_cast<std::ptrdiff_t>(y) * out_stride;
        for (int c = 0; c < ch; ++c) {
            const std::int32_t* s = sums.data() + static_cast<std::size_t>(c) * n;
            for (int x = 0; x < n; ++x)
                o[x * ch + c] = static_cast<std::uint8_t>((s[x] + 512) >> 10);
        }
    }
}

void to_tensor(const ImageView<const std::uint8_t>& src, const Grid& grid, Border border,
               int border_value, const double mean[3], const double std[3], bool rgb,
               Lighting lighting, float* out, Isa isa) {
    const int n = grid.out_w, h = grid.out_h;
    const std::size_t plane = static_cast<std::size_t>(n) * h;
    const Tables t(grid);
    std::vector<std::int32_t> sums(static_cast<std::size_t>(n) * 3);
    const SampleRowFn fn = sample_row_for(isa);
    // Output plane oc reads source channel sc[oc] (source is BGR).
    const int sc[3] = {rgb ? 2 : 0, 1, rgb ? 0 : 2};
    float a[3], b[3];
    const bool standardize = lighting == Lighting::Standardize;
    for (int oc = 0; oc < 3; ++oc) {
        a[oc] = standardize ? 1.0f : static_cast<float>(1.0 / (1024.0 * std[oc]));
        b[oc] = standardize ? 0.0f : static_cast<float>(-mean[oc] / std[oc]);
    }
    std::int64_t lum_sum = 0;  // sum of 299 R + 587 G + 114 B over S values (exact)
    for (int y = 0; y < h; ++y) {
        fn(src, t.ax.data(), t.ay.data(), Tables::x0(grid, y), Tables::y0(grid, y), n, border,
           border_value, sums.data());
        for (int oc = 0; oc < 3; ++oc) {
            const std::int32_t* s = sums.data() + static_cast<std::size_t>(sc[oc]) * n;
            float* o = out + oc * plane + static_cast<std::size_t>(y) * n;
            const float ac = a[oc], bc = b[oc];
            for (int x = 0; x < n; ++x) o[x] = static_cast<float>(s[x]) * ac + bc;
        }
        if (standardize) {
            const std::int32_t *sb = sums.data(), *sg = sb + n, *sr = sg + n;
            std::int64_t row = 0;
            for (int x = 0; x < n; ++x)
                row += 114 * static_cast<std::int64_t>(sb[x]) +
                       587 * static_cast<std::int64_t>(sg[x]) +
                       299 * static_cast<std::int64_t>(sr[x]);
            lum_sum += row;
        }
    }
    if (!standardize) return;
    // Exact mean, then a second pass over the (cache-resident) planes for the variance.
    const double count = static_cast<double>(plane);
    const double mean_q = static_cast<double>(lum_sum) / count;  // in (1000 * 1024) units
    const float* pr = out + (rgb ? 0 : 2) * plane;
    const float* pg = out + plane;
    const float* pb = out + (rgb ? 2 : 0) * plane;
    double ss = 0.0;
    for (std::size_t i = 0; i < plane; ++i) {
        const double yq = 299.0 * pr[i] + 587.0 * pg[i] + 114.0 * pb[i] - mean_q;
        ss += yq * yq;
    }
    const double q = 1000.0 * 1024.0;
    const double mu = mean_q / q;
    const double sd = std::sqrt(ss / count) / q;
    const double d = std::max(sd, 1.0);
    for (int oc = 0; oc < 3; ++oc) {
        const float ac = static_cast<float>(1.0 / (1024.0 * d * std[oc]));
        const float bc = static_cast<float>((-mu / d - mean[oc]) / std[oc]);
        float* o = out + oc * plane;
        for (std::size_t i = 0; i < plane; ++i) o[i] = o[i] * ac + bc;
    }
}

}  // namespace fastlive::warp
