// LBP codes, scalar reference. Every other ISA must match it bit for bit.
#include <algorithm>

#include "fastlive/lbp.hpp"

namespace fastlive::lbp::scalar {

void codes_row(const std::uint8_t* top, const std::uint8_t* mid, const std::uint8_t* bot, int n,
               int radius, int slack, std::uint8_t* out) {
    const int r = radius, r2 = 2 * radius;
    for (int i = 0; i < n; ++i) {
        const int c = std::max(mid[i + r] - slack, 0);
        unsigned code = 0;
        code |= static_cast<unsigned>(top[i] >= c) << 0;       // (-1, -1)
        code |= static_cast<unsigned>(top[i + r] >= c) << 1;   // (-1,  0)
        code |= static_cast<unsigned>(top[i + r2] >= c) << 2;  // (-1, +1)
        code |= static_cast<unsigned>(mid[i + r2] >= c) << 3;  // ( 0, +1)
        code |= static_cast<unsigned>(bot[i + r2] >= c) << 4;  // (+1, +1)
        code |= static_cast<unsigned>(bot[i + r] >= c) << 5;   // (+1,  0)
        code |= static_cast<unsigned>(bot[i] >= c) << 6;       // (+1, -1)
        code |= static_cast<unsigned>(mid[i] >= c) << 7;       // ( 0, -1)
        out[i] = static_cast<std::uint8_t>(code);
    }
}

namespace {
template <int C>
void split(const std::uint8_t* src, int w, std::uint8_t* dst, std::size_t plane) {
    for (int x = 0; x < w; ++x)
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

}  // namespace fastlive::lbp::scalar
