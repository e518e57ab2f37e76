// Area downscaling, row pass: the scalar reference (see area.hpp).
#include "fastlive/area.hpp"

namespace fastlive::area::scalar {
namespace {

template <int CN>
void taps_pass(const float* px, const Taps& taps, int out_w, float* buf) {
    const int* idx = taps.index.data();
    const float* w = taps.weight.data();
    const int* start = taps.start.data();
    for (int x = 0; x < out_w; ++x) {
        float acc[CN];
        for (int c = 0; c < CN; ++c) acc[c] = 0.0f;
        for (int k = start[x]; k < start[x + 1]; ++k) {
            const float* p = px + static_cast<std::ptrdiff_t>(idx[k]) * CN;
            const float wk = w[k];
            for (int c = 0; c < CN; ++c) acc[c] = acc[c] + p[c] * wk;
        }
        for (int c = 0; c < CN; ++c) buf[x * CN + c] = acc[c];
    }
}

}  // namespace

void row_pass(const std::uint8_t* row, std::ptrdiff_t row_bytes, int channels, const Taps& taps,
              int out_w, float* buf, float* scratch) {
    for (std::ptrdiff_t i = 0; i < row_bytes; ++i) scratch[i] = static_cast<float>(row[i]);
    switch (channels) {
        case 1: taps_pass<1>(scratch, taps, out_w, buf); break;
        case 2: taps_pass<2>(scratch, taps, out_w, buf); break;
        case 3: taps_pass<3>(scratch, taps, out_w, buf); break;
        default: taps_pass<4>(scratch, taps, out_w, buf); break;
    }
}

}  // namespace fastlive::area::scalar
