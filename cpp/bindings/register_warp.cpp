// warp_crop / warp_to_tensor: aligned crops and the fused CNN-input tensor (see warp.hpp).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "fastlive/area.hpp"
#include "fastlive/warp.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace fastlive::bind {
namespace {

std::pair<int, int> parse_size(py::handle obj) {
    const char* fix = "; pass size=(height, width) with integers in 1..4096";
    if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj))
        throw py::type_error(std::string("size: expected a (height, width) tuple, got ") +
                             py::str(py::type::of(obj).attr("__name__")).cast<std::string>() + fix);
    auto seq = py::reinterpret_borrow<py::sequence>(obj);
    if (seq.size() != 2)
        throw py::value_error("size: expected 2 values (height, width), got " +
                              std::to_string(seq.size()) + fix);
    int v[2];
    for (int i = 0; i < 2; ++i) {
        py::object e = seq[i];
        PyObject* idx = py::isinstance<py::bool_>(e) ? nullptr : PyNumber_Index(e.ptr());
        if (!idx) {
            PyErr_Clear();
            throw py::type_error("size: expected integers, got " +
                                 py::str(py::type::of(e).attr("__name__")).cast<std::string>() +
                                 fix);
        }
        int overflow = 0;
        const long long x = PyLong_AsLongLongAndOverflow(idx, &overflow);
        Py_DECREF(idx);
        if (overflow) throw py::value_error("size: value out of range" + std::string(fix));
        if (x < 1 || x > warp::kMaxSize)
            throw py::value_error("size: " + std::string(i ? "width" : "height") + " " +
                                  std::to_string(x) + " is out of range" + fix);
        v[i] = static_cast<int>(x);
    }
    return {v[0], v[1]};
}

std::vector<double> parse_triple(py::handle obj, const char* name, bool positive) {
    std::string fix = std::string("; pass ") + name + "=(c0, c1, c2) in output channel order";
    if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj)) {
        if (py::isinstance<py::array>(obj)) {
            obj = py::reinterpret_borrow<py::array>(obj).attr("tolist")();
            if (!py::isinstance<py::sequence>(obj))
                throw py::value_error(std::string(name) + ": expected 3 values" + fix);
        } else {
            throw py::type_error(std::string(name) + ": expected a sequence of 3 numbers, got " +
                                 py::str(py::type::of(obj).attr("__name__")).cast<std::string>() +
                                 fix);
        }
    }
    auto seq = py::reinterpret_borrow<py::sequence>(obj);
    if (seq.size() != 3)
        throw py::value_error(std::string(name) + ": expected 3 values, got " +
                              std::to_string(seq.size()) + fix);
    std::vector<double> out(3);
    for (int i = 0; i < 3; ++i) {
        py::object e = seq[i];
        if (py::isinstance<py::bool_>(e) ||
            !(py::isinstance<py::float_>(e) || py::isinstance<py::int_>(e) ||
              py::hasattr(e, "__float__")))
            throw py::type_error(std::string(name) + ": expected real numbers" + fix);
        out[i] = e.cast<double>();
        if (!std::isfinite(out[i]))
            throw py::value_error(std::string(name) + ": values must be finite" + fix);
        if (positive && !(out[i] > 0.0))
            throw py::value_error(std::string(name) + ": values must be > 0, got " +
                                  std::to_string(out[i]) + fix);
    }
    return out;
}

warp::Border parse_border(const std::string& s) {
    if (s == "constant") return warp::Border::Constant;
    if (s == "replicate") return warp::Border::Replicate;
    throw py::value_error("border: unknown value '" + s + "'; choose 'constant' or 'replicate'");
}

int parse_border_value(int v) {
    if (v < 0 || v > 255)
        throw py::value_error("border_value: must be in 0..255 (a uint8 intensity), got " +
                              std::to_string(v));
    return v;
}

warp::Grid parse_grid(py::handle affine, int h, int w) {
    py::object obj = py::reinterpret_borrow<py::object>(affine);
    if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj))
        obj = py::module_::import("numpy").attr("asarray")(obj);  // nested lists are fine
    std::vector<double> m = require_points(obj, "affine", 2, 3);
    warp::Grid g;
    std::string err = warp::make_grid(m.data(), h, w, g);
    if (!err.empty()) throw py::value_error("affine: " + err);
    return g;
}

py::array warp_crop(py::handle bgr, py::handle affine, py::handle size, const std::string& border,
                    int border_value) {
    Image img = require_image(bgr, "bgr", -1);
    if (img.view.channels == 4)
        throw py::value_error("bgr: expected (H, W) or (H, W, 3) uint8 array, got shape " +
                              shape_str(img.owner) + "; drop alpha with img[..., :3]");
    const auto [h, w] = parse_size(size);
    const warp::Border b = parse_border(border);
    const int bv = parse_border_value(border_value);
    const warp::Grid g = parse_grid(affine, h, w);
    const int ch = img.view.channels;
    const bool three_d = img.owner.ndim() == 3;
    py::array_t<std::uint8_t> out(three_d ? std::vector<py::ssize_t>{h, w, ch}
                                          : std::vector<py::ssize_t>{h, w});
    std::uint8_t* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        warp::crop(img.view, g, b, bv, o, static_cast<std::ptrdiff_t>(w) * ch, active_isa());
    }
    return std::move(out);
}

py::array warp_to_tensor(py::handle bgr, py::handle affine, py::handle size, py::handle mean,
                         py::handle std_, const std::string& channel_order,
                         const std::string& lighting, const std::string& border,
                         int border_value, py::handle out) {
    Image img = require_image(bgr, "bgr", 3);
    const auto [h, w] = parse_size(size);
    const std::vector<double> mv = parse_triple(mean, "mean", false);
    const std::vector<double> sv = parse_triple(std_, "std", true);
    bool rgb;
    if (channel_order == "rgb") rgb = true;
    else if (channel_order == "bgr") rgb = false;
    else
        throw py::value_error("channel_order: unknown value '" + channel_order +
                              "'; choose 'rgb' or 'bgr'");
    warp::Lighting light;
    if (lighting == "none") light = warp::Lighting::None;
    else if (lighting == "standardize") light = warp::Lighting::Standardize;
    else
        throw py::value_error("lighting: unknown value '" + lighting +
                              "'; choose 'none' or 'standardize'");
    const warp::Border b = parse_border(border);
    const int bv = parse_border_value(border_value);
    const warp::Grid g = parse_grid(affine, h, w);
    py::array result;
    if (out.is_none()) {
        result = py::array_t<float>(std::vector<py::ssize_t>{1, 3, h, w});
    } else {
        if (!py::isinstance<py::array>(out))
            throw py::type_error("out: expected a numpy.ndarray or None, got " +
                                 py::str(py::type::of(out).attr("__name__")).cast<std::string>());
        result = py::reinterpret_borrow<py::array>(out);
        if (result.dtype().kind() != 'f' || result.itemsize() != 4)
            throw py::type_error("out: expected dtype float32, got " + dtype_str(result) +
                                 "; allocate with numpy.empty((1, 3, h, w), numpy.float32)");
        const bool shape_ok =
            (result.ndim() == 3 && result.shape(0) == 3 && result.shape(1) == h &&
             result.shape(2) == w) ||
            (result.ndim() == 4 && result.shape(0) == 1 && result.shape(1) == 3 &&
             result.shape(2) == h && result.shape(3) == w);
        if (!shape_ok)
            throw py::value_error("out: expected shape (3, " + std::to_string(h) + ", " +
                                  std::to_string(w) + ") or (1, 3, " + std::to_string(h) + ", " +
                                  std::to_string(w) + "), got " + shape_str(result));
        if (!(result.flags() & py::array::c_style))
            throw py::value_error("out: must be C-contiguous (e.g. batch[i] of a C-contiguous "
                                  "(N, 3, h, w) batch); got strides " +
                                  py::str(result.attr("strides")).cast<std::string>());
        if (!result.writeable()) throw py::value_error("out: array is read-only");
    }
    float* o = static_cast<float*>(result.mutable_data());
    {
        py::gil_scoped_release release;
        warp::to_tensor(img.view, g, b, bv, mv.data(), sv.data(), rgb, light, o, active_isa());
    }
    return result;
}

py::array resize_area(py::handle image, py::handle size) {
    Image img = require_image(image, "image", -1);
    const auto [h, w] = parse_size(size);
    if (h > img.view.height || w > img.view.width)
        throw py::value_error("size: (" + std::to_string(h) + ", " + std::to_string(w) +
                              ") is larger than the image's (" +
                              std::to_string(img.view.height) + ", " +
                              std::to_string(img.view.width) +
                              "); area resampling only shrinks, use cv2.resize to enlarge");
    const int ch = img.view.channels;
    const int nd = static_cast<int>(img.owner.ndim());
    py::array_t<std::uint8_t> out(nd == 3 ? std::vector<py::ssize_t>{h, w, ch}
                                          : std::vector<py::ssize_t>{h, w});
    std::uint8_t* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        area::resize(img.view, h, w, o, static_cast<std::ptrdiff_t>(w) * ch, active_isa());
    }
    return std::move(out);
}

}  // namespace

void register_warp(py::module_& m) {
    m.def("resize_area", &resize_area, py::arg("image"), py::arg("size"),
          R"doc(Area (box-filter) downscale of an (H, W) or (H, W, C) uint8 image to size=(h, w).

Bit-exact with cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) on OpenCV's general path
(any scale factor not an integer); for integer factors in both directions OpenCV uses another
rounding, which fastlive.kernels.resize_area hands to OpenCV. h <= H and w <= W.)doc");
    m.def("warp_crop", &warp_crop, py::arg("bgr"), py::arg("affine"), py::arg("size"),
          py::kw_only(), py::arg("border") = "constant", py::arg("border_value") = 0,
          R"doc(Affine-warped uint8 crop of shape (h, w, 3) (or (h, w) for a 2-D gray input).

affine: 2x3 source->destination matrix (cv2.warpAffine's M). Bilinear, 1/32-pixel fixed-point
sample positions and integer weights, rounded to nearest: exactly the samples of
warp_to_tensor. border: 'constant' (border_value) or 'replicate'.)doc");
    m.def("warp_to_tensor", &warp_to_tensor, py::arg("bgr"), py::arg("affine"), py::arg("size"),
          py::kw_only(), py::arg("mean") = py::make_tuple(0, 0, 0),
          py::arg("std") = py::make_tuple(1, 1, 1), py::arg("channel_order") = "rgb",
          py::arg("lighting") = "none", py::arg("border") = "constant",
          py::arg("border_value") = 0, py::arg("out") = py::none(),
          R"doc(One pass from an (H, W, 3) uint8 BGR frame to a float32 (1, 3, h, w) CNN input.

out = (pixel - mean[c]) / std[c], pixel the bilinear sample in 0..255 units (the unrounded
value of warp_crop), mean/std in output channel order (channel_order 'rgb' or 'bgr').
lighting='standardize' first maps pixel -> (pixel - mu) / max(sd, 1) with mu, sd the mean and
standard deviation of the luminance 0.299 R + 0.587 G + 0.114 B over the crop.
out: optional C-contiguous float32 (3, h, w) or (1, 3, h, w) array, written and returned.)doc");
}

}  // namespace fastlive::bind
