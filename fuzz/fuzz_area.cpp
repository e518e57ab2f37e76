// libFuzzer harness: area downscaling (fastlive/area.hpp), 1, 3 or 4 channels, padded/negative
// strides, any output size up to the input's. Checks: no out-of-bounds access (ASan), no UB
// (UBSan), every ISA bit-identical to scalar, outputs not written past their end, a flat image
// stays flat (the weights of every output pixel sum to 1 within float rounding), the tap tables
// cover each input index range in order. Its Python replay (fuzz/fuzz_api.py) also compares
// every input with cv2.resize INTER_AREA.
#include <vector>

#include "common.hpp"
#include "fastlive/area.hpp"

using fastlive::Isa;
namespace area = fastlive::area;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Reader rd(data, size);
    const std::uint8_t flags = rd.u8();
    static const int kChannels[4] = {1, 3, 4, 3};  // the binding's image channel counts
    const int channels = kChannels[flags & 3];
    const bool flat = (flags & 4) != 0;
    const int h = 1 + rd.u8() % 96, w = 1 + rd.u8() % 96;
    const int out_h = 1 + rd.u8() % h, out_w = 1 + rd.u8() % w;
    fuzz::OwnedImage img = fuzz::make_image(rd, h, w, channels);
    if (flat) {
        const std::uint8_t v = rd.u8();
        for (auto& b : img.buf) b = v;
    }
    for (const auto& [in, out] : {std::pair{w, out_w}, std::pair{h, out_h}}) {
        const area::Taps t = area::make_taps(in, out);
        fuzz::check(static_cast<int>(t.start.size()) == out + 1, "taps: start size");
        for (int d = 0; d < out; ++d) {
            fuzz::check(t.start[d] < t.start[d + 1], "taps: an output without taps");
            for (int k = t.start[d]; k < t.start[d + 1]; ++k) {
                fuzz::check(t.index[k] >= 0 && t.index[k] < in, "taps: index outside input");
                fuzz::check(k == t.start[d] || t.index[k] == t.index[k - 1] + 1,
                            "taps: indices not consecutive");
                fuzz::check(t.weight[k] > 0.0f && t.weight[k] <= 1.0f, "taps: weight range");
            }
        }
    }
    const std::size_t n = static_cast<std::size_t>(out_h) * out_w * channels;
    std::vector<std::uint8_t> ref;
    for (Isa isa : fuzz::isas()) {
        std::vector<std::uint8_t> got(n + 1, 0xA5);
        area::resize(img.view, out_h, out_w, got.data(),
                     static_cast<std::ptrdiff_t>(out_w) * channels, isa);
        fuzz::check(got[n] == 0xA5, "area::resize wrote past its output");
        got.pop_back();
        if (ref.empty()) ref = got;
        else fuzz::check(got == ref, "area::resize differs between ISAs");
    }
    if (flat)
        for (std::uint8_t v : ref) fuzz::check(v == img.buf[0], "flat image not flat after resize");
    return 0;
}
