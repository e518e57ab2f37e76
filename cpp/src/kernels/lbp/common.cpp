// LBP drivers shared by all ISAs: row sourcing (channel de-interleave), the fused
// codes + histogram pass and the uniform mapping. Only the per-row code computation differs
// per ISA (codes_row_for); histogram increments are scalar with several sub-histograms.
#include <algorithm>
#include <cstring>
#include <vector>

#include "fastlive/lbp.hpp"

namespace fastlive::lbp {
namespace {

struct UniformTable {
    std::uint8_t bin[256];
    std::uint8_t code[kUniformBins - 1];  // the 58 uniform codes, ascending
    UniformTable() {
        int next = 0;
        for (int c = 0; c < 256; ++c) {
            int transitions = 0;
            for (int k = 0; k < 8; ++k)
                transitions += ((c >> k) & 1) != ((c >> ((k + 1) & 7)) & 1);
            if (transitions <= 2) code[next] = static_cast<std::uint8_t>(c);
            bin[c] = static_cast<std::uint8_t>(transitions <= 2 ? next++ : kUniformBins - 1);
        }
    }
};

const UniformTable& uniform_table() {
    static const UniformTable t;
    return t;
}

// Gray rows per channel. Single-channel images are read in place; interleaved rows are split
// into C planes once per row, into a ring of 2r + 1 rows (no per-channel image copy).
class RowSource {
   public:
    RowSource(const ImageView<const std::uint8_t>& img, int radius, DeinterleaveFn split)
        : img_(img),
          split_(split),
          ring_rows_(2 * radius + 1),
          plane_(static_cast<std::size_t>(img.width)) {
        if (img.channels > 1) {
            ring_.resize(static_cast<std::size_t>(ring_rows_) * img.channels * plane_);
            loaded_.assign(ring_rows_, -1);
        }
    }

    // Row y of channel c. Rows must be requested inside a window of 2r + 1 rows moving down.
    const std::uint8_t* row(int y, int c) {
        const std::uint8_t* src = img_.row(y);
        if (img_.channels == 1) return src;
        const int slot = y % ring_rows_;
        std::uint8_t* dst = ring_.data() + static_cast<std::size_t>(slot) * img_.channels * plane_;
        if (loaded_[slot] != y) {
            split_(src, img_.width, img_.channels, dst, plane_);
            loaded_[slot] = y;
        }
        return dst + static_cast<std::size_t>(c) * plane_;
    }

   private:
    ImageView<const std::uint8_t> img_;
    DeinterleaveFn split_;
    int ring_rows_;
    std::size_t plane_;
    std::vector<std::uint8_t> ring_;
    std::vector<int> loaded_;
};

// Counts codes c[0..n) into `subs` sub-histograms of 256 bins (h, h + 256, ...).
void count_codes(const std::uint8_t* c, int n, std::uint32_t* h, int subs) {
    int i = 0;
    if (subs == 4) {
        std::uint32_t* h0 = h;
        std::uint32_t* h1 = h + 256;
        std::uint32_t* h2 = h + 512;
        std::uint32_t* h3 = h + 768;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t v;
            std::memcpy(&v, c + i, 8);
            if (v == (v & 255) * 0x0101010101010101ull) {  // flat region: 8 equal codes
                h0[v & 255] += 8;
                continue;
            }
            ++h0[v & 255];
            ++h1[(v >> 8) & 255];
            ++h2[(v >> 16) & 255];
            ++h3[(v >> 24) & 255];
            ++h0[(v >> 32) & 255];
            ++h1[(v >> 40) & 255];
            ++h2[(v >> 48) & 255];
            ++h3[v >> 56];
        }
    }
    for (; i < n; ++i) ++h[c[i]];
}

}  // namespace

const std::uint8_t* uniform_bin_table() { return uniform_table().bin; }

std::size_t histogram_size(int grid_y, int grid_x, bool uniform) {
    return static_cast<std::size_t>(grid_y) * static_cast<std::size_t>(grid_x) *
           static_cast<std::size_t>(uniform ? kUniformBins : kDefaultBins);
}

CodesRowFn codes_row_for(Isa isa) { return FASTLIVE_SELECT_ISA(isa, codes_row); }

DeinterleaveFn deinterleave_for(Isa isa) { return FASTLIVE_SELECT_ISA(isa, deinterleave); }

void codes(const ImageView<const std::uint8_t>& img, int channel, int radius, int slack,
           std::uint8_t* out, std::ptrdiff_t out_stride, Isa isa) {
    const CodesRowFn fn = codes_row_for(isa);
    const int hc = img.height - 2 * radius, wc = img.width - 2 * radius;
    RowSource src(img, radius, deinterleave_for(isa));
    for (int y = 0; y < hc; ++y) {
        const std::uint8_t* top = src.row(y, channel);
        const std::uint8_t* mid = src.row(y + radius, channel);
        const std::uint8_t* bot = src.row(y + 2 * radius, channel);
        fn(top, mid, bot, wc, radius, slack, out + static_cast<std::ptrdiff_t>(y) * out_stride);
    }
}

void histogram(const ImageView<const std::uint8_t>& img, int radius, int slack, int grid_y,
               int grid_x, bool uniform, bool normalize, float* out, Isa isa) {
    const CodesRowFn fn = codes_row_for(isa);
    const int hc = img.height - 2 * radius, wc = img.width - 2 * radius;
    const int bins = uniform ? kUniformBins : kDefaultBins;
    const int nch = img.channels;
    const std::size_t per_channel = histogram_size(grid_y, grid_x, uniform);

    std::vector<int> cx(static_cast<std::size_t>(grid_x) + 1);
    for (int j = 0; j <= grid_x; ++j)
        cx[j] = static_cast<int>(static_cast<std::int64_t>(j) * wc / grid_x);
    // Four sub-histograms per cell break the store-to-load dependency of repeated codes (flat
    // regions); very narrow cells, or very many per row, get one (memory stays bounded).
    const std::size_t cells_x = static_cast<std::size_t>(nch) * grid_x;  // (channel, cell col)
    const int subs = (wc / grid_x >= 16 && cells_x <= 256) ? 4 : 1;
    const std::size_t sub_len = static_cast<std::size_t>(subs) * 256;
    std::vector<std::uint32_t> sub(sub_len * cells_x);
    std::vector<std::uint64_t> acc(cells_x * 256);
    std::vector<std::uint8_t> code_row(static_cast<std::size_t>(wc));
    RowSource src(img, radius, deinterleave_for(isa));
    const UniformTable& table = uniform_table();

    auto flush = [&] {
        for (std::size_t j = 0; j < cells_x; ++j) {
            std::uint32_t* s = sub.data() + sub_len * j;
            std::uint64_t* a = acc.data() + j * 256;
            if (subs == 4) {
                for (int k = 0; k < 256; ++k)
                    a[k] += std::uint64_t{s[k]} + s[256 + k] + s[512 + k] + s[768 + k];
            } else {
                for (int k = 0; k < 256; ++k) a[k] += s[k];
            }
        }
        std::fill(sub.begin(), sub.end(), 0u);
    };

    for (int i = 0; i < grid_y; ++i) {
        const int y0 = static_cast<int>(static_cast<std::int64_t>(i) * hc / grid_y);
        const int y1 = static_cast<int>(static_cast<std::int64_t>(i + 1) * hc / grid_y);
        std::fill(acc.begin(), acc.end(), std::uint64_t{0});
        std::int64_t pending = 0;  // pixels per channel counted into `sub` since the last flush
        for (int y = y0; y < y1; ++y) {
            for (int c = 0; c < nch; ++c) {
                const std::uint8_t* top = src.row(y, c);
                const std::uint8_t* mid = src.row(y + radius, c);
                const std::uint8_t* bot = src.row(y + 2 * radius, c);
                fn(top, mid, bot, wc, radius, slack, code_row.data());
                std::uint32_t* s = sub.data() + sub_len * (static_cast<std::size_t>(c) * grid_x);
                for (int j = 0; j < grid_x; ++j)
                    count_codes(code_row.data() + cx[j], cx[j + 1] - cx[j], s + sub_len * j,
                                subs);
            }
            pending += wc;
            if (pending >= (std::int64_t{1} << 30)) {  // keep uint32 bins far from overflow
                flush();
                pending = 0;
            }
        }
        flush();
        for (int c = 0; c < nch; ++c) {
            for (int j = 0; j < grid_x; ++j) {
                const std::uint64_t* a =
                    acc.data() + (static_cast<std::size_t>(c) * grid_x + j) * 256;
                float* cell = out + per_channel * c +
                              (static_cast<std::size_t>(i) * grid_x + j) * bins;
                const std::uint64_t pixels = static_cast<std::uint64_t>(y1 - y0) *
                                             static_cast<std::uint64_t>(cx[j + 1] - cx[j]);
                std::uint64_t binned[256];
                if (uniform) {  // gather the 58 uniform codes; the rest is the last bin
                    std::uint64_t in_uniform = 0;
                    for (int b = 0; b < kUniformBins - 1; ++b) {
                        binned[b] = a[table.code[b]];
                        in_uniform += binned[b];
                    }
                    binned[kUniformBins - 1] = pixels - in_uniform;
                } else {
                    std::copy(a, a + 256, binned);
                }
                const double total = static_cast<double>(pixels);
                for (int b = 0; b < bins; ++b)
                    cell[b] = normalize
                                  ? static_cast<float>(static_cast<double>(binned[b]) / total)
                                  : static_cast<float>(binned[b]);
            }
        }
    }
}

}  // namespace fastlive::lbp
