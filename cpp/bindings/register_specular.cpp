// specular_stats: specular-highlight statistics of a BGR region (see specular.hpp).
#include <pybind11/stl.h>

#include <string>

#include "bind.hpp"
#include "fastlive/dispatch.hpp"
#include "fastlive/specular.hpp"

namespace py = pybind11;

namespace fastlive::bind {
namespace {

py::dict specular_stats(py::handle bgr, py::handle mask, int v_min, int s_max, int local_delta,
                        long long min_blob, int block) {
    Image img = require_image(bgr, "bgr", 3);
    specular::Params p;
    p.v_min = require_range(v_min, 0, 255, "v_min", "minimum V = max(B, G, R)");
    p.s_max = require_range(s_max, 0, 255, "s_max",
                            "maximum HSV saturation on OpenCV's 0..255 scale");
    p.local_delta = require_range(local_delta, 0, 255, "local_delta",
                                  "how much brighter than the local mean, in intensity levels");
    if (min_blob < 1)
        throw py::value_error("min_blob: must be >= 1 (smallest blob area counted, pixels), got " +
                              std::to_string(min_blob));
    p.min_blob = min_blob > (1LL << 30) ? (1 << 30) : static_cast<int>(min_blob);
    p.block = require_range(block, 1, 64, "block", "tile side of the local-mean neighbourhood");
    Image m;
    const bool has_mask = !mask.is_none();
    if (has_mask) {
        m = require_image(mask, "mask", 0, 1, 1, /*allow_bool=*/true);
        if (m.view.height != img.view.height || m.view.width != img.view.width)
            throw py::value_error("mask: expected shape (" + std::to_string(img.view.height) +
                                  ", " + std::to_string(img.view.width) +
                                  ") to match bgr, got " + shape_str(m.owner));
    }
    const Isa isa = active_isa();
    const specular::Stats st = without_gil(
        [&] { return specular::compute(img.view, has_mask ? &m.view : nullptr, p, isa); });
    if (st.considered == 0)
        throw py::value_error("mask: selects no pixels (all zero); pass a mask with at least one "
                              "nonzero pixel or mask=None");
    py::dict d;
    d["ratio"] = static_cast<double>(st.specular) / static_cast<double>(st.considered);
    d["n_blobs"] = st.n_blobs;
    d["blob_areas"] = st.blob_areas;
    d["max_value"] = st.max_value;
    d["mean_value"] = static_cast<double>(st.sum_value) / static_cast<double>(st.considered);
    return d;
}

}  // namespace

void register_specular(py::module_& m) {
    const specular::Params d;
    m.def("specular_stats", &specular_stats, py::arg("bgr"), py::arg("mask") = py::none(),
          py::kw_only(), py::arg("v_min") = d.v_min, py::arg("s_max") = d.s_max,
          py::arg("local_delta") = d.local_delta, py::arg("min_blob") = d.min_blob,
          py::arg("block") = d.block,
          R"doc(Specular-highlight statistics of an (H, W, 3) uint8 BGR region.

mask: optional (H, W) uint8/bool array, nonzero = consider the pixel. A considered pixel is
specular when V = max(B, G, R) >= v_min, 255 * (V - min(B, G, R)) <= s_max * V (HSV saturation
on OpenCV's 0..255 scale) and V >= local mean + local_delta, the local mean being the mean V of
the considered pixels in the 3x3 tiles (block x block, from the top-left corner, clipped at the
border) around the pixel's tile. Returns a dict: ratio (specular / considered pixels), n_blobs
(8-connected blobs with area >= min_blob), blob_areas (largest first, at most 64), max_value and
mean_value (of V over considered pixels).)doc");
}

}  // namespace fastlive::bind
