#include "register.hpp"

namespace fastlive::bind {

void register_specular(pybind11::module_& m) { (void)m; }

}  // namespace fastlive::bind
