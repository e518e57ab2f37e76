// libFuzzer harness: affine warps (fastlive/warp.hpp): grid set-up, uint8 crops and the fused
// float32 tensor, 1 or 3 channels, padded/negative strides, both borders, both lighting modes,
// affine matrices from "structured" values (small fixed point) and raw IEEE bits (NaN, inf,
// huge, subnormal, singular). Checks, for inputs the binding accepts: no out-of-bounds access
// (ASan), no UB (UBSan: e.g. int32 overflow of the fixed-point sample positions), every ISA is
// bit-identical to scalar, tensors are finite, crops with an identity matrix reproduce the
// source, outputs are not written past their end.
#include <cmath>
#include <vector>

#include "common.hpp"
#include "fastlive/warp.hpp"

using fastlive::Isa;
namespace warp = fastlive::warp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Reader rd(data, size);
    const std::uint8_t flags = rd.u8();
    const int channels = (flags & 1) ? 3 : 1;
    const bool identity = (flags & 2) != 0;
    const warp::Border border = (flags & 4) ? warp::Border::Replicate : warp::Border::Constant;
    const bool rgb = (flags & 8) != 0;
    const warp::Lighting light =
        (flags & 16) ? warp::Lighting::Standardize : warp::Lighting::None;
    const int h = 1 + rd.u8() % 64, w = 1 + rd.u8() % 64;
    // Mostly small outputs; sometimes up to the 4096 limit along one side.
    const bool big = rd.u8() == 255;
    const int out_h = big ? 1 + rd.u16() % warp::kMaxSize : 1 + rd.u8() % 72;
    const int out_w = 1 + rd.u8() % 72;
    const int border_value = rd.u8();
    double m[6];
    if (identity) {
        const double tx = rd.u8() % 8, ty = rd.u8() % 8;  // integer shifts
        m[0] = 1; m[1] = 0; m[2] = -tx; m[3] = 0; m[4] = 1; m[5] = -ty;
    } else {
        for (double& v : m) v = rd.real(256.0);
    }
    double mean[3], sd[3];
    for (int c = 0; c < 3; ++c) {
        mean[c] = rd.real(64.0);
        sd[c] = rd.real(64.0);
    }
    // Binding checks: finite matrix (require_points), finite mean, finite std > 0.
    for (double v : m)
        if (!std::isfinite(v)) return 0;
    warp::Grid grid;
    if (!warp::make_grid(m, out_h, out_w, grid).empty()) return 0;
    fuzz::OwnedImage img = fuzz::make_image(rd, h, w, channels);

    const std::size_t n_crop = static_cast<std::size_t>(out_h) * out_w * channels;
    std::vector<std::uint8_t> ref;
    for (Isa isa : fuzz::isas()) {
        std::vector<std::uint8_t> got(n_crop + 1, 0xA5);
        warp::crop(img.view, grid, border, border_value, got.data(),
                   static_cast<std::ptrdiff_t>(out_w) * channels, isa);
        fuzz::check(got[n_crop] == 0xA5, "warp::crop wrote past its output");
        got.pop_back();
        if (ref.empty()) ref = got;
        else fuzz::check(got == ref, "warp::crop differs between ISAs");
    }
    if (identity) {  // dst(x, y) = src(x + tx, y + ty) wherever that is inside the source
        const int tx = static_cast<int>(-m[2]), ty = static_cast<int>(-m[5]);
        for (int y = 0; y < out_h && y + ty < h; ++y)
            for (int x = 0; x < out_w && x + tx < w; ++x)
                for (int c = 0; c < channels; ++c)
                    fuzz::check(ref[(static_cast<std::size_t>(y) * out_w + x) * channels + c] ==
                                    img.view.row(y + ty)[(x + tx) * channels + c],
                                "identity warp_crop does not reproduce the source");
    }

    if (channels == 3) {
        for (double v : mean)
            if (!std::isfinite(v)) return 0;
        for (double v : sd)
            if (!(std::isfinite(v) && v > 0.0)) return 0;
        const std::size_t n_t = static_cast<std::size_t>(3) * out_h * out_w;
        std::vector<float> tref;
        for (Isa isa : fuzz::isas()) {
            std::vector<float> got(n_t + 1, -7.0f);
            warp::to_tensor(img.view, grid, border, border_value, mean, sd, rgb, light, got.data(),
                            isa);
            fuzz::check(got[n_t] == -7.0f, "warp::to_tensor wrote past its output");
            got.pop_back();
            // Finite unless mean/std themselves push float32 out of range.
            bool sane_params = true;
            for (int c = 0; c < 3; ++c)
                sane_params = sane_params && std::fabs(mean[c]) < 1e6 && sd[c] > 1e-6 &&
                              sd[c] < 1e30;
            if (sane_params)
                for (float v : got) fuzz::check(std::isfinite(v), "warp::to_tensor not finite");
            if (tref.empty()) tref = got;
            else
                fuzz::check(std::memcmp(got.data(), tref.data(), n_t * sizeof(float)) == 0,
                            "warp::to_tensor differs between ISAs");
        }
    }
    return 0;
}
