// warp_crop / warp_to_tensor / resize_area: aligned crops, the fused CNN-input tensor and area
// downscaling (see warp.hpp, area.hpp). Typed scalars, range-checked here (see bind.hpp).
#include <pybind11/stl.h>

#include <array>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "bind.hpp"
#include "fastlive/area.hpp"
#include "fastlive/dispatch.hpp"
#include "fastlive/warp.hpp"

namespace py = pybind11;

namespace fastlive::bind {
namespace {

using Size = std::pair<Index, Index>;  // (height, width)
using Triple = std::array<Real, 3>;     // one value per output channel

std::pair<int, int> check_size(const Size& size) {
    const long long v[2] = {size.first, size.second};
    for (int i = 0; i < 2; ++i)
        if (v[i] < 1 || v[i] > warp::kMaxSize)
            throw py::value_error("size: " + std::string(i ? "width" : "height") + " " +
                                  std::to_string(v[i]) +
                                  " is out of range; pass size=(height, width) with integers "
                                  "in 1.." + std::to_string(warp::kMaxSize));
    return {static_cast<int>(v[0]), static_cast<int>(v[1])};
}

std::array<double, 3> check_triple(const Triple& t, const char* name, bool positive) {
    const std::string fix = std::string("; pass ") + name + "=(c0, c1, c2) in output channel order";
    std::array<double, 3> v{t[0], t[1], t[2]};
    for (double x : v) {
        if (!std::isfinite(x))
            throw py::value_error(std::string(name) + ": values must be finite" + fix);
        if (positive && !(x > 0.0))
            throw py::value_error(std::string(name) + ": values must be > 0, got " +
                                  std::to_string(x) + fix);
    }
    return v;
}

warp::Border check_border(py::handle border, long long border_value) {
    const auto b = static_cast<warp::Border>(
        require_choice(border, {"constant", "replicate"}, "border", "'constant' or 'replicate'"));
    require_range(border_value, 0, 255, "border_value", "a uint8 intensity");
    return b;
}

warp::Grid make_grid(py::handle affine, int h, int w) {
    std::vector<double> m = require_points(affine, "affine", 2, 3);
    warp::Grid g;
    std::string err = warp::make_grid(m.data(), h, w, g);
    if (!err.empty()) throw py::value_error("affine: " + err);
    return g;
}

// An (h, w) or (h, w, channels) uint8 output, as the input image is 2-D or 3-D.
py::array_t<std::uint8_t> image_like(const Image& img, int h, int w) {
    const int ch = img.view.channels;
    return py::array_t<std::uint8_t>(img.owner.ndim() == 3 ? std::vector<py::ssize_t>{h, w, ch}
                                                           : std::vector<py::ssize_t>{h, w});
}

py::array warp_crop(py::handle bgr, py::handle affine, const Size& size,
                    py::handle border, Index border_value) {
    Image img = require_image(bgr, "bgr", -1);
    if (img.view.channels == 4)
        throw py::value_error("bgr: expected (H, W) or (H, W, 3) uint8 array, got shape " +
                              shape_str(img.owner) + "; drop alpha with img[..., :3]");
    const auto [h, w] = check_size(size);
    const warp::Border b = check_border(border, border_value);
    const warp::Grid g = make_grid(affine, h, w);
    py::array_t<std::uint8_t> out = image_like(img, h, w);
    std::uint8_t* o = out.mutable_data();
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(w) * img.view.channels;
    const Isa isa = active_isa();
    const int bv = static_cast<int>(border_value);
    without_gil([&] { warp::crop(img.view, g, b, bv, o, stride, isa); });
    return std::move(out);
}

// out: None (a new (1, 3, h, w) array) or a writable C-contiguous float32 (3, h, w) or
// (1, 3, h, w) array.
py::array tensor_out(py::handle out, int h, int w) {
    if (out.is_none()) return py::array_t<float>(std::vector<py::ssize_t>{1, 3, h, w});
    if (!py::isinstance<py::array>(out))
        throw py::type_error("out: expected a numpy.ndarray or None, got " + type_name(out));
    auto result = py::reinterpret_borrow<py::array>(out);
    if (result.dtype().kind() != 'f' || result.itemsize() != 4)
        throw py::type_error("out: expected dtype float32, got " + dtype_str(result) +
                             "; allocate with numpy.empty((1, 3, h, w), numpy.float32)");
    const bool shape_ok = (result.ndim() == 3 && result.shape(0) == 3 && result.shape(1) == h &&
                           result.shape(2) == w) ||
                          (result.ndim() == 4 && result.shape(0) == 1 && result.shape(1) == 3 &&
                           result.shape(2) == h && result.shape(3) == w);
    if (!shape_ok)
        throw py::value_error("out: expected shape (3, " + std::to_string(h) + ", " +
                              std::to_string(w) + ") or (1, 3, " + std::to_string(h) + ", " +
                              std::to_string(w) + "), got " + shape_str(result));
    if (!(result.flags() & py::array::c_style))
        throw py::value_error("out: must be C-contiguous (e.g. batch[i] of a C-contiguous "
                              "(N, 3, h, w) batch); got strides " + strides_str(result));
    if (!result.writeable()) throw py::value_error("out: array is read-only");
    return result;
}

py::array warp_to_tensor(py::handle bgr, py::handle affine, const Size& size, const Triple& mean_,
                         const Triple& std_, py::handle channel_order, py::handle lighting,
                         py::handle border, Index border_value, py::handle out) {
    Image img = require_image(bgr, "bgr", 3);
    const auto [h, w] = check_size(size);
    const std::array<double, 3> mean = check_triple(mean_, "mean", false);
    const std::array<double, 3> sd = check_triple(std_, "std", true);
    const bool rgb =
        require_choice(channel_order, {"bgr", "rgb"}, "channel_order", "'rgb' or 'bgr'") == 1;
    const auto light = static_cast<warp::Lighting>(
        require_choice(lighting, {"none", "standardize"}, "lighting", "'none' or 'standardize'"));
    const warp::Border b = check_border(border, border_value);
    const warp::Grid g = make_grid(affine, h, w);
    py::array result = tensor_out(out, h, w);
    float* o = static_cast<float*>(result.mutable_data());
    const Isa isa = active_isa();
    const int bv = static_cast<int>(border_value);
    without_gil([&] {
        warp::to_tensor(img.view, g, b, bv, mean.data(), sd.data(), rgb, light, o, isa);
    });
    return result;
}

py::array resize_area(py::handle image, const Size& size) {
    Image img = require_image(image, "image", -1);
    const auto [h, w] = check_size(size);
    if (h > img.view.height || w > img.view.width)
        throw py::value_error("size: (" + std::to_string(h) + ", " + std::to_string(w) +
                              ") is larger than the image's (" +
                              std::to_string(img.view.height) + ", " +
                              std::to_string(img.view.width) +
                              "); area resampling only shrinks, use cv2.resize to enlarge");
    py::array_t<std::uint8_t> out = image_like(img, h, w);
    std::uint8_t* o = out.mutable_data();
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(w) * img.view.channels;
    const Isa isa = active_isa();
    without_gil([&] { area::resize(img.view, h, w, o, stride, isa); });
    return std::move(out);
}

}  // namespace

// Every parameter is positional here (pybind11 matches keywords slowly); fastlive.kernels
// makes all but bgr, affine and size keyword-only.
void register_warp(py::module_& m) {
    m.attr("MAX_SIZE") = warp::kMaxSize;
    m.def("resize_area", &resize_area, py::arg("image"), py::arg("size"),
          "Area (box-filter) downscale on OpenCV's general path (fastlive.kernels).");
    m.def("warp_crop", &warp_crop, py::arg("bgr"), py::arg("affine"), py::arg("size"),
          py::arg("border") = "constant", py::arg("border_value") = 0,
          "Affine-warped uint8 crop (fastlive.kernels).");
    m.def("warp_to_tensor", &warp_to_tensor, py::arg("bgr"), py::arg("affine"), py::arg("size"),
          py::arg("mean") = py::make_tuple(0.0, 0.0, 0.0),
          py::arg("std") = py::make_tuple(1.0, 1.0, 1.0), py::arg("channel_order") = "rgb",
          py::arg("lighting") = "none", py::arg("border") = "constant",
          py::arg("border_value") = 0, py::arg("out") = py::none(),
          "One pass from an (H, W, 3) uint8 BGR frame to a float32 CNN input (fastlive.kernels).");
}

}  // namespace fastlive::bind
