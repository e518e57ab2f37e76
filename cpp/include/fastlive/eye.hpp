// Eye aspect ratio and a blink state machine driven by per-frame EAR samples.
//
// EAR (Soukupova & Cech 2016) of the six eye-contour points p1..p6 (p1/p4 the corners,
// p2/p3 upper lid, p6/p5 lower lid):  (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|).
//
// BlinkTracker (one per face track), fed update(t, ear) with strictly increasing t in seconds:
//  * baseline: the `baseline_quantile` quantile of the open-eye EAR samples of the last
//    `baseline_window_s` seconds (at most kMaxWindowSamples samples). Samples taken while a
//    closure is in progress are never added, so closures do not drag the baseline down.
//    The baseline (and so detection) is available once the window holds >= warmup_samples
//    samples spanning >= warmup_s seconds.
//  * noise: once the window holds >= kNoiseMinSamples samples spanning >= kNoiseMinSpan
//    seconds, the EAR's frame-to-frame noise is the median |difference| of consecutive window
//    samples (kNoisePrior x baseline before: a young baseline, e.g. right after a reset, is
//    trusted less). A noisy EAR (a blurred screen replay, a far face) needs a deeper dip:
//    see the thresholds below.
//  * closure: starts when ear < close_thr = min(close_ratio * baseline,
//    baseline - noise_factor * noise) and ends when ear > open_thr = close_thr +
//    (open_ratio - close_ratio) * baseline (hysteresis; the baseline is frozen during a
//    closure). Start and end times are the threshold crossings, linearly interpolated between
//    the two samples around each crossing, so durations do not depend on the frame rate.
//  * a blink that starts within max_duration_s of the previous one, the eye not having
//    reopened clearly in between (above open_thr + noise_factor * noise / 2), continues the
//    previous blink (its end moves) instead of counting again: noise around open_thr does not
//    split one blink into two.
//  * a closure is a blink when min_duration_s <= duration <= max_duration_s and its lowest EAR
//    is <= min(depth_ratio * baseline, baseline - 2 * noise_factor * noise) (a clear closure,
//    not a shallow dip of a turning or tilting head). A closure still open after
//    max_duration_s can no longer be a blink; it ends (without an event) when the eye opens.
//    A timestamp gap longer than max_duration_s cancels a closure in progress, and a closure
//    seen right after such a gap (its start unknown) is not counted either.
//  * a "closure" lasting longer than min(max(level_change_s, max_duration_s),
//    baseline_window_s) is a new open level (the head turned or tilted): the warm-up restarts
//    on the new level, so blinks are found again soon after a pose change. A timestamp gap
//    longer than baseline_window_s restarts the warm-up too.
//  * at most max_events events are kept (the oldest dropped); blink_count counts all.
// No pybind11 here; parameters are validated by validate().
#pragma once
#include <cstddef>
#include <deque>
#include <string>
#include <vector>

namespace fastlive::eye {

// EAR of p[12] = x1, y1, ..., x6, y6. Returns NaN when |p1 - p4| == 0 (degenerate eye).
double eye_aspect_ratio(const double* p);

struct BlinkParams {
    // Defaults for MediaPipe eye contours at 15-60 fps (open EAR ~0.25-0.35, closed ~0.1);
    // fastlive.Config passes its own (tuned on ZJU Eyeblink). Keep every default here.
    double close_ratio = 0.75;        // closure starts below close_ratio * baseline
    double open_ratio = 0.85;         // closure ends above open_ratio * baseline
    double min_duration_s = 0.05;     // shorter closures are noise
    double max_duration_s = 0.7;      // longer closures are eyes shut / looking down
    double baseline_window_s = 4.0;   // baseline memory
    double baseline_quantile = 0.8;   // high quantile of open-eye samples
    double warmup_s = 0.5;            // no detection before the window spans this long ...
    int warmup_samples = 5;           // ... and holds this many samples
    int max_events = 256;             // events kept (blink_count counts all)
    double depth_ratio = 0.7;         // a blink's lowest EAR is <= depth_ratio * baseline
    double noise_factor = 2.0;        // thresholds sit >= this many noise units below baseline
    double level_change_s = 2.0;      // a longer "closure" is a new open level (pose)
};

// the noise is measured once the window holds this many samples spanning this long
constexpr std::size_t kNoiseMinSamples = 5;
constexpr double kNoiseMinSpan = 0.3;
constexpr double kNoisePrior = 0.07;  // noise assumed before it is measured (x baseline)

// Empty string when valid, otherwise "name: reason" for the first bad parameter.
std::string validate(const BlinkParams& p);

constexpr std::size_t kMaxWindowSamples = 1024;

struct BlinkEvent {
    double start_s = 0, end_s = 0, min_ear = 0;
    double duration_s() const { return end_s - start_s; }
};

class BlinkTracker {
public:
    explicit BlinkTracker(const BlinkParams& p = BlinkParams());
    // Caller guarantees finite t > last t and finite ear >= 0. Returns true when a blink
    // completed on this sample.
    bool update(double t, double ear);
    void reset();

    const BlinkParams& params() const { return p_; }
    bool warm() const { return warm_; }
    double baseline() const { return baseline_; }  // NaN before warm-up
    double noise() const { return noise_; }        // 0 before warm-up
    double close_threshold() const;                // NaN before warm-up
    bool is_closed() const { return closed_; }
    long long blink_count() const { return count_; }
    long long samples() const { return n_samples_; }
    double last_t() const { return last_t_; }
    bool has_last() const { return has_last_; }
    const std::deque<BlinkEvent>& events() const { return events_; }

private:
    struct Sample { double t, ear; };
    void add_to_window(double t, double ear);
    void refresh_baseline(double t);

    BlinkParams p_;
    std::deque<Sample> window_;
    std::vector<double> scratch_;
    std::deque<BlinkEvent> events_;
    double baseline_;
    double noise_ = 0;
    bool warm_ = false;
    bool closed_ = false;
    bool closure_valid_ = false;
    bool after_event_ = false;  // no clear reopening since the last blink yet
    double close_start_ = 0, close_min_ = 0;
    double last_t_ = 0, last_ear_ = 0;
    bool has_last_ = false;
    long long count_ = 0, n_samples_ = 0;
};

}  // namespace fastlive::eye
