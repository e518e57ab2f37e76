// libFuzzer harness: specular-highlight statistics (fastlive/specular.hpp).
//
// Random sizes, padded/negative strides for the frame and the optional mask, all parameters
// in the ranges the binding accepts. Checks every ISA against scalar and scalar against an
// independent oracle written from the header's definition (per-pixel classification, 3x3 tile
// neighbourhood means, 8-connected blobs by flood fill).
#include <algorithm>
#include <functional>
#include <vector>

#include "common.hpp"
#include "fastlive/specular.hpp"

using fastlive::Isa;
namespace sp = fastlive::specular;

namespace {

sp::Stats oracle(const fastlive::ImageView<const std::uint8_t>& bgr,
                 const fastlive::ImageView<const std::uint8_t>* mask, const sp::Params& p) {
    const int h = bgr.height, w = bgr.width, bs = p.block;
    const int hb = (h + bs - 1) / bs, wb = (w + bs - 1) / bs;
    auto considered = [&](int y, int x) { return !mask || mask->row(y)[x] != 0; };
    auto V = [&](int y, int x) {
        const std::uint8_t* q = bgr.row(y) + 3 * x;
        return std::max({q[0], q[1], q[2]});
    };
    auto M = [&](int y, int x) {
        const std::uint8_t* q = bgr.row(y) + 3 * x;
        return std::min({q[0], q[1], q[2]});
    };
    sp::Stats st;
    std::vector<long long> S(static_cast<std::size_t>(hb) * wb, 0), N(S.size(), 0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if (considered(y, x)) {
                const int v = V(y, x);
                ++st.considered;
                st.sum_value += v;
                st.max_value = std::max(st.max_value, v);
                S[static_cast<std::size_t>(y / bs) * wb + x / bs] += v;
                ++N[static_cast<std::size_t>(y / bs) * wb + x / bs];
            }
    if (st.considered == 0) return st;
    std::vector<std::uint8_t> spec(static_cast<std::size_t>(h) * w, 0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            if (!considered(y, x)) continue;
            const long long v = V(y, x), m = M(y, x);
            if (v < p.v_min || 255 * (v - m) > static_cast<long long>(p.s_max) * v) continue;
            long long s3 = 0, n3 = 0;
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const int by = y / bs + dy, bx = x / bs + dx;
                    if (by < 0 || by >= hb || bx < 0 || bx >= wb) continue;
                    s3 += S[static_cast<std::size_t>(by) * wb + bx];
                    n3 += N[static_cast<std::size_t>(by) * wb + bx];
                }
            if (v * n3 >= s3 + static_cast<long long>(p.local_delta) * n3) {
                spec[static_cast<std::size_t>(y) * w + x] = 1;
                ++st.specular;
            }
        }
    std::vector<long long> areas;
    std::vector<int> stack;
    for (int y0 = 0; y0 < h; ++y0)
        for (int x0 = 0; x0 < w; ++x0) {
            if (spec[static_cast<std::size_t>(y0) * w + x0] != 1) continue;
            long long area = 0;
            stack.assign(1, y0 * w + x0);
            spec[static_cast<std::size_t>(y0) * w + x0] = 2;
            while (!stack.empty()) {
                const int i = stack.back();
                stack.pop_back();
                ++area;
                const int y = i / w, x = i % w;
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx) {
                        const int yy = y + dy, xx = x + dx;
                        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                        std::uint8_t& s = spec[static_cast<std::size_t>(yy) * w + xx];
                        if (s == 1) {
                            s = 2;
                            stack.push_back(yy * w + xx);
                        }
                    }
            }
            if (area >= p.min_blob) areas.push_back(area);
        }
    st.n_blobs = static_cast<long long>(areas.size());
    std::sort(areas.begin(), areas.end(), std::greater<long long>());
    if (areas.size() > sp::kMaxAreas) areas.resize(sp::kMaxAreas);
    st.blob_areas = areas;
    return st;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Reader rd(data, size);
    const std::uint8_t flags = rd.u8();
    const int h = 1 + rd.u8() % 72, w = 1 + rd.u8() % 120;
    sp::Params p;
    // Mostly near the defaults (where highlights exist), sometimes anywhere in 0..255.
    p.v_min = (flags & 2) ? rd.u8() : 150 + rd.u8() % 106;
    p.s_max = (flags & 4) ? rd.u8() : rd.u8() % 96;
    p.local_delta = (flags & 8) ? rd.u8() : rd.u8() % 32;
    p.min_blob = 1 + rd.u8() % 8;
    p.block = 1 + rd.u8() % 64;
    fuzz::OwnedImage img = fuzz::make_image(rd, h, w, 3);
    fuzz::OwnedImage mask;
    const bool has_mask = flags & 1;
    if (has_mask) mask = fuzz::make_image(rd, h, w, 1);
    const auto* mview = has_mask ? &mask.view : nullptr;

    const sp::Stats want = oracle(img.view, mview, p);
    for (Isa isa : fuzz::isas()) {
        const sp::Stats got = sp::compute(img.view, mview, p, isa);
        fuzz::check(got.considered == want.considered, "considered differs from the oracle");
        fuzz::check(got.sum_value == want.sum_value, "sum_value differs from the oracle");
        fuzz::check(got.max_value == want.max_value, "max_value differs from the oracle");
        if (want.considered == 0) continue;  // the binding raises ValueError here
        fuzz::check(got.specular == want.specular, "specular count differs from the oracle");
        fuzz::check(got.n_blobs == want.n_blobs, "n_blobs differs from the oracle");
        fuzz::check(got.blob_areas == want.blob_areas, "blob_areas differ from the oracle");
    }
    return 0;
}
