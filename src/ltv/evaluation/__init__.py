"""Evaluation: metrics as pure functions of arrays (`ltv.evaluation.metrics`)."""

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
    sliced,
    spearman,
    top_decile_capture,
)

__all__ = [
    "GainCurve", "auc", "bias", "brier", "calibration_table", "decile_mape", "decile_table",
    "evaluate", "gain_curve", "interval_coverage", "mae", "normalized_gini", "r2", "rmse",
    "sliced", "spearman", "top_decile_capture",
]
