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
    UniformTable() {
        int next = 0;
        for (int code = 0; code < 256; ++code) {
            int transitions = 0;
            for (int k = 0; k < 8; ++k)
                transitions += ((code >> k) & 1) != ((code >> ((k + 1) & 7)) & 1);
            bin[code] = static_cast<std::uint8_t>(transitions <= 2 ? next++ : kUniformBins - 1);
        }
    }
};

const UniformTable& uniform_table() {
    static const UniformTable t;
    return t;
}

template <int C>
void deinterleave(const std::uint8_t* src, int w, int channel, std::uint8_t* dst) {
    src += channel;
    for (int x = 0; x < w; ++x) dst[x] = src[static_cast<std::ptrdiff_t>(x) * C];
}

// Gray rows of one channel. Single-channel images are read in place; interleaved ones are
// de-interleaved row by row into a ring of 2r + 1 rows (no per-channel image copy).
class RowSource {
   public:
    RowSource(const ImageView<const std::uint8_t>& img, int channel, int radius)
        : img_(img), channel_(channel), ring_rows_(2 * radius + 1) {
        if (img.channels > 1) {
            ring_.resize(static_cast<std::size_t>(ring_rows_) * img.width);
            loaded_.assign(ring_rows_, -1);
        }
    }

    // Rows must be requested inside a sliding window of 2r + 1 rows moving downwards.
    const std::uint8_t* row(int y) {
        const std::uint8_t* src = img_.row(y);
        if (img_.channels == 1) return src;
        const int slot = y % ring_rows_;
        std::uint8_t* dst = ring_.data() + static_cast<std::size_t>(slot) * img_.width;
        if (loaded_[slot] != y) {
            switch (img_.channels) {
                case 2: deinterleave<2>(src, img_.width, channel_, dst); break;
                case 3: deinterleave<3>(src, img_.width, channel_, dst); break;
                default: deinterleave<4>(src, img_.width, channel_, dst); break;
            }
            loaded_[slot] = y;
        }
        return dst;
    }

   private:
    ImageView<const std::uint8_t> img_;
    int channel_;
    int ring_rows_;
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

CodesRowFn codes_row_for(Isa isa) {
#if defined(FASTLIVE_HAVE_AVX2)
    if (isa == Isa::AVX2) return &avx2::codes_row;
#endif
    (void)isa;
    return &scalar::codes_row;
}

void codes(const ImageView<const std::uint8_t>& img, int channel, int radius, std::uint8_t* out,
           std::ptrdiff_t out_stride, Isa isa) {
    const CodesRowFn fn = codes_row_for(isa);
    const int hc = img.height - 2 * radius, wc = img.width - 2 * radius;
    RowSource src(img, channel, radius);
    for (int y = 0; y < hc; ++y) {
        const std::uint8_t* top = src.row(y);
        const std::uint8_t* mid = src.row(y + radius);
        const std::uint8_t* bot = src.row(y + 2 * radius);
        fn(top, mid, bot, wc, radius, out + static_cast<std::ptrdiff_t>(y) * out_stride);
    }
}

void histogram(const ImageView<const std::uint8_t>& img, int channel, int radius, int grid_y,
               int grid_x, bool uniform, bool normalize, float* out, Isa isa) {
    const CodesRowFn fn = codes_row_for(isa);
    const int hc = img.height - 2 * radius, wc = img.width - 2 * radius;
    const int bins = uniform ? kUniformBins : kDefaultBins;

    std::vector<int> cx(static_cast<std::size_t>(grid_x) + 1);
    for (int j = 0; j <= grid_x; ++j)
        cx[j] = static_cast<int>(static_cast<std::int64_t>(j) * wc / grid_x);
    // Four sub-histograms per cell break the store-to-load dependency of repeated codes; narrow
    // cells get one (memory stays proportional to the output size).
    const int subs = wc / grid_x >= 64 ? 4 : 1;
    const std::size_t sub_len = static_cast<std::size_t>(subs) * 256;
    std::vector<std::uint32_t> sub(sub_len * grid_x);
    std::vector<std::uint64_t> acc(static_cast<std::size_t>(grid_x) * 256);
    std::vector<std::uint8_t> code_row(static_cast<std::size_t>(wc));
    RowSource src(img, channel, radius);
    const std::uint8_t* table = uniform_bin_table();

    auto flush = [&] {
        for (int j = 0; j < grid_x; ++j) {
            std::uint32_t* s = sub.data() + sub_len * j;
            std::uint64_t* a = acc.data() + static_cast<std::size_t>(j) * 256;
            for (int k = 0; k < 256; ++k) {
                std::uint64_t t = 0;
                for (int q = 0; q < subs; ++q) t += s[q * 256 + k];
                a[k] += t;
            }
        }
        std::fill(sub.begin(), sub.end(), 0u);
    };

    for (int i = 0; i < grid_y; ++i) {
        const int y0 = static_cast<int>(static_cast<std::int64_t>(i) * hc / grid_y);
        const int y1 = static_cast<int>(static_cast<std::int64_t>(i + 1) * hc / grid_y);
        std::fill(acc.begin(), acc.end(), std::uint64_t{0});
        std::int64_t pending = 0;  // pixels counted into `sub` since the last flush
        for (int y = y0; y < y1; ++y) {
            const std::uint8_t* top = src.row(y);
            const std::uint8_t* mid = src.row(y + radius);
            const std::uint8_t* bot = src.row(y + 2 * radius);
            fn(top, mid, bot, wc, radius, code_row.data());
            for (int j = 0; j < grid_x; ++j)
                count_codes(code_row.data() + cx[j], cx[j + 1] - cx[j],
                            sub.data() + sub_len * j, subs);
            pending += wc;
            if (pending >= (std::int64_t{1} << 30)) {  // keep uint32 bins far from overflow
                flush();
                pending = 0;
            }
        }
        flush();
        for (int j = 0; j < grid_x; ++j) {
            const std::uint64_t* a = acc.data() + static_cast<std::size_t>(j) * 256;
            float* cell = out + (static_cast<std::size_t>(i) * grid_x + j) * bins;
            std::uint64_t binned[256];
            if (uniform) {
                std::fill(binned, binned + kUniformBins, std::uint64_t{0});
                for (int k = 0; k < 256; ++k) binned[table[k]] += a[k];
            } else {
                std::copy(a, a + 256, binned);
            }
            const double total = static_cast<double>(y1 - y0) * (cx[j + 1] - cx[j]);
            for (int b = 0; b < bins; ++b)
                cell[b] = normalize ? static_cast<float>(static_cast<double>(binned[b]) / total)
                                    : static_cast<float>(binned[b]);
        }
    }
}

}  // namespace fastlive::lbp
