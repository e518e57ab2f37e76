#include "register.hpp"

namespace fastlive::bind {

void register_lbp(pybind11::module_& m) { (void)m; }

}  // namespace fastlive::bind
