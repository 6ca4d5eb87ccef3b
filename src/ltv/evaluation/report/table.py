"""The model comparison table: which metrics, how each is written, which value is best."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ltv.evaluation.report import formatting as fmt


@dataclass(frozen=True)
class Column:
    key: str  # a key of metrics.evaluate
    label: str
    help: str  # tooltip / legend text
    write: Callable[[float], str]
    better: str  # "high", "low", "zero" (closest to 0), "level" (closest to the interval level)


COLUMNS: tuple[Column, ...] = (
    Column("gini", "Gini", "normalized Gini of the gain curve: 1 = perfect ranking, 0 = random",
           fmt.ratio, "high"),
    Column("spearman", "Spearman", "rank correlation of predicted and actual value",
           fmt.ratio, "high"),
    Column("decile_mape", "Decile MAPE",
           "mean |predicted - actual| / |actual| over prediction deciles (lower is better)",
           fmt.percent, "low"),
    Column("top_decile_capture", "Top-10% capture",
           "share of all actual spend held by the 10% of customers predicted highest",
           fmt.percent, "high"),
    Column("auc", "AUC (p_active)", "ROC AUC of p_active for 'buys in the horizon'",
           fmt.ratio, "high"),
    Column("mae", "MAE", "mean absolute error per customer (currency)", fmt.money, "low"),
    Column("rmse", "RMSE", "root mean squared error per customer (currency)", fmt.money, "low"),
    Column("r2", "R\u00b2", "share of the variance of actual spend explained", fmt.ratio, "high"),
    Column("bias", "Bias", "total predicted / total actual - 1 (0 is unbiased)",
           fmt.signed_percent, "zero"),
    Column("coverage", "Interval coverage",
           "share of customers whose actual spend lies in [ltv_lo, ltv_hi]", fmt.percent,
           "level"),
)


def cell(column: Column, metrics: dict[str, float]) -> str:
    """The HTML of one cell; the capture cell carries its ideal value on a second line.

    Without its tags the cell reads e.g. '43.2% (ideal 74.6%)'. Only digits, signs, '%',
    ',' and '.' come from the values, so nothing here needs escaping.
    """
    value = metrics.get(column.key, math.nan)
    text = column.write(value)
    if column.key == "top_decile_capture":
        ideal = metrics.get("top_decile_capture_ideal", math.nan)
        if not (ideal is None or (isinstance(ideal, float) and math.isnan(ideal))):
            text += f' <span class="sub">(ideal {fmt.percent(ideal)})</span>'
    return text


def best_rows(column: Column, rows: list[dict[str, float]], level: float) -> set[int]:
    """Indices of the rows holding the best value of `column` (all of them on a tie)."""
    def score(value: float) -> float:
        if column.better == "high":
            return -value
        if column.better == "low":
            return value
        if column.better == "zero":
            return abs(value)
        return abs(value - level)

    scored = {}
    for i, metrics in enumerate(rows):
        value = metrics.get(column.key, math.nan)
        if value is None or not math.isfinite(value):
            continue
        # compare what is shown, so two cells that read the same are both highlighted
        scored[i] = (score(value), cell(column, metrics))
    if len(scored) < 2:
        return set()
    top = min(s for s, _ in scored.values())
    shown = {text for s, text in scored.values() if s == top}
    return {i for i, (_, text) in scored.items() if text in shown}
