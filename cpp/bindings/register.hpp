#pragma once
#include <pybind11/pybind11.h>

namespace fastlive::bind {
void register_simd(pybind11::module_& m);      // register_simd.cpp
void register_lbp(pybind11::module_& m);       // register_lbp.cpp
void register_eye(pybind11::module_& m);       // register_eye.cpp (EAR, BlinkTracker)
void register_specular(pybind11::module_& m);  // register_specular.cpp
void register_warp(pybind11::module_& m);      // register_warp.cpp (normalize, aligned crops)
}  // namespace fastlive::bind
