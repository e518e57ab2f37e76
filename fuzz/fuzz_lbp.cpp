// libFuzzer harness: LBP codes and per-cell histograms (fastlive/lbp.hpp).
//
// Random sizes (widths across the 32-pixel AVX2 blocks), channels 1..4, radius 1..2, slack
// (a quarter of the inputs 0..255, the rest 0), padded and
// negative row strides, grids, both mappings. Checks, for every input the Python binding would
// accept: each ISA is bit-identical to scalar, scalar codes equal an independent per-pixel
// oracle, and histograms equal the oracle's counts (so cells sum to 1 or to the cell area).
#include <vector>

#include "common.hpp"
#include "fastlive/lbp.hpp"

using fastlive::Isa;
namespace lbp = fastlive::lbp;

namespace {

std::uint8_t oracle_code(const fastlive::ImageView<const std::uint8_t>& img, int ch, int r,
                         int slack, int y, int x) {
    static const int dy[8] = {-1, -1, -1, 0, 1, 1, 1, 0};
    static const int dx[8] = {-1, 0, 1, 1, 1, 0, -1, -1};
    auto px = [&](int yy, int xx) { return img.row(yy)[xx * img.channels + ch]; };
    const int c = px(y + r, x + r) - slack;  // may go below 0: every neighbour then counts
    unsigned code = 0;
    for (int k = 0; k < 8; ++k)
        code |= static_cast<unsigned>(px(y + r + dy[k] * r, x + r + dx[k] * r) >= c) << k;
    return static_cast<std::uint8_t>(code);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Reader rd(data, size);
    const int channels = 1 + rd.u8() % 4;
    const int r = 1 + rd.u8() % 2;
    const int slack = rd.u8() % 4 == 0 ? rd.u8() : 0;  // plain LBP three times in four
    const int h = 1 + rd.u8() % 80;
    const int w = 1 + rd.u16() % 300;
    const int gy = 1 + rd.u8() % 8, gx = 1 + rd.u8() % 8;
    const bool uniform = rd.u8() & 1, normalize = rd.u8() & 1;
    // The binding refuses these (ValueError): too small for the ring, or more cells than codes.
    if (h < 2 * r + 1 || w < 2 * r + 1) return 0;
    const int hc = h - 2 * r, wc = w - 2 * r;
    if (gy > hc || gx > wc) return 0;
    fuzz::OwnedImage img = fuzz::make_image(rd, h, w, channels);

    // Codes of every channel: oracle, then every supported ISA.
    const std::size_t plane = static_cast<std::size_t>(hc) * wc;
    std::vector<std::uint8_t> want(plane * channels);
    for (int ch = 0; ch < channels; ++ch)
        for (int y = 0; y < hc; ++y)
            for (int x = 0; x < wc; ++x)
                want[ch * plane + static_cast<std::size_t>(y) * wc + x] =
                    oracle_code(img.view, ch, r, slack, y, x);
    for (Isa isa : fuzz::isas()) {
        const int ch = channels > 1 ? data[size / 2 % (size ? size : 1)] % channels : 0;
        // Output rows padded by one byte so a write past a row's end shows up as a mismatch.
        const std::ptrdiff_t os = wc + 1;
        std::vector<std::uint8_t> got(static_cast<std::size_t>(hc - 1) * os + wc, 0xA5);
        lbp::codes(img.view, ch, r, slack, got.data(), os, isa);
        for (int y = 0; y < hc; ++y) {
            fuzz::check(std::memcmp(got.data() + y * os,
                                    want.data() + ch * plane + static_cast<std::size_t>(y) * wc,
                                    wc) == 0,
                        "lbp::codes differs from the per-pixel oracle");
            if (y + 1 < hc) fuzz::check(got[y * os + wc] == 0xA5, "lbp::codes wrote past a row");
        }
    }

    // Histograms of every channel (channel-major) against the oracle's counts.
    const int bins = uniform ? lbp::kUniformBins : lbp::kDefaultBins;
    const std::size_t per = lbp::histogram_size(gy, gx, uniform);
    fuzz::check(per == static_cast<std::size_t>(gy) * gx * bins, "histogram_size");
    const std::size_t n = per * channels;
    std::vector<float> expect(n);
    const std::uint8_t* table = lbp::uniform_bin_table();
    for (int ch = 0; ch < channels; ++ch)
        for (int i = 0; i < gy; ++i) {
            const int y0 = static_cast<int>(static_cast<long long>(i) * hc / gy);
            const int y1 = static_cast<int>(static_cast<long long>(i + 1) * hc / gy);
            for (int j = 0; j < gx; ++j) {
                const int x0 = static_cast<int>(static_cast<long long>(j) * wc / gx);
                const int x1 = static_cast<int>(static_cast<long long>(j + 1) * wc / gx);
                std::vector<unsigned long long> cnt(bins, 0);
                for (int y = y0; y < y1; ++y)
                    for (int x = x0; x < x1; ++x) {
                        const std::uint8_t c =
                            want[ch * plane + static_cast<std::size_t>(y) * wc + x];
                        ++cnt[uniform ? table[c] : c];
                    }
                const double total = static_cast<double>(y1 - y0) * (x1 - x0);
                fuzz::check(total > 0, "empty histogram cell accepted");
                float* cell =
                    expect.data() + ch * per + (static_cast<std::size_t>(i) * gx + j) * bins;
                for (int b = 0; b < bins; ++b)
                    cell[b] = normalize ? static_cast<float>(static_cast<double>(cnt[b]) / total)
                                        : static_cast<float>(cnt[b]);
            }
        }
    for (Isa isa : fuzz::isas()) {
        std::vector<float> got(n + 1, -1.0f);  // one sentinel past the end
        lbp::histogram(img.view, r, slack, gy, gx, uniform, normalize, got.data(), isa);
        fuzz::check(std::memcmp(got.data(), expect.data(), n * sizeof(float)) == 0,
                    "lbp::histogram differs from the oracle counts");
        fuzz::check(got[n] == -1.0f, "lbp::histogram wrote past its output");
    }
    return 0;
}
