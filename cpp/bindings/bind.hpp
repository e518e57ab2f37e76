// The shared helpers of the bindings: strict scalar types, where Python objects become kernel
// views, and range checks. Refuse, don't cast: every check raises TypeError (wrong type or
// dtype) or ValueError (wrong shape, size, layout or value) naming the argument, what was
// expected, what was received and how to fix it. Scalars arrive typed (Index, Real, bool,
// std::string, pairs and triples of them); when pybind11 cannot convert one, its TypeError does
// not say which, and python/fastlive/kernels.py names it.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fastlive/image_view.hpp"

namespace fastlive::bind {
namespace py = pybind11;

// One register_*.cpp per kernel family; module.cpp calls each once.
void register_simd(py::module_& m);      // register_simd.cpp
void register_lbp(py::module_& m);       // register_lbp.cpp
void register_eye(py::module_& m);       // register_eye.cpp (EAR, BlinkTracker)
void register_specular(py::module_& m);  // register_specular.cpp
void register_warp(py::module_& m);      // register_warp.cpp (aligned crops, area resampling)

// The name of an object's type, as Python prints it ("int", "NoneType", "ndarray").
inline std::string type_name(py::handle obj) {
    return py::str(py::type::of(obj).attr("__name__")).cast<std::string>();
}

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

inline std::string strides_str(const py::array& a) {
    return py::str(a.attr("strides")).cast<std::string>();
}

// Runs fn() without the GIL: the compute of a binding, after every Python object was read.
template <class Fn>
decltype(auto) without_gil(Fn&& fn) {
    py::gil_scoped_release release;
    return fn();
}

inline py::array as_array(py::handle obj, const char* name) {
    if (obj.is_none())
        throw py::type_error(std::string(name) + ": expected a numpy.ndarray, got None");
    if (!py::isinstance<py::array>(obj))
        throw py::type_error(std::string(name) + ": expected a numpy.ndarray, got " +
                             type_name(obj) +
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

// allow_bool: a bool array is read as its 0/1 bytes (masks).
inline Image require_image(py::handle obj, const char* name, int channels, int min_h = 1,
                           int min_w = 1, bool allow_bool = false) {
    py::array a = as_array(obj, name);
    const char kind = a.dtype().kind();
    if (!((kind == 'u' || (allow_bool && kind == 'b')) && a.itemsize() == 1)) {
        std::string hint = kind == 'f'
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
                              "column/channel strides are not); got strides " + strides_str(a) +
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

// v in lo..hi, else ValueError "name: must be in lo..hi (what), got v".
inline int require_range(long long v, long long lo, long long hi, const char* name,
                         const char* what) {
    if (v < lo || v > hi)
        throw py::value_error(std::string(name) + ": must be in " + std::to_string(lo) + ".." +
                              std::to_string(hi) + " (" + what + "), got " + std::to_string(v));
    return static_cast<int>(v);
}

inline double require_finite(double v, const char* name) {
    if (!std::isfinite(v))
        throw py::value_error(std::string(name) + ": must be finite, got " + std::to_string(v));
    return v;
}

// A str argument that must be one of names: its index. TypeError when it is not a str,
// ValueError "name: unknown value 's'; choose <choices>" when it is another one.
inline int require_choice(py::handle value, std::initializer_list<const char*> names,
                          const char* name, const char* choices) {
    if (!PyUnicode_Check(value.ptr()))
        throw py::type_error(std::string(name) + ": expected the str " + choices + ", got " +
                             type_name(value));
    int i = 0;
    for (const char* n : names) {
        if (PyUnicode_CompareWithASCIIString(value.ptr(), n) == 0) return i;
        ++i;
    }
    throw py::value_error(std::string(name) + ": unknown value '" +
                          py::str(value).cast<std::string>() + "'; choose " + choices);
}

}  // namespace fastlive::bind

// -- strict scalars ------------------------------------------------------------------------------
namespace fastlive::bind {

// An integer argument: a Python or numpy integer (anything with __index__), never a bool or a
// float, within long long.
struct Index {
    long long value = 0;
    operator long long() const { return value; }  // NOLINT: reads as the integer it holds
};

// A real-number argument: a Python or numpy int or float (anything with __float__), never a
// bool or a string.
struct Real {
    double value = 0.0;
    operator double() const { return value; }  // NOLINT: reads as the number it holds
};

inline bool is_bool(PyObject* o) {
    const char* t = Py_TYPE(o)->tp_name;
    return PyBool_Check(o) || std::strcmp(t, "numpy.bool") == 0 ||
           std::strcmp(t, "numpy.bool_") == 0;
}

}  // namespace fastlive::bind

namespace pybind11::detail {

template <>
struct type_caster<fastlive::bind::Index> {
    PYBIND11_TYPE_CASTER(fastlive::bind::Index, const_name("int"));
    bool load(handle src, bool) {
        if (!src || fastlive::bind::is_bool(src.ptr()) || PyFloat_Check(src.ptr())) return false;
        PyObject* i = PyNumber_Index(src.ptr());
        if (!i) {
            PyErr_Clear();
            return false;
        }
        int overflow = 0;
        value.value = PyLong_AsLongLongAndOverflow(i, &overflow);
        Py_DECREF(i);
        return overflow == 0;
    }
    static handle cast(fastlive::bind::Index v, return_value_policy, handle) {
        return PyLong_FromLongLong(v.value);
    }
};

template <>
struct type_caster<fastlive::bind::Real> {
    PYBIND11_TYPE_CASTER(fastlive::bind::Real, const_name("float"));
    bool load(handle src, bool) {
        PyObject* o = src.ptr();
        if (!o || fastlive::bind::is_bool(o) || PyUnicode_Check(o) || PyBytes_Check(o))
            return false;
        const double d = PyFloat_AsDouble(o);
        if (d == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return false;
        }
        value.value = d;
        return true;
    }
    static handle cast(fastlive::bind::Real v, return_value_policy, handle) {
        return PyFloat_FromDouble(v.value);
    }
};

}  // namespace pybind11::detail
