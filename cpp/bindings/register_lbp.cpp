// LBP codes and histograms: typed scalars, range-checked here (see bind.hpp).
#include <pybind11/stl.h>

#include <string>
#include <utility>

#include "bind.hpp"
#include "fastlive/dispatch.hpp"
#include "fastlive/lbp.hpp"

namespace py = pybind11;

namespace fastlive::bind {
namespace {

int check_radius(long long r) {
    if (r != 1 && r != 2)
        throw py::value_error("radius: must be 1 or 2 (square ring of 8 neighbours at that "
                              "distance), got " + std::to_string(r));
    return static_cast<int>(r);
}

int check_slack(long long s) {
    if (s < 0 || s > 255)
        throw py::value_error("slack: must be an int from 0 to 255 (0: plain LBP), got " +
                              std::to_string(s));
    return static_cast<int>(s);
}

bool check_mapping(py::handle m) {
    if (!PyUnicode_Check(m.ptr()))
        throw py::type_error("mapping: expected the str 'uniform' or 'default', got " +
                             type_name(m));
    if (PyUnicode_CompareWithASCIIString(m.ptr(), "uniform") == 0) return true;
    if (PyUnicode_CompareWithASCIIString(m.ptr(), "default") == 0) return false;
    throw py::value_error("mapping: unknown mapping '" + py::str(m).cast<std::string>() +
                          "'; use 'uniform' (59 bins) or 'default' (256 bins)");
}

using Grid = std::pair<Index, Index>;  // (rows, cols) of cells

// grid: positive, each at most the code image size (hc, wc) along its axis.
std::pair<int, int> check_grid(const Grid& g, int hc, int wc) {
    const long long gy = g.first, gx = g.second;
    const std::string shown = "(" + std::to_string(gy) + ", " + std::to_string(gx) + ")";
    if (gy < 1 || gx < 1)
        throw py::value_error("grid: cell counts must be positive ints, e.g. (4, 4); got " +
                              shown);
    if (gy > hc || gx > wc)
        throw py::value_error("grid: " + shown + " is larger than the " + std::to_string(hc) +
                              "x" + std::to_string(wc) +
                              " code image (H - 2*radius, W - 2*radius), so some cells would "
                              "be empty; use a smaller grid or a larger image");
    return {static_cast<int>(gy), static_cast<int>(gx)};
}

py::array_t<std::uint8_t> lbp_codes(py::handle gray, Index radius, Index slack_) {
    const int r = check_radius(radius);
    const int slack = check_slack(slack_);
    Image img = require_image(gray, "gray", 0, 2 * r + 1, 2 * r + 1);
    const int hc = img.view.height - 2 * r, wc = img.view.width - 2 * r;
    py::array_t<std::uint8_t> out({static_cast<py::ssize_t>(hc), static_cast<py::ssize_t>(wc)});
    std::uint8_t* dst = out.mutable_data();
    const Isa isa = active_isa();
    without_gil([&] { lbp::codes(img.view, 0, r, slack, dst, wc, isa); });
    return out;
}

py::array_t<float> lbp_hist(py::handle image, const Grid& grid, py::handle mapping,
                            bool normalize, Index radius, Index slack_, bool multi) {
    const int r = check_radius(radius);
    const int slack = check_slack(slack_);
    Image img = multi ? require_image(image, "image", kAnyChannels, 2 * r + 1, 2 * r + 1)
                      : require_image(image, "gray", 0, 2 * r + 1, 2 * r + 1);
    const auto [gy, gx] = check_grid(grid, img.view.height - 2 * r, img.view.width - 2 * r);
    const bool uniform = check_mapping(mapping);
    const std::size_t per = lbp::histogram_size(gy, gx, uniform);
    py::array_t<float> out(static_cast<py::ssize_t>(per * img.view.channels));
    float* dst = out.mutable_data();
    const Isa isa = active_isa();
    without_gil(
        [&] { lbp::histogram(img.view, r, slack, gy, gx, uniform, normalize, dst, isa); });
    return out;
}

}  // namespace

// Every parameter is positional here (pybind11 matches keywords slowly); fastlive.kernels
// makes slack keyword-only.
void register_lbp(py::module_& m) {
    m.attr("LBP_UNIFORM_BINS") = lbp::kUniformBins;
    m.def("lbp_codes", &lbp_codes, py::arg("gray"), py::arg("radius") = 1,
          py::arg("slack") = 0, "LBP(8, r) codes of a 2-D uint8 image (fastlive.kernels).");
    m.def("lbp_histogram",
          [](py::handle gray, const Grid& grid, py::handle mapping, bool normalize,
             Index radius, Index slack) {
              return lbp_hist(gray, grid, mapping, normalize, radius, slack, false);
          },
          py::arg("gray"), py::arg("grid") = py::make_tuple(1, 1), py::arg("mapping") = "uniform",
          py::arg("normalize").noconvert() = true, py::arg("radius") = 1,
          py::arg("slack") = 0, "Per-cell LBP histograms of a 2-D uint8 image (fastlive.kernels).");
    m.def("lbp_histogram_multi",
          [](py::handle image, const Grid& grid, py::handle mapping, bool normalize,
             Index radius, Index slack) {
              return lbp_hist(image, grid, mapping, normalize, radius, slack, true);
          },
          py::arg("image"), py::arg("grid") = py::make_tuple(1, 1),
          py::arg("mapping") = "uniform", py::arg("normalize").noconvert() = true,
          py::arg("radius") = 1, py::arg("slack") = 0,
          "LBP histograms of each channel of an (H, W, C) uint8 image (fastlive.kernels).");
}

}  // namespace fastlive::bind
