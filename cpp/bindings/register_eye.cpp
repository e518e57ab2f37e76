// eye_aspect_ratio and BlinkTracker (see eye.hpp for the state machine).
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "bind.hpp"
#include "fastlive/eye.hpp"

namespace py = pybind11;

namespace fastlive::bind {
namespace {

double ear_of(py::handle points) {
    std::vector<double> p = require_points(points, "points", 6, 2);
    const double e = eye::eye_aspect_ratio(p.data());
    if (!std::isfinite(e))
        throw py::value_error("points: p1 and p4 (rows 0 and 3, the eye corners) coincide or "
                              "nearly so (the ratio is not finite), so the eye is degenerate; "
                              "skip this frame's eye");
    return e;
}

std::string repr_event(const eye::BlinkEvent& e) {
    std::ostringstream s;
    s.precision(6);
    s << "BlinkEvent(start_s=" << e.start_s << ", end_s=" << e.end_s
      << ", duration_s=" << e.duration_s() << ", min_ear=" << e.min_ear << ")";
    return s.str();
}

}  // namespace

void register_eye(py::module_& m) {
    m.def("eye_aspect_ratio", &ear_of, py::arg("points"),
          "Eye aspect ratio of a (6, 2) real array (fastlive.kernels).");

    py::class_<eye::BlinkEvent>(m, "BlinkEvent", "One completed blink (times in seconds).")
        .def(py::init([](double start_s, double end_s, double min_ear) {
                 require_finite(start_s, "start_s");
                 require_finite(end_s, "end_s");
                 require_finite(min_ear, "min_ear");
                 if (end_s < start_s)
                     throw py::value_error("end_s: must be >= start_s, got " +
                                           std::to_string(end_s) + " < " +
                                           std::to_string(start_s));
                 return eye::BlinkEvent{start_s, end_s, min_ear};
             }),
             py::arg("start_s"), py::arg("end_s"), py::arg("min_ear"))
        .def_readonly("start_s", &eye::BlinkEvent::start_s, "closure start (interpolated)")
        .def_readonly("end_s", &eye::BlinkEvent::end_s, "reopening time (interpolated)")
        .def_readonly("min_ear", &eye::BlinkEvent::min_ear, "lowest EAR during the closure")
        .def_property_readonly("duration_s", &eye::BlinkEvent::duration_s)
        .def("__repr__", &repr_event);

    const eye::BlinkParams d;
    py::class_<eye::BlinkTracker>(m, "BlinkTracker", R"doc(Blink detector for one face track.

Feed update(timestamp_s, ear) once per frame with strictly increasing timestamps (seconds).
The open-eye baseline is a high quantile of recent open-eye EAR samples and the noise the
median frame-to-frame change of those samples (0.07 x baseline until 5 samples span 0.3 s:
a young baseline is trusted less). A closure starts
below min(close_ratio * baseline, baseline - noise_factor * noise) and ends (open_ratio -
close_ratio) * baseline above that, with crossing times interpolated between samples; it
counts as a blink when its duration lies in [min_duration_s, max_duration_s] and its lowest
EAR is at most min(depth_ratio * baseline, baseline - 2 * noise_factor * noise); one that
follows the previous blink without a clear reopening (noise_factor * noise / 2 above the end
threshold) continues it instead of counting again. A timestamp
gap longer than max_duration_s cancels a closure in progress; a "closure" longer than
level_change_s (at least max_duration_s, at most baseline_window_s: a new open level, e.g. the
head turned) or a gap longer than baseline_window_s restarts the warm-up. Defaults suit
MediaPipe eye contours at 15-60 fps.)doc")
        .def(py::init([](double close_ratio, double open_ratio, double min_duration_s,
                         double max_duration_s, double baseline_window_s,
                         double baseline_quantile, double warmup_s, int warmup_samples,
                         int max_events, double depth_ratio, double noise_factor,
                         double level_change_s) {
                 eye::BlinkParams p;
                 p.close_ratio = close_ratio;
                 p.open_ratio = open_ratio;
                 p.min_duration_s = min_duration_s;
                 p.max_duration_s = max_duration_s;
                 p.baseline_window_s = baseline_window_s;
                 p.baseline_quantile = baseline_quantile;
                 p.warmup_s = warmup_s;
                 p.warmup_samples = warmup_samples;
                 p.max_events = max_events;
                 p.depth_ratio = depth_ratio;
                 p.noise_factor = noise_factor;
                 p.level_change_s = level_change_s;
                 const std::string err = eye::validate(p);
                 if (!err.empty()) throw py::value_error(err);
                 return eye::BlinkTracker(p);
             }),
             py::kw_only(), py::arg("close_ratio") = d.close_ratio,
             py::arg("open_ratio") = d.open_ratio, py::arg("min_duration_s") = d.min_duration_s,
             py::arg("max_duration_s") = d.max_duration_s,
             py::arg("baseline_window_s") = d.baseline_window_s,
             py::arg("baseline_quantile") = d.baseline_quantile,
             py::arg("warmup_s") = d.warmup_s, py::arg("warmup_samples") = d.warmup_samples,
             py::arg("max_events") = d.max_events, py::arg("depth_ratio") = d.depth_ratio,
             py::arg("noise_factor") = d.noise_factor,
             py::arg("level_change_s") = d.level_change_s)
        .def(
            "update",
            [](eye::BlinkTracker& self, double timestamp_s, double ear) {
                if (!std::isfinite(timestamp_s))
                    throw py::value_error("timestamp_s: must be finite, got " +
                                          std::to_string(timestamp_s));
                if (self.has_last() && !(timestamp_s > self.last_t()))
                    throw py::value_error(
                        "timestamp_s: must be strictly increasing; got " +
                        std::to_string(timestamp_s) + " after " + std::to_string(self.last_t()) +
                        " (use one tracker per face track, or reset() on a new stream)");
                if (!std::isfinite(ear) || ear < 0.0)
                    throw py::value_error("ear: must be a finite value >= 0, got " +
                                          std::to_string(ear) +
                                          " (skip frames whose landmarks failed)");
                return self.update(timestamp_s, ear);
            },
            py::arg("timestamp_s"), py::arg("ear"),
            "Feed one frame; returns True when a blink completed on this call.")
        .def("reset", &eye::BlinkTracker::reset, "Forget everything (new stream).")
        .def_property_readonly("blink_count", &eye::BlinkTracker::blink_count,
                               "blinks detected since construction/reset (all of them)")
        .def_property_readonly(
            "events",
            [](const eye::BlinkTracker& self) {
                return std::vector<eye::BlinkEvent>(self.events().begin(), self.events().end());
            },
            "the last max_events blinks, oldest first (a copy)")
        .def_property_readonly(
            "baseline",
            [](const eye::BlinkTracker& self) -> py::object {
                if (!self.warm()) return py::none();
                return py::float_(self.baseline());
            },
            "open-eye EAR baseline, None before warm-up")
        .def_property_readonly("is_closed", &eye::BlinkTracker::is_closed,
                               "a closure is in progress")
        .def_property_readonly(
            "noise",
            [](const eye::BlinkTracker& self) -> py::object {
                if (!self.warm()) return py::none();
                return py::float_(self.noise());
            },
            "frame-to-frame EAR noise of the open-eye window (0.07 x baseline until 5 samples "
            "span 0.3 s), "
            "None before warm-up")
        .def_property_readonly(
            "close_threshold",
            [](const eye::BlinkTracker& self) -> py::object {
                if (!self.warm()) return py::none();
                return py::float_(self.close_threshold());
            },
            "EAR below which a closure starts, None before warm-up")
        .def_property_readonly("n_samples", &eye::BlinkTracker::samples,
                               "samples fed since construction/reset")
        .def_property_readonly("params", [](const eye::BlinkTracker& self) {
            const eye::BlinkParams& p = self.params();
            py::dict d;
            d["close_ratio"] = p.close_ratio;
            d["open_ratio"] = p.open_ratio;
            d["min_duration_s"] = p.min_duration_s;
            d["max_duration_s"] = p.max_duration_s;
            d["baseline_window_s"] = p.baseline_window_s;
            d["baseline_quantile"] = p.baseline_quantile;
            d["warmup_s"] = p.warmup_s;
            d["warmup_samples"] = p.warmup_samples;
            d["max_events"] = p.max_events;
            d["depth_ratio"] = p.depth_ratio;
            d["noise_factor"] = p.noise_factor;
            d["level_change_s"] = p.level_change_s;
            return d;
        }, "the constructor keywords, as a dict")
        .def("__repr__", [](const eye::BlinkTracker& self) {
            std::ostringstream s;
            s << "BlinkTracker(blink_count=" << self.blink_count()
              << ", is_closed=" << (self.is_closed() ? "True" : "False") << ", baseline=";
            if (self.warm()) s << self.baseline(); else s << "None";
            s << ")";
            return s.str();
        });
}

}  // namespace fastlive::bind
