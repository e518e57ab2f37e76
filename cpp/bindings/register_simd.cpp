#include <pybind11/stl.h>

#include "bind.hpp"
#include "fastlive/dispatch.hpp"

namespace py = pybind11;

namespace fastlive::bind {

void register_simd(py::module_& m) {
    m.def("simd_info", [] {
        py::dict d;
        py::list compiled, supported;
        for (Isa i : compiled_isas()) compiled.append(isa_name(i));
        for (Isa i : supported_isas()) supported.append(isa_name(i));
        d["compiled"] = compiled;
        d["supported"] = supported;
        d["active"] = isa_name(active_isa());
        d["note"] = dispatch_note();
        return d;
    }, "Which SIMD paths are compiled in, supported by this CPU, and active.");
    m.def("_set_isa", [](const std::string& name) { set_active_isa(isa_from_name(name)); },
          py::arg("name"),
          "Testing hook: switch the active ISA for this process ('scalar' or 'avx2').");
}

}  // namespace fastlive::bind
