// Specular statistics: tile sums, local thresholds, run-based 8-connected blob labelling.
// ISA independent; only the per-pixel classification is dispatched.
#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>

#include "fastlive/specular.hpp"

namespace fastlive::specular {

ClassifyRowFn classify_row_for(Isa isa) { return FASTLIVE_SELECT_ISA(isa, classify_row); }

namespace {

struct Run {
    int s, e, label;  // columns [s, e] inclusive
};

struct UnionFind {
    std::vector<int> parent;
    std::vector<long long> area;
    int make(long long a) {
        parent.push_back(static_cast<int>(parent.size()));
        area.push_back(a);
        return parent.back();
    }
    int find(int i) {
        while (parent[i] != i) {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }
    void unite(int a, int b) {
        a = find(a);
        b = find(b);
        if (a == b) return;
        if (area[a] < area[b]) std::swap(a, b);
        parent[b] = a;
        area[a] += area[b];
    }
};

}  // namespace

Stats compute(const ImageView<const std::uint8_t>& bgr, const ImageView<const std::uint8_t>* mask,
              const Params& p, Isa isa) {
    const int h = bgr.height, w = bgr.width, bs = p.block;
    const int hb = (h + bs - 1) / bs, wb = (w + bs - 1) / bs;
    const std::size_t ww = static_cast<std::size_t>(w);
    // V and candidate planes: per-thread scratch reused across calls (no page faults or
    // zero-filling per call); only regions up to 4 Mpixel (8 MiB of scratch) stay cached.
    thread_local std::vector<std::uint8_t> cached;
    std::vector<std::uint8_t> local;
    const std::size_t need = 2 * ww * h;
    std::vector<std::uint8_t>& scratch = need <= (8u << 20) ? cached : local;
    if (scratch.size() < need) scratch.resize(need);
    std::uint8_t* const vm_data = scratch.data();
    std::uint8_t* const cand_data = scratch.data() + ww * h;
    std::vector<long long> bsum(static_cast<std::size_t>(hb) * wb, 0),
        bcnt(static_cast<std::size_t>(hb) * wb, 0);
    std::vector<int> row_cand(h);
    const ClassifyRowFn fn = classify_row_for(isa);
    Stats st;

    // Pass 1: classification, tile sums of V and counts of considered pixels.
    for (int y = 0; y < h; ++y) {
        const std::uint8_t* mrow = mask ? mask->row(y) : nullptr;
        std::uint8_t* v = vm_data + y * ww;
        const RowResult rr = fn(bgr.row(y), mrow, w, p.v_min, p.s_max, v, cand_data + y * ww);
        st.max_value = std::max(st.max_value, rr.max_v);
        row_cand[y] = rr.n_cand;
        long long* srow = bsum.data() + static_cast<std::size_t>(y / bs) * wb;
        long long* crow = bcnt.data() + static_cast<std::size_t>(y / bs) * wb;
        for (int bx = 0; bx < wb; ++bx) {
            const int x0 = bx * bs, x1 = std::min(w, x0 + bs);
            unsigned s = 0;
            for (int x = x0; x < x1; ++x) s += v[x];
            srow[bx] += s;
            if (mrow) {
                int c = 0;
                for (int x = x0; x < x1; ++x) c += mrow[x] != 0;
                crow[bx] += c;
            } else {
                crow[bx] += x1 - x0;
            }
        }
    }
    st.sum_value = std::accumulate(bsum.begin(), bsum.end(), 0LL);
    st.considered = std::accumulate(bcnt.begin(), bcnt.end(), 0LL);
    if (st.considered == 0) return st;

    // Local thresholds: smallest V with V * N >= S + delta * N over the 3x3 tile neighbourhood.
    std::vector<int> thr(static_cast<std::size_t>(hb) * wb, 256);
    for (int by = 0; by < hb; ++by)
        for (int bx = 0; bx < wb; ++bx) {
            long long s = 0, n = 0;
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const int yy = by + dy, xx = bx + dx;
                    if (yy < 0 || yy >= hb || xx < 0 || xx >= wb) continue;
                    s += bsum[static_cast<std::size_t>(yy) * wb + xx];
                    n += bcnt[static_cast<std::size_t>(yy) * wb + xx];
                }
            if (n > 0) {
                const long long num = s + static_cast<long long>(p.local_delta) * n;
                thr[static_cast<std::size_t>(by) * wb + bx] =
                    static_cast<int>(std::min<long long>(256, (num + n - 1) / n));
            }
        }

    // Pass 2: specular runs per row, linked to the previous row's runs (8-connectivity).
    UnionFind uf;
    std::vector<Run> prev, cur;
    std::vector<std::uint16_t> thr_px(ww);  // per-pixel threshold of the current tile row
    std::vector<std::uint8_t> sp(ww);        // specular flags of the current row
    int thr_row = -1;
    for (int y = 0; y < h; ++y) {
        cur.clear();
        if (row_cand[y] > 0) {
            if (y / bs != thr_row) {
                thr_row = y / bs;
                const int* t = thr.data() + static_cast<std::size_t>(thr_row) * wb;
                for (int x = 0; x < w; ++x) thr_px[x] = static_cast<std::uint16_t>(t[x / bs]);
            }
            const std::uint8_t* v = vm_data + y * ww;
            const std::uint8_t* c = cand_data + y * ww;
            for (int x = 0; x < w; ++x)  // branch-free, vectorizable
                sp[x] = static_cast<std::uint8_t>(c[x] & (v[x] >= thr_px[x]));
            int start = -1;
            for (int x = 0; x < w;) {
                if (start < 0 && x + 8 <= w) {  // skip 8 non-specular pixels at once
                    std::uint64_t word;
                    std::memcpy(&word, sp.data() + x, 8);
                    if (word == 0) {
                        x += 8;
                        continue;
                    }
                }
                if (sp[x] && start < 0) {
                    start = x;
                } else if (!sp[x] && start >= 0) {
                    cur.push_back({start, x - 1, uf.make(x - start)});
                    start = -1;
                }
                ++x;
            }
            if (start >= 0) cur.push_back({start, w - 1, uf.make(w - start)});
        }
        std::size_t j = 0;
        for (const Run& r : cur) {
            st.specular += r.e - r.s + 1;
            while (j < prev.size() && prev[j].e < r.s - 1) ++j;
            for (std::size_t k = j; k < prev.size() && prev[k].s <= r.e + 1; ++k)
                uf.unite(r.label, prev[k].label);
        }
        std::swap(prev, cur);
    }
    std::vector<long long> areas;
    for (int i = 0; i < static_cast<int>(uf.parent.size()); ++i)
        if (uf.find(i) == i && uf.area[i] >= p.min_blob) areas.push_back(uf.area[i]);
    st.n_blobs = static_cast<long long>(areas.size());
    const std::size_t keep = std::min(areas.size(), kMaxAreas);
    std::partial_sort(areas.begin(), areas.begin() + keep, areas.end(), std::greater<long long>());
    areas.resize(keep);
    st.blob_areas = std::move(areas);
    return st;
}

}  // namespace fastlive::specular
