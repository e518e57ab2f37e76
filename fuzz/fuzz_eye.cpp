// libFuzzer harness: eye aspect ratio and the BlinkTracker state machine (fastlive/eye.hpp).
//
// EAR on arbitrary finite coordinates (raw IEEE bits included); BlinkTracker with fuzzed
// parameters (only those validate() accepts, as the binding does) fed up to ~2000 samples with
// strictly increasing timestamps (tiny and huge gaps) and finite EAR >= 0. Checks: EAR is NaN
// (degenerate eye, refused by the binding) or >= 0; blink events respect the documented
// duration bounds and ordering, at most max_events are kept, blink_count >= events kept, the
// baseline is finite once warm, and reset() returns to the initial state.
#include <cmath>
#include <vector>

#include "common.hpp"
#include "fastlive/eye.hpp"

namespace eye = fastlive::eye;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Reader rd(data, size);
    {
        double p[12];
        bool finite = true;
        for (double& v : p) {
            v = rd.real(64.0);
            finite = finite && std::isfinite(v);
        }
        if (finite) {
            const double e = eye::eye_aspect_ratio(p);
            fuzz::check(std::isnan(e) || e >= 0.0, "EAR negative");
        }
    }
    eye::BlinkParams prm;
    if (rd.u8() & 1) {  // fuzzed parameters, else the defaults
        prm.close_ratio = rd.real(256.0);
        prm.open_ratio = rd.real(256.0);
        prm.min_duration_s = rd.real(1024.0);
        prm.max_duration_s = rd.real(1024.0);
        prm.baseline_window_s = rd.real(256.0);
        prm.baseline_quantile = rd.real(256.0);
        prm.warmup_s = rd.real(1024.0);
        prm.warmup_samples = static_cast<int>(rd.u16()) - 8;
        prm.max_events = static_cast<int>(rd.u16() % 300) - 2;
    }
    if (!eye::validate(prm).empty()) return 0;
    eye::BlinkTracker tr(prm);
    double t = rd.real(16.0);
    if (!std::isfinite(t)) t = 0.0;
    const int steps = 1 + rd.u16() % 2000;
    for (int i = 0; i < steps; ++i) {
        const std::uint8_t kind = rd.u8();
        double dt;
        if (kind < 200) dt = (1 + (kind % 64)) / 240.0;       // 4 ms .. 267 ms
        else if (kind < 250) dt = (kind - 199) * 0.5;          // gaps 0.5 .. 25 s
        else dt = std::ldexp(1.0, -(kind - 240));              // tiny gaps
        const double nt = t + dt;
        if (!(nt > t) || !std::isfinite(nt)) break;  // the binding refuses non-increasing t
        t = nt;
        const std::uint8_t e = rd.u8();
        const double ear = e < 250 ? e / 500.0 : std::ldexp(1.0, e - 200);  // up to 2**55
        const bool ev = tr.update(t, ear);
        fuzz::check(tr.samples() == i + 1, "sample count");
        fuzz::check(static_cast<long long>(tr.events().size()) <= prm.max_events,
                    "more events kept than max_events");
        fuzz::check(tr.blink_count() >= static_cast<long long>(tr.events().size()),
                    "blink_count < events kept");
        if (tr.warm()) fuzz::check(std::isfinite(tr.baseline()), "warm baseline not finite");
        if (ev) {
            const eye::BlinkEvent& b = tr.events().back();
            const double d = b.duration_s();
            fuzz::check(std::isfinite(b.start_s) && std::isfinite(b.end_s), "event not finite");
            fuzz::check(b.start_s <= b.end_s && b.end_s <= t + 1e-9, "event out of order");
            fuzz::check(d >= prm.min_duration_s - 1e-9 && d <= prm.max_duration_s + 1e-9,
                        "event duration outside [min_duration_s, max_duration_s]");
            fuzz::check(b.min_ear >= 0.0, "event min_ear negative");
        }
    }
    tr.reset();
    fuzz::check(tr.blink_count() == 0 && tr.events().empty() && !tr.warm() && !tr.is_closed() &&
                    tr.samples() == 0,
                "reset() does not restore the initial state");
    return 0;
}
