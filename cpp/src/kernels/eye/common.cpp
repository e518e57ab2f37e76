// EAR and the blink state machine (plain C++, no SIMD: a handful of flops per frame).
#include <algorithm>
#include <cmath>
#include <limits>

#include "fastlive/eye.hpp"

namespace fastlive::eye {

double eye_aspect_ratio(const double* p) {
    auto dist = [p](int i, int j) {
        return std::hypot(p[2 * i] - p[2 * j], p[2 * i + 1] - p[2 * j + 1]);
    };
    const double horiz = dist(0, 3);
    if (!(horiz > 0.0)) return std::numeric_limits<double>::quiet_NaN();
    return (dist(1, 5) + dist(2, 4)) / (2.0 * horiz);
}

std::string validate(const BlinkParams& p) {
    auto bad = [](const char* name, double v, const char* want) {
        return std::string(name) + ": must be " + want + ", got " + std::to_string(v);
    };
    auto finite = [](double v) { return std::isfinite(v); };
    if (!(finite(p.close_ratio) && p.close_ratio > 0.0 && p.close_ratio < 1.0))
        return bad("close_ratio", p.close_ratio, "in (0, 1)");
    if (!(finite(p.open_ratio) && p.open_ratio > p.close_ratio && p.open_ratio <= 1.0))
        return bad("open_ratio", p.open_ratio, "in (close_ratio, 1] (hysteresis)");
    if (!(finite(p.min_duration_s) && p.min_duration_s >= 0.0 && p.min_duration_s <= 10.0))
        return bad("min_duration_s", p.min_duration_s, "in [0, 10] seconds");
    if (!(finite(p.max_duration_s) && p.max_duration_s > p.min_duration_s &&
          p.max_duration_s <= 60.0))
        return bad("max_duration_s", p.max_duration_s, "in (min_duration_s, 60] seconds");
    if (!(finite(p.baseline_window_s) && p.baseline_window_s > 0.0 &&
          p.baseline_window_s <= 3600.0))
        return bad("baseline_window_s", p.baseline_window_s, "in (0, 3600] seconds");
    if (!(finite(p.baseline_quantile) && p.baseline_quantile >= 0.5 &&
          p.baseline_quantile <= 1.0))
        return bad("baseline_quantile", p.baseline_quantile, "in [0.5, 1]");
    if (!(finite(p.warmup_s) && p.warmup_s >= 0.0 && p.warmup_s <= p.baseline_window_s))
        return bad("warmup_s", p.warmup_s, "in [0, baseline_window_s] seconds");
    if (!(p.warmup_samples >= 1 && p.warmup_samples <= static_cast<int>(kMaxWindowSamples)))
        return bad("warmup_samples", p.warmup_samples, "in [1, 1024]");
    if (!(p.max_events >= 1 && p.max_events <= 1000000))
        return bad("max_events", p.max_events, "in [1, 1000000]");
    if (!(finite(p.depth_ratio) && p.depth_ratio > 0.0 && p.depth_ratio <= 1.0))
        return bad("depth_ratio", p.depth_ratio, "in (0, 1]");
    if (!(finite(p.noise_factor) && p.noise_factor >= 0.0 && p.noise_factor <= 100.0))
        return bad("noise_factor", p.noise_factor, "in [0, 100]");
    if (!(finite(p.level_change_s) && p.level_change_s > 0.0 && p.level_change_s <= 3600.0))
        return bad("level_change_s", p.level_change_s, "in (0, 3600] seconds");
    return {};
}

BlinkTracker::BlinkTracker(const BlinkParams& p)
    : p_(p), baseline_(std::numeric_limits<double>::quiet_NaN()) {}

void BlinkTracker::reset() {
    window_.clear();
    events_.clear();
    baseline_ = std::numeric_limits<double>::quiet_NaN();
    noise_ = 0;
    warm_ = closed_ = closure_valid_ = has_last_ = after_event_ = false;
    close_start_ = close_min_ = last_t_ = last_ear_ = 0;
    count_ = n_samples_ = 0;
}

void BlinkTracker::add_to_window(double t, double ear) {
    window_.push_back({t, ear});
    if (window_.size() > kMaxWindowSamples) window_.pop_front();
}

void BlinkTracker::refresh_baseline(double t) {
    while (!window_.empty() && window_.front().t < t - p_.baseline_window_s) window_.pop_front();
    if (!warm_) {
        if (window_.empty() || static_cast<int>(window_.size()) < p_.warmup_samples ||
            window_.back().t - window_.front().t < p_.warmup_s)
            return;
        warm_ = true;
    }
    if (window_.empty()) return;  // keep the last baseline
    scratch_.resize(window_.size());
    for (std::size_t i = 0; i < window_.size(); ++i) scratch_[i] = window_[i].ear;
    // Quantile with linear interpolation between order statistics (numpy's default).
    const double pos = p_.baseline_quantile * static_cast<double>(scratch_.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
    const double frac = pos - static_cast<double>(lo);
    std::nth_element(scratch_.begin(), scratch_.begin() + lo, scratch_.end());
    double v = scratch_[lo];
    if (frac > 0.0 && lo + 1 < scratch_.size()) {
        const double hi = *std::min_element(scratch_.begin() + lo + 1, scratch_.end());
        v += frac * (hi - v);
    }
    baseline_ = v;
    // noise: median |difference| of consecutive window samples (time order); a young window
    // (too few samples to measure it) assumes kNoisePrior x baseline
    noise_ = kNoisePrior * baseline_;
    if (window_.size() >= kNoiseMinSamples &&
        window_.back().t - window_.front().t >= kNoiseMinSpan) {
        scratch_.resize(window_.size() - 1);
        for (std::size_t i = 1; i < window_.size(); ++i)
            scratch_[i - 1] = std::fabs(window_[i].ear - window_[i - 1].ear);
        const std::size_t mid = scratch_.size() / 2;
        std::nth_element(scratch_.begin(), scratch_.begin() + mid, scratch_.end());
        noise_ = scratch_[mid];
    }
}

double BlinkTracker::close_threshold() const {
    if (!warm_) return std::numeric_limits<double>::quiet_NaN();
    return std::min(p_.close_ratio * baseline_, baseline_ - p_.noise_factor * noise_);
}

bool BlinkTracker::update(double t, double ear) {
    ++n_samples_;
    const bool gap = has_last_ && t - last_t_ > p_.max_duration_s;
    if (has_last_ && t - last_t_ > p_.baseline_window_s) {  // long gap: start over
        window_.clear();
        warm_ = false;
        baseline_ = std::numeric_limits<double>::quiet_NaN();
        noise_ = 0;
        closed_ = false;
    }
    if (gap && closed_) closure_valid_ = false;  // cancels the closure in progress
    bool event = false;
    if (warm_) {
        const double close_thr = close_threshold();
        const double open_thr = close_thr + (p_.open_ratio - p_.close_ratio) * baseline_;
        // a clear reopening rises a noise margin above open_thr; a blink that follows the
        // previous one without a clear reopening continues it (noise reopened the eye)
        const double reopened_thr = open_thr + 0.5 * p_.noise_factor * noise_;
        const double depth_thr =
            std::min(p_.depth_ratio * baseline_, baseline_ - 2.0 * p_.noise_factor * noise_);
        const double new_level_s =
            std::min(std::max(p_.level_change_s, p_.max_duration_s), p_.baseline_window_s);
        if (!closed_) {
            if (ear < close_thr) {
                closed_ = true;
                close_min_ = ear;
                if (has_last_ && !gap) {
                    closure_valid_ = true;
                    close_start_ = last_ear_ > close_thr
                                       ? last_t_ + (t - last_t_) * (last_ear_ - close_thr) /
                                                       (last_ear_ - ear)
                                       : last_t_;
                } else {
                    closure_valid_ = false;  // started during a gap: start unknown
                    close_start_ = t;
                }
            }
        } else {
            close_min_ = std::min(close_min_, ear);
            if (ear > open_thr) {
                closed_ = false;
                double end = t;
                if (!gap && ear > last_ear_)
                    end = last_t_ + (t - last_t_) * (open_thr - last_ear_) / (ear - last_ear_);
                end = std::max(end, close_start_);
                const double dur = end - close_start_;
                if (closure_valid_ && dur >= p_.min_duration_s && dur <= p_.max_duration_s &&
                    close_min_ <= depth_thr) {
                    if (after_event_ && !events_.empty() &&
                        close_start_ - events_.back().end_s <= p_.max_duration_s) {
                        events_.back().end_s = end;  // the same blink, noise split it
                        events_.back().min_ear = std::min(events_.back().min_ear, close_min_);
                    } else {
                        events_.push_back({close_start_, end, close_min_});
                        if (static_cast<int>(events_.size()) > p_.max_events)
                            events_.pop_front();
                        ++count_;
                        event = true;
                    }
                    after_event_ = true;
                }
                closure_valid_ = false;
            } else if (t - close_start_ > new_level_s) {
                // "Closed" for much longer than a blink: more likely a new open level (the
                // head turned or tilted) than closed eyes. Forget the stale baseline and warm
                // up again on the new level.
                window_.clear();
                warm_ = closed_ = closure_valid_ = false;
                baseline_ = std::numeric_limits<double>::quiet_NaN();
                noise_ = 0;
            } else if (t - close_start_ > p_.max_duration_s) {
                closure_valid_ = false;  // too long to be a blink
            }
        }
    }
    if (after_event_ && !closed_ && warm_ &&
        ear > close_threshold() + (p_.open_ratio - p_.close_ratio) * baseline_ +
                  0.5 * p_.noise_factor * noise_)
        after_event_ = false;  // clearly reopened since the last blink
    if (!closed_) {
        // Open-eye sample (or pre-warm-up): feeds the baseline. Samples on the way down that
        // did not cross the threshold are kept; the high quantile ignores them.
        add_to_window(t, ear);
        refresh_baseline(t);
    }
    has_last_ = true;
    last_t_ = t;
    last_ear_ = ear;
    return event;
}

}  // namespace fastlive::eye
