"""The champion/challenger gate: is the challenger better, by a margin, on the same customers?

Both models' predictions for the same customers are scored against the same actual spend
(`metrics.evaluate`). The challenger is promoted only if all of these hold:

1. the primary metric (default: normalized Gini) improves by at least `margin`, in the
   metric's own units (0.01 = one Gini point; for a lower-is-better primary such as
   decile_mape, "improves" means decreases);
2. the improvement is not noise: in a paired bootstrap over customers (the same resampled
   customers score both models, so what both get right or wrong cancels), the lower end of the
   two-sided `confidence` interval of the improvement is above 0. `bootstrap_rounds=0` skips
   this test;
3. no guard metric worsens by more than its tolerance (absolute, in the metric's units):
   by default decile MAPE (calibration by decile) and |bias| (total predicted / total actual
   - 1, in absolute value) may each rise by at most 0.10. A challenger that ranks better but
   has lost its level would misprice every customer. With the bootstrap on, a guard blocks
   only when its worsening is also real (the lower end of its interval above 0), the mirror
   of rule 2: decile MAPE rests on ten bucket means, and on a few hundred customers it moved
   by 0.15 between two models whose Gini differed by 0.78 (a simulated shop, 466 customers).
   Decile MAPE is not compared when the champion does not rank customers at all (Gini <= 0,
   e.g. a constant prediction): its "deciles by prediction" are then arbitrary slices of
   ties, each near the overall mean, so it scores a near-perfect decile MAPE that any model
   which ranks would "worsen".

Everything a reader needs to audit the verdict is in `GateResult.to_dict()`: both metric
sets, the improvement of every compared metric, the bootstrap interval and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import ConfigError
from ltv.evaluation import metrics

# Metrics a gate can compare: +1 when higher is better, -1 when lower is better.
DIRECTION: dict[str, int] = {
    "gini": 1, "spearman": 1, "top_decile_capture": 1, "auc": 1, "r2": 1,
    "decile_mape": -1, "abs_bias": -1, "mae": -1, "rmse": -1, "brier": -1,
}
# Each as a function of (actual spend, predicted ltv, p_active), so it can be bootstrapped.
METRICS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "gini": lambda y, ltv, p: metrics.normalized_gini(y, ltv),
    "spearman": lambda y, ltv, p: metrics.spearman(y, ltv),
    "top_decile_capture": lambda y, ltv, p: metrics.top_decile_capture(y, ltv),
    "r2": lambda y, ltv, p: metrics.r2(y, ltv),
    "decile_mape": lambda y, ltv, p: metrics.decile_mape(y, ltv),
    "abs_bias": lambda y, ltv, p: abs(metrics.bias(y, ltv)),
    "mae": lambda y, ltv, p: metrics.mae(y, ltv),
    "rmse": lambda y, ltv, p: metrics.rmse(y, ltv),
    "auc": lambda y, ltv, p: metrics.auc((y > 0).astype(float), p),
    "brier": lambda y, ltv, p: metrics.brier((y > 0).astype(float), p),
}
DEFAULT_GUARDS = {"decile_mape": 0.10, "abs_bias": 0.10}


@dataclass(frozen=True)
class GateConfig:
    """How much better a challenger must be. `margin` and guard tolerances are absolute, in
    each metric's units; `confidence` is the two-sided level of the bootstrap interval."""

    primary: str = "gini"
    margin: float = 0.01
    guards: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_GUARDS))
    bootstrap_rounds: int = 200
    confidence: float = 0.9
    seed: int = 0

    def __post_init__(self):
        if self.primary not in METRICS:
            raise ConfigError(f"primary metric {self.primary!r} is not one the gate can use",
                              f"use one of: {', '.join(METRICS)}")
        if not (isinstance(self.margin, (int, float)) and math.isfinite(self.margin)
                and self.margin >= 0):
            raise ConfigError(f"margin={self.margin!r} is not a number >= 0",
                              "pass e.g. --margin 0.01 (one point of the primary metric)")
        for name, tolerance in self.guards.items():
            if name not in METRICS:
                raise ConfigError(f"guard metric {name!r} is unknown",
                                  f"use one of: {', '.join(METRICS)}")
            if not (isinstance(tolerance, (int, float)) and tolerance >= 0):
                raise ConfigError(f"guard {name}={tolerance!r} is not a number >= 0",
                                  "pass e.g. --guard decile_mape=0.05 (how much it may worsen)")
        if isinstance(self.bootstrap_rounds, bool) or not isinstance(self.bootstrap_rounds, int) \
                or self.bootstrap_rounds < 0:
            raise ConfigError(f"bootstrap_rounds={self.bootstrap_rounds!r} is not an integer "
                              ">= 0", "pass e.g. 200 (0 skips the bootstrap test)")
        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"confidence={self.confidence!r} is not in (0, 1)",
                              "pass e.g. 0.9 for a 90% interval")

    def to_dict(self) -> dict[str, Any]:
        return {"primary": self.primary, "margin": self.margin, "guards": dict(self.guards),
                "bootstrap_rounds": self.bootstrap_rounds, "confidence": self.confidence,
                "seed": self.seed}


@dataclass
class GateResult:
    promote: bool
    reason: str
    champion: dict[str, float]  # metrics.evaluate + abs_bias
    challenger: dict[str, float]
    improvement: dict[str, float]  # metric -> improvement (positive: challenger better)
    bootstrap: dict[str, Any] | None  # rounds, confidence, metric -> low, high, share_improved

    def to_dict(self) -> dict[str, Any]:
        return {"promote": self.promote, "reason": self.reason, "champion": self.champion,
                "challenger": self.challenger, "improvement": self.improvement,
                "bootstrap": self.bootstrap}


def scores(predictions: pd.DataFrame, actual: np.ndarray) -> dict[str, float]:
    """`metrics.evaluate` plus `abs_bias` (|bias|), the set the gate records and compares."""
    out = metrics.evaluate(predictions.reset_index(drop=True), actual)
    out["abs_bias"] = abs(out["bias"]) if math.isfinite(out["bias"]) else float("nan")
    return out


def improvement(name: str, champion: float, challenger: float) -> float:
    """How much better the challenger is on `name`, in its units (nan if either is nan)."""
    return DIRECTION[name] * (challenger - champion)


def paired_bootstrap(y: np.ndarray, champion: pd.DataFrame, challenger: pd.DataFrame,
                     names: list[str], config: GateConfig) -> dict[str, Any]:
    """Percentile intervals of the improvement of each metric in `names` over
    `bootstrap_rounds` resamples of the customers (with replacement, the same draw for both
    models): {"rounds", "confidence", name: {"low", "high", "share_improved"}}. Resamples where
    a metric is undefined (e.g. no spend at all) are left out of that metric's interval."""
    rng = np.random.default_rng(config.seed)
    arrays = [(frame["ltv"].to_numpy(float), _p_active(frame)) for frame in (champion, challenger)]
    gains: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(config.bootstrap_rounds):
        rows = rng.integers(0, len(y), len(y))
        (old, p_old), (new, p_new) = ((ltv[rows], p[rows]) for ltv, p in arrays)
        for name in names:
            fn = METRICS[name]
            gain = improvement(name, fn(y[rows], old, p_old), fn(y[rows], new, p_new))
            if math.isfinite(gain):
                gains[name].append(gain)
    tail = (1.0 - config.confidence) / 2
    out: dict[str, Any] = {"rounds": config.bootstrap_rounds, "confidence": config.confidence}
    for name, values in gains.items():
        if not values:
            out[name] = {"low": None, "high": None, "share_improved": None}
            continue
        low, high = np.quantile(values, [tail, 1.0 - tail])
        out[name] = {"low": float(low), "high": float(high),
                     "share_improved": float(np.mean(np.asarray(values) > 0))}
    return out


def _p_active(frame: pd.DataFrame) -> np.ndarray:
    if "p_active" in frame.columns:
        return frame["p_active"].to_numpy(float)
    return np.full(len(frame), np.nan)


def judge(champion: pd.DataFrame, challenger: pd.DataFrame, actual: np.ndarray,
          config: GateConfig) -> GateResult:
    """Compare two prediction tables for the same customers in the same row order
    (`customer_id`, `ltv`, ...) against `actual`, the net spend (currency) of each row's
    customer over the horizon."""
    if not np.array_equal(champion["customer_id"].to_numpy(),
                          challenger["customer_id"].to_numpy()):
        raise ConfigError("the champion and challenger predictions are not for the same "
                          "customers in the same order", "predict both on one feature table")
    y = np.asarray(actual, dtype=float)
    old, new = scores(champion, y), scores(challenger, y)
    gains = {name: improvement(name, old[name], new[name])
             for name in DIRECTION if name in old and name in new}
    primary = config.primary
    boot = None
    if config.bootstrap_rounds and math.isfinite(gains[primary]):
        boot = paired_bootstrap(y, champion, challenger, [primary, *config.guards], config)
    promote, reason = _verdict(old, new, gains, boot, config)
    return GateResult(promote, reason, old, new, gains, boot)


def _verdict(old, new, gains, boot, config: GateConfig) -> tuple[bool, str]:
    primary, margin = config.primary, config.margin
    gain = gains[primary]
    head = f"{primary} {new[primary]:.4f} (challenger) vs {old[primary]:.4f} (champion)"
    if not math.isfinite(new[primary]):
        return False, f"kept the champion: the challenger's {primary} is undefined on the window"
    if not math.isfinite(old[primary]):
        return False, (f"kept the champion: its {primary} is undefined on the window, so the "
                       "two cannot be compared; promote by hand if the challenger is wanted")
    if gain < margin:
        return False, (f"kept the champion: {head}, an improvement of {gain:+.4f}, below the "
                       f"margin {margin:.4f}")
    if boot is not None:
        low, high = boot[primary]["low"], boot[primary]["high"]
        if low is None:
            return False, f"kept the champion: {primary} is undefined in every bootstrap resample"
        interval = (f"{config.confidence:.0%} bootstrap interval of the improvement "
                    f"[{low:+.4f}, {high:+.4f}]")
        if low <= 0:
            return False, (f"kept the champion: {head} ({gain:+.4f}), but the {interval} "
                           "includes 0: the improvement may be noise")
        head += f", {interval}"
    for name, tolerance in config.guards.items():
        if name in RANK_GUARDS and not old.get("gini", math.nan) > NO_RANKING:
            head += (f"; {name} not compared: the champion does not rank customers (Gini "
                     f"{old.get('gini', math.nan):.4f}), so its deciles are arbitrary")
            continue
        if math.isfinite(old.get(name, math.nan)) and not math.isfinite(new.get(name, math.nan)):
            return False, f"kept the champion: {head}, but its guard {name} is undefined"
        worse = -gains.get(name, math.nan)
        if not (math.isfinite(worse) and worse > tolerance):
            continue
        real = boot is None or (boot[name]["high"] is not None and boot[name]["high"] < 0)
        if real:
            return False, (f"kept the champion: {head}, but the guard {name} worsened by "
                           f"{worse:.4f} ({old[name]:.4f} -> {new[name]:.4f}; at most "
                           f"{tolerance:.4f} allowed)")
        head += (f"; {name} worsened by {worse:.4f} (over {tolerance:.4f}) but within noise "
                 f"(improvement interval [{boot[name]['low']:+.4f}, {boot[name]['high']:+.4f}])")
    return True, (f"promoted the challenger: {head}; improvement {gain:+.4f} >= margin "
                  f"{margin:.4f}, guards within tolerance")


# Guards measured on deciles by predicted value: meaningless for a champion without a ranking.
RANK_GUARDS = frozenset({"decile_mape"})
NO_RANKING = 1e-6  # a Gini at or below this is no ranking (ties average to 0 up to rounding)


def parse_guards(text: str | None) -> dict[str, float] | None:
    """'decile_mape=0.1,abs_bias=0.05' -> {metric: tolerance}; 'none' -> {} (no guards);
    None or '' -> None (the defaults)."""
    if text is None or not text.strip():
        return None
    if text.strip().lower() == "none":
        return {}
    guards: dict[str, float] = {}
    for part in text.split(","):
        metric, sep, value = (s.strip() for s in part.partition("="))
        try:
            guards[metric] = float(value) if sep else float("nan")
        except ValueError:
            guards[metric] = float("nan")
        if not sep or not math.isfinite(guards[metric]):
            raise ConfigError(f"--guard entry {part.strip()!r} is not metric=number",
                              "write e.g. --guard decile_mape=0.1,abs_bias=0.05, or "
                              "--guard none")
    return guards
