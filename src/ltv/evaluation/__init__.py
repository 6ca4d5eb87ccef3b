"""Evaluation: metrics as pure functions of arrays (`ltv.evaluation.metrics`) and per group of
customers with flags (`ltv.evaluation.slices`)."""

from ltv.evaluation.metrics import (
    GainCurve,
    auc,
    bias,
    brier,
    calibration_table,
    decile_mape,
    decile_table,
    evaluate,
    gain_curve,
    interval_coverage,
    mae,
    normalized_gini,
    r2,
    rmse,
    spearman,
    top_decile_capture,
)
from ltv.evaluation.slices import FlagRule, flag_slices, sliced

__all__ = [
    "FlagRule", "GainCurve", "auc", "bias", "brier", "calibration_table", "decile_mape",
    "decile_table", "evaluate", "flag_slices", "gain_curve", "interval_coverage", "mae",
    "normalized_gini", "r2", "rmse", "sliced", "spearman", "top_decile_capture",
]
