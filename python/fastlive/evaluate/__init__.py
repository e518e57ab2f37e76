"""Evaluation: presentation-attack-detection metrics (ISO/IEC 30107-3), data sets, scoring
labelled samples, and reports.

* :mod:`fastlive.evaluate.metrics`: APCER / BPCER / ACER / EER / AUC of scores and labels, the
  threshold policy (a development set's criterion, a given or recorded threshold).
* :mod:`fastlive.evaluate.datasets`: manifests, data folders and scores.csv files.
* :mod:`fastlive.evaluate.runner`: one scores.csv row per sample (images, videos by their main
  track), in worker processes; per-track summaries of a stream.
* :mod:`fastlive.evaluate.report`: scores.csv, metrics.json, tables, DET/ROC plots, HTML.

    >>> from fastlive.evaluate import pad_metrics
    >>> m = pad_metrics([0.9, 0.8, 0.2, 0.4], [1, 1, 0, 0], threshold=0.5)
    >>> m["apcer_worst"], m["bpcer"]
    (0.0, 0.0)
"""

from __future__ import annotations

from fastlive.evaluate.datasets import (
    ATTACK_LABELS,
    LIVE_LABELS,
    MANIFEST_REQUIRED,
    SCORES_REQUIRED,
    UNLABELED_LABELS,
    EvalSet,
    Samples,
    is_scores_csv,
    load_samples,
    load_set,
    read_scores,
    recorded_threshold,
)
from fastlive.evaluate.metrics import (
    CRITERIA,
    UNKNOWN_ATTACK,
    Metrics,
    Row,
    choose_threshold,
    describe_criterion,
    dev_eval_metrics,
    error_curves,
    metrics_from_rows,
    pad_metrics,
    parse_criterion,
    system_metrics,
    threshold_at,
    to_jsonable,
)
from fastlive.evaluate.runner import (
    DetectorFactory,
    TrackStats,
    as_float,
    blink_metrics,
    build_detector,
    result_field,
    score_sample,
    score_samples,
    score_still,
)

__all__ = [
    "ATTACK_LABELS", "CRITERIA", "LIVE_LABELS", "MANIFEST_REQUIRED", "SCORES_REQUIRED",
    "UNKNOWN_ATTACK", "UNLABELED_LABELS", "DetectorFactory", "EvalSet", "Metrics", "Row",
    "Samples",
    "TrackStats", "as_float", "blink_metrics", "build_detector", "choose_threshold",
    "describe_criterion", "dev_eval_metrics", "error_curves", "is_scores_csv", "load_samples",
    "load_set", "metrics_from_rows", "pad_metrics", "parse_criterion", "read_scores",
    "recorded_threshold", "result_field", "score_sample", "score_samples", "score_still",
    "system_metrics", "threshold_at", "to_jsonable",
]
