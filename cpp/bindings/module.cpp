#include <pybind11/pybind11.h>

#include "bind.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
    m.doc() = "fastlive native core: SIMD kernels for liveness cues (private; use fastlive.kernels)";
    m.attr("__version__") = FASTLIVE_VERSION;
    fastlive::bind::register_simd(m);
    fastlive::bind::register_lbp(m);
    fastlive::bind::register_eye(m);
    fastlive::bind::register_specular(m);
    fastlive::bind::register_warp(m);
}
