// Area downscaling: tap tables, ISA dispatch and the column pass (see area.hpp).
#include <algorithm>
#include <cmath>
#include <vector>

#include "fastlive/area.hpp"

namespace fastlive::area {

Taps make_taps(int in_size, int out_size) {
    Taps t;
    const double scale = 1.0 / (static_cast<double>(out_size) / in_size);
    t.start.reserve(static_cast<std::size_t>(out_size) + 1);
    for (int d = 0; d < out_size; ++d) {
        t.start.push_back(static_cast<int>(t.index.size()));
        const double f1 = d * scale;
        const double f2 = f1 + scale;
        const double cell = std::min(scale, in_size - f1);
        int s1 = static_cast<int>(std::ceil(f1));
        int s2 = static_cast<int>(std::floor(f2));
        s2 = std::min(s2, in_size - 1);
        s1 = std::min(s1, s2);
        if (s1 - f1 > 1e-3) {
            t.index.push_back(s1 - 1);
            t.weight.push_back(static_cast<float>((s1 - f1) / cell));
        }
        for (int s = s1; s < s2; ++s) {
            t.index.push_back(s);
            t.weight.push_back(static_cast<float>(1.0 / cell));
        }
        if (f2 - s2 > 1e-3) {
            t.index.push_back(s2);
            t.weight.push_back(static_cast<float>(std::min(std::min(f2 - s2, 1.0), cell) / cell));
        }
    }
    t.start.push_back(static_cast<int>(t.index.size()));
    return t;
}

RowFn row_pass_for(Isa isa) { return FASTLIVE_SELECT_ISA(isa, row_pass); }

void resize(const ImageView<const std::uint8_t>& src, int out_h, int out_w, std::uint8_t* out,
            std::ptrdiff_t out_stride, Isa isa) {
    const int cn = src.channels;
    const Taps xt = make_taps(src.width, out_w);
    const Taps yt = make_taps(src.height, out_h);
    const RowFn row_pass = row_pass_for(isa);
    const std::size_t n = static_cast<std::size_t>(out_w) * cn;
    const std::ptrdiff_t row_bytes = static_cast<std::ptrdiff_t>(src.width) * cn;
    std::vector<float> buf(n + 4), sum(n), scratch(static_cast<std::size_t>(row_bytes) + 8);
    int have_row = -1;  // input row whose row pass is in buf
    for (int y = 0; y < out_h; ++y) {
        for (int k = yt.start[y]; k < yt.start[y + 1]; ++k) {
            const int sy = yt.index[k];
            if (sy != have_row) {
                row_pass(src.row(sy), row_bytes, cn, xt, out_w, buf.data(), scratch.data());
                have_row = sy;
            }
            const float b = yt.weight[k];
            if (k == yt.start[y]) {
                for (std::size_t i = 0; i < n; ++i) sum[i] = b * buf[i];
            } else {
                for (std::size_t i = 0; i < n; ++i) sum[i] = sum[i] + b * buf[i];
            }
        }
        std::uint8_t* o = out + static_cast<std::ptrdiff_t>(y) * out_stride;
        for (std::size_t i = 0; i < n; ++i) {
            const long v = std::lrint(sum[i]);  // round half to even, as cvRound
            o[i] = static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
    }
}

}  // namespace fastlive::area
