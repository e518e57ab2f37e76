// Specular per-pixel classification, scalar reference. Other ISAs must match it bit for bit.
#include "fastlive/specular.hpp"

namespace fastlive::specular::scalar {

RowResult classify_row(const std::uint8_t* bgr, const std::uint8_t* mask, int n, int v_min,
                       int s_max, std::uint8_t* vm, std::uint8_t* cand) {
    int max_v = 0, n_cand = 0;
    for (int x = 0; x < n; ++x) {
        const int b = bgr[3 * x], g = bgr[3 * x + 1], r = bgr[3 * x + 2];
        const int hi = b > g ? (b > r ? b : r) : (g > r ? g : r);
        const int lo = b < g ? (b < r ? b : r) : (g < r ? g : r);
        const bool in = mask == nullptr || mask[x] != 0;
        const int v = in ? hi : 0;
        const bool c = in && hi >= v_min && 255 * (hi - lo) <= s_max * hi;
        vm[x] = static_cast<std::uint8_t>(v);
        cand[x] = c ? 1 : 0;
        max_v = v > max_v ? v : max_v;
        n_cand += c;
    }
    return {max_v, n_cand};
}

}  // namespace fastlive::specular::scalar
