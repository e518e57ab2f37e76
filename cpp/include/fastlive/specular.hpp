// Specular-highlight statistics of a BGR region.
//
// A pixel is considered when the mask (if any) is nonzero there. With V = max(B, G, R) and
// m = min(B, G, R), a considered pixel is specular when
//   * V >= v_min,
//   * 255 * (V - m) <= s_max * V          (OpenCV's 8-bit HSV saturation S <= s_max), and
//   * V * N >= S_V + local_delta * N      (V >= local mean + local_delta, exactly),
// where the image is tiled into block x block tiles from the top-left corner (the last ones
// may be partial) and S_V, N are the sum of V and the number of considered pixels over the
// 3x3 tiles centred on the pixel's tile (clipped at the image border).
// Blobs: 8-connected components of specular pixels (run-based union-find).
// No pybind11 here; the caller validates parameters.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fastlive/dispatch.hpp"
#include "fastlive/image_view.hpp"

namespace fastlive::specular {

struct Params {
    int v_min = 200;
    int s_max = 64;
    int local_delta = 16;
    int min_blob = 1;
    int block = 8;
};

struct Stats {
    long long considered = 0;
    long long specular = 0;
    int max_value = 0;
    long long sum_value = 0;
    long long n_blobs = 0;                // blobs with area >= min_blob
    std::vector<long long> blob_areas;     // the largest first, at most kMaxAreas
};

constexpr std::size_t kMaxAreas = 64;

struct RowResult {
    int max_v;    // max of vm over the row
    int n_cand;   // candidates in the row
};

// One row: vm[x] = V if considered else 0; cand[x] = 1 when considered, V >= v_min and the
// saturation test passes, else 0. mask may be null (all considered).
using ClassifyRowFn = RowResult (*)(const std::uint8_t* bgr, const std::uint8_t* mask, int n,
                                    int v_min, int s_max, std::uint8_t* vm, std::uint8_t* cand);

namespace scalar {
RowResult classify_row(const std::uint8_t* bgr, const std::uint8_t* mask, int n, int v_min,
                       int s_max, std::uint8_t* vm, std::uint8_t* cand);
}
#if defined(FASTLIVE_HAVE_AVX2)
namespace avx2 {
RowResult classify_row(const std::uint8_t* bgr, const std::uint8_t* mask, int n, int v_min,
                       int s_max, std::uint8_t* vm, std::uint8_t* cand);
}
#endif

ClassifyRowFn classify_row_for(Isa isa);

// bgr: 3 channels. mask: null, or a gray view of the same height and width.
Stats compute(const ImageView<const std::uint8_t>& bgr, const ImageView<const std::uint8_t>* mask,
              const Params& p, Isa isa);

}  // namespace fastlive::specular
