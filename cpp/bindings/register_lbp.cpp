// Python bindings for the LBP kernels: validate, allocate, release the GIL for compute only.
#include <pybind11/numpy.h>

#include <string>

#include "arrays.hpp"
#include "fastlive/dispatch.hpp"
#include "fastlive/lbp.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace fastlive::bind {
namespace {

std::string type_name(py::handle obj) {
    return py::str(py::type::of(obj).attr("__name__")).cast<std::string>();
}

std::string repr_of(py::handle obj) { return py::repr(obj).cast<std::string>(); }

// A Python int or numpy integer, not a bool.
bool is_int(py::handle obj) {
    if (py::isinstance<py::bool_>(obj)) return false;
    if (py::isinstance<py::int_>(obj)) return true;
    return py::isinstance(obj, py::module_::import("numpy").attr("integer"));
}

int require_radius(py::handle obj) {
    if (!is_int(obj))
        throw py::type_error("radius: expected the int 1 or 2, got " + type_name(obj) + " " +
                             repr_of(obj));
    const long long r = obj.cast<long long>();
    if (r != 1 && r != 2)
        throw py::value_error("radius: must be 1 or 2 (square ring of 8 neighbours at that "
                              "distance), got " + std::to_string(r));
    return static_cast<int>(r);
}

int require_slack(py::handle obj) {
    if (!is_int(obj))
        throw py::type_error("slack: expected an int from 0 to 255 (grey levels a neighbour may "
                             "lie below the centre and still set its bit), got " +
                             type_name(obj) + " " + repr_of(obj));
    const long long s = obj.cast<long long>();
    if (s < 0 || s > 255)
        throw py::value_error("slack: must be an int from 0 to 255 (0: plain LBP), got " +
                              std::to_string(s));
    return static_cast<int>(s);
}

bool require_uniform(py::handle obj) {
    if (!py::isinstance<py::str>(obj))
        throw py::type_error("mapping: expected the str 'uniform' or 'default', got " +
                             type_name(obj));
    const std::string m = obj.cast<std::string>();
    if (m == "uniform") return true;
    if (m == "default") return false;
    throw py::value_error("mapping: unknown mapping '" + m +
                          "'; use 'uniform' (59 bins) or 'default' (256 bins)");
}

bool require_bool(py::handle obj, const char* name) {
    if (py::isinstance<py::bool_>(obj)) return obj.cast<bool>();
    if (py::hasattr(obj, "dtype") && py::str(obj.attr("dtype")).cast<std::string>() == "bool" &&
        py::hasattr(obj, "ndim") && obj.attr("ndim").cast<int>() == 0)
        return obj.cast<bool>();
    throw py::type_error(std::string(name) + ": expected True or False, got " + type_name(obj) +
                         " " + repr_of(obj));
}

struct Grid {
    int gy, gx;
};

// grid: a pair (gy, gx) of positive ints, each at most the code image size along its axis.
Grid require_grid(py::handle obj, int hc, int wc) {
    if (!py::isinstance<py::tuple>(obj) && !py::isinstance<py::list>(obj))
        throw py::type_error("grid: expected a pair (rows, cols) of positive ints, e.g. (4, 4); "
                             "got " + type_name(obj) + " " + repr_of(obj));
    py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
    if (seq.size() != 2)
        throw py::value_error("grid: expected a pair (rows, cols) of positive ints, e.g. (4, 4); "
                              "got " + std::to_string(seq.size()) + " values " + repr_of(obj));
    long long g[2];
    for (int k = 0; k < 2; ++k) {
        py::object v = seq[k];
        if (!is_int(v))
            throw py::type_error("grid: expected a pair (rows, cols) of positive ints, e.g. "
                                 "(4, 4); element " + std::to_string(k) + " is " +
                                 type_name(v) + " " + repr_of(v));
        g[k] = v.cast<long long>();
        if (g[k] < 1)
            throw py::value_error("grid: cell counts must be positive ints, e.g. (4, 4); got " +
                                  repr_of(obj));
    }
    if (g[0] > hc || g[1] > wc)
        throw py::value_error("grid: " + repr_of(obj) + " is larger than the " +
                              std::to_string(hc) + "x" + std::to_string(wc) +
                              " code image (H - 2*radius, W - 2*radius), so some cells would "
                              "be empty; use a smaller grid or a larger image");
    return {static_cast<int>(g[0]), static_cast<int>(g[1])};
}

py::array_t<std::uint8_t> lbp_codes(py::handle gray, py::handle radius_obj,
                                    py::handle slack_obj) {
    const int r = require_radius(radius_obj);
    const int slack = require_slack(slack_obj);
    Image img = require_image(gray, "gray", 0, 2 * r + 1, 2 * r + 1);
    const int hc = img.view.height - 2 * r, wc = img.view.width - 2 * r;
    py::array_t<std::uint8_t> out({static_cast<py::ssize_t>(hc), static_cast<py::ssize_t>(wc)});
    std::uint8_t* dst = out.mutable_data();
    const Isa isa = active_isa();
    {
        py::gil_scoped_release release;
        lbp::codes(img.view, 0, r, slack, dst, wc, isa);
    }
    return out;
}

py::array_t<float> lbp_hist(py::handle image, py::handle grid_obj, py::handle mapping_obj,
                            py::handle normalize_obj, py::handle radius_obj,
                            py::handle slack_obj, bool multi) {
    const int r = require_radius(radius_obj);
    const int slack = require_slack(slack_obj);
    Image img = multi ? require_image(image, "image", kAnyChannels, 2 * r + 1, 2 * r + 1)
                      : require_image(image, "gray", 0, 2 * r + 1, 2 * r + 1);
    const Grid g = require_grid(grid_obj, img.view.height - 2 * r, img.view.width - 2 * r);
    const bool uniform = require_uniform(mapping_obj);
    const bool normalize = require_bool(normalize_obj, "normalize");
    const int channels = img.view.channels;
    const std::size_t per = lbp::histogram_size(g.gy, g.gx, uniform);
    py::array_t<float> out(static_cast<py::ssize_t>(per * channels));
    float* dst = out.mutable_data();
    const Isa isa = active_isa();
    {
        py::gil_scoped_release release;
        lbp::histogram(img.view, r, slack, g.gy, g.gx, uniform, normalize, dst, isa);
    }
    return out;
}

}  // namespace

void register_lbp(py::module_& m) {
    m.attr("LBP_UNIFORM_BINS") = lbp::kUniformBins;

    m.def("lbp_codes", &lbp_codes, py::arg("gray"), py::arg("radius") = 1, py::kw_only(),
          py::arg("slack") = 0,
          R"doc(LBP(8, r) codes of a 2-D uint8 image -> uint8 array of shape (H - 2r, W - 2r).

Bit k (value 2**k) is set when neighbour k >= the centre (with slack s: >= centre - s, the
centre floored at 0, so a neighbour up to s grey levels darker still sets its bit; 0..255,
keyword only); neighbours (dy, dx) in the order
(-1,-1), (-1,0), (-1,+1), (0,+1), (+1,+1), (+1,0), (+1,-1), (0,-1) (clockwise from the top-left),
multiplied by radius. radius=2 uses a square ring (offsets times 2, no interpolation), not the
circular LBP(8, 2). Any row stride is accepted (views are not copied); pixels within a row must be
contiguous. Raises TypeError for a non-uint8 array, ValueError for a bad shape/radius.)doc");

    m.def("lbp_histogram",
          [](py::handle gray, py::handle grid, py::handle mapping, py::handle normalize,
             py::handle radius, py::handle slack) {
              return lbp_hist(gray, grid, mapping, normalize, radius, slack, false);
          },
          py::arg("gray"), py::arg("grid") = py::make_tuple(1, 1), py::arg("mapping") = "uniform",
          py::arg("normalize") = true, py::arg("radius") = 1, py::kw_only(), py::arg("slack") = 0,
          R"doc(Per-cell LBP histograms of a 2-D uint8 image -> float32[gy * gx * bins].

Codes as in lbp_codes(gray, radius, slack=slack), split into grid = (gy, gx) cells (cell row i spans code rows
floor(i * Hc / gy) .. floor((i + 1) * Hc / gy), the same for columns), cells in row-major order.
mapping "uniform": 59 bins (the 58 uniform codes in ascending order, then all others);
"default": 256 bins. normalize=True makes each cell sum to 1, otherwise raw counts.)doc");

    m.def("lbp_histogram_multi",
          [](py::handle image, py::handle grid, py::handle mapping, py::handle normalize,
             py::handle radius, py::handle slack) {
              return lbp_hist(image, grid, mapping, normalize, radius, slack, true);
          },
          py::arg("image"), py::arg("grid") = py::make_tuple(1, 1),
          py::arg("mapping") = "uniform", py::arg("normalize") = true, py::arg("radius") = 1,
          py::kw_only(), py::arg("slack") = 0,
          R"doc(LBP histograms of each channel of an (H, W, C) uint8 image, C in 1..4.

Returns float32[C * gy * gx * bins]: channel-major, then cells row-major, then bins; channel c
equals lbp_histogram(image[:, :, c], ...). Channels are de-interleaved inside the kernel (no
per-channel copy of the image).)doc");
}

}  // namespace fastlive::bind
