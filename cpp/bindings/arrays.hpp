// The one place where Python objects become kernel views. Refuse, don't cast: every check raises
// TypeError (wrong type/dtype) or ValueError (wrong shape/size/layout) naming the argument, what
// was expected, what was received and how to fix it.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "fastlive/image_view.hpp"

namespace fastlive::bind {
namespace py = pybind11;

inline std::string shape_str(const py::array& a) {
    std::ostringstream s;
    s << "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
    if (a.ndim() == 1) s << ",";
    s << ")";
    return s.str();
}

inline std::string dtype_str(const py::array& a) {
    return py::str(a.dtype()).cast<std::string>();
}

inline py::array as_array(py::handle obj, const char* name) {
    if (obj.is_none())
        throw py::type_error(std::string(name) + ": expected a numpy.ndarray, got None");
    if (!py::isinstance<py::array>(obj))
        throw py::type_error(std::string(name) + ": expected a numpy.ndarray, got " +
                             py::str(py::type::of(obj).attr("__name__")).cast<std::string>() +
                             "; convert with numpy.asarray(..., dtype=numpy.uint8)");
    return py::reinterpret_borrow<py::array>(obj);
}

// A uint8 image with the array that owns it kept alive.
struct Image {
    py::array owner;
    ImageView<const std::uint8_t> view;
};

// channels: 0 = 2-D gray only; 1 = 2-D gray or HxWx1; 3 = HxWx3; 4 = HxWx4;
// -1 = 2-D gray or HxWxC with C in {1, 3, 4}; kAnyChannels (-4) = 3-D HxWxC with C in 1..4.
constexpr int kAnyChannels = -4;

inline Image require_image(py::handle obj, const char* name, int channels, int min_h = 1,
                           int min_w = 1) {
    py::array a = as_array(obj, name);
    if (a.dtype().kind() != 'u' || a.itemsize() != 1) {
        std::string hint = a.dtype().kind() == 'f'
                               ? "; scale and convert explicitly, e.g. "
                                 "numpy.clip(x * 255, 0, 255).astype(numpy.uint8)"
                               : "; convert explicitly with .astype(numpy.uint8) if the values "
                                 "fit 0..255";
        throw py::type_error(std::string(name) + ": expected dtype uint8, got " + dtype_str(a) +
                             hint);
    }
    std::string expect;
    switch (channels) {
        case 0: expect = "a 2-D (H, W) uint8 array"; break;
        case 1: expect = "a 2-D (H, W) or (H, W, 1) uint8 array"; break;
        case 3: expect = "an (H, W, 3) uint8 array (BGR)"; break;
        case 4: expect = "an (H, W, 4) uint8 array"; break;
        case kAnyChannels: expect = "a 3-D (H, W, C) uint8 array with C in 1..4"; break;
        default: expect = "an (H, W) or (H, W, C) uint8 array with C in {1, 3, 4}"; break;
    }
    int c = 1;
    if (a.ndim() == 2) {
        if (channels == kAnyChannels)
            throw py::value_error(std::string(name) + ": expected " + expect + ", got shape " +
                                  shape_str(a) + " (a 2-D gray image); pass " + name +
                                  "[:, :, None] or use the single-channel function");
        if (channels == 3 || channels == 4)
            throw py::value_error(std::string(name) + ": expected " + expect + ", got shape " +
                                  shape_str(a) + " (a gray image); convert with "
                                  "cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)");
    } else if (a.ndim() == 3) {
        c = static_cast<int>(a.shape(2));
        bool ok = (channels == 1 && c == 1) || (channels == 3 && c == 3) ||
                  (channels == 4 && c == 4) || (channels == -1 && (c == 1 || c == 3 || c == 4)) ||
                  (channels == kAnyChannels && c >= 1 && c <= 4);
        if (!ok)
            throw py::value_error(std::string(name) + ": expected " + expect + ", got shape " +
                                  shape_str(a));
    } else {
        throw py::value_error(std::string(name) + ": expected " + expect + ", got " +
                              std::to_string(a.ndim()) + "-D array of shape " + shape_str(a));
    }
    const py::ssize_t h = a.shape(0), w = a.shape(1);
    if (h < min_h || w < min_w)
        throw py::value_error(std::string(name) + ": image of shape " + shape_str(a) +
                              " is too small; need at least " + std::to_string(min_h) + "x" +
                              std::to_string(min_w) + " pixels (H x W)");
    if (h > (1 << 24) || w > (1 << 24))
        throw py::value_error(std::string(name) + ": image of shape " + shape_str(a) +
                              " is too large (max 16777216 pixels per side)");
    // The stride of a length-1 axis is meaningless (numpy gives img[:, :, None] stride 0).
    const py::ssize_t col_stride = a.strides(1);
    const bool channels_contiguous = a.ndim() == 2 || c == 1 || a.strides(2) == 1;
    const bool pixels_contiguous = channels_contiguous && (w == 1 || col_stride == c);
    if (!pixels_contiguous)
        throw py::value_error(std::string(name) +
                              ": pixels within a row must be contiguous (row strides are fine, "
                              "column/channel strides are not); got strides " +
                              py::str(a.attr("strides")).cast<std::string>() +
                              "; pass numpy.ascontiguousarray(" + name + ")");
    Image img{a, {}};
    img.view.data = static_cast<const std::uint8_t*>(a.data());
    img.view.height = static_cast<int>(h);
    img.view.width = static_cast<int>(w);
    img.view.channels = c;
    img.view.stride = h > 1 ? a.strides(0) : static_cast<std::ptrdiff_t>(w) * c;
    return img;
}

// A real-valued array of an exact shape, copied to float64, all values finite.
// rows < 0 means any number of rows.
inline std::vector<double> require_points(py::handle obj, const char* name, py::ssize_t rows,
                                          py::ssize_t cols) {
    py::array a = as_array(obj, name);
    const char k = a.dtype().kind();
    if (k != 'f' && k != 'i' && k != 'u')
        throw py::type_error(std::string(name) + ": expected a real (float or int) array, got " +
                             dtype_str(a));
    std::ostringstream want;
    want << "(" << (rows < 0 ? std::string("N") : std::to_string(rows)) << ", " << cols << ")";
    if (a.ndim() != 2 || (rows >= 0 && a.shape(0) != rows) || a.shape(1) != cols)
        throw py::value_error(std::string(name) + ": expected shape " + want.str() + ", got " +
                              shape_str(a));
    auto f = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    std::vector<double> out(f.data(), f.data() + f.size());
    for (double v : out)
        if (!std::isfinite(v))
            throw py::value_error(std::string(name) +
                                  ": contains NaN or infinity; pass finite coordinates "
                                  "(drop frames whose landmarks failed)");
    return out;
}

inline double require_finite(double v, const char* name) {
    if (!std::isfinite(v))
        throw py::value_error(std::string(name) + ": must be finite, got " + std::to_string(v));
    return v;
}

}  // namespace fastlive::bind
