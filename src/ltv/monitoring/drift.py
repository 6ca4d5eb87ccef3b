"""`check_snapshot`: one feature snapshot (and its scores) against a model's reference profile.

Checks per feature (the reference is `ltv.models.reference.reference_profile`):
- numbers (and sequence sums): PSI over the reference's bins and KS against its quantiles,
  both on the non-missing values; the missing rate separately;
- strings: PSI over the reference's category shares (values outside the stored categories
  count as "other"), the share of unseen values, the missing rate.
Predictions: the mean predicted ltv against the band of the training windows' means
(mean ± 2σ), and PSI of the predicted ltv's distribution.

A feature's status is "drift" when any check passes its drift threshold, "watch" when one
passes a watch threshold, else "ok"; the snapshot's status is the worst over features and
predictions. Ageing features (profile `ages: true`: days since the first purchase or
signup, which grow with the calendar for every customer) get PSI and KS like any number, but
their findings go to "notes" and do not set the status: that drift is expected (see
`ltv.models.reference`); their missing rate is checked as usual.

Every threshold has a fixed part (the usual rule of thumb) and a noise part that grows as
samples shrink, so that small populations do not alarm on noise alone:

  PSI       drift: PSI > max(0.2, psi_critical(alpha_drift)); watch: > max(0.1, psi_critical(alpha))
  KS        drift: D > max(0.1, ks_critical(alpha_drift)), where 0.1 is a minimum effect size
            (with 100k customers a KS test finds a difference nobody needs to act on)
  missing   drift: |change| > max(0.05, missing_noise(alpha_drift))
  unseen    drift: share of rows with a value never seen in the reference > 1%
  mean ltv  drift: outside band_mean ± 2 band_std (needs >= 2 training windows)

alpha_drift = alpha / number of features checked (Bonferroni): with ~150 features, a 1% test
per feature would raise one false alarm in most snapshots.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.models.reference import bin_shares, category_values, sequence_sums
from ltv.monitoring import stats

STATUSES = ("ok", "watch", "drift")


@dataclass(frozen=True)
class Thresholds:
    """Alarm thresholds (see the module docstring). Shares are fractions of rows."""

    psi_drift: float = 0.2
    psi_watch: float = 0.1
    ks_min_effect: float = 0.1
    missing_jump: float = 0.05
    unseen_share: float = 0.01
    band_sigmas: float = 2.0
    alpha: float = 0.01

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and value > 0):
                raise LTVError(f"drift threshold {name} = {value!r} must be a positive number",
                               f"pass e.g. Thresholds({name}={getattr(Thresholds, name)})")
        if not self.alpha < 1:
            raise LTVError(f"drift threshold alpha = {self.alpha} is not a probability",
                           "pass a significance level such as 0.01")


def worst(statuses) -> str:
    return max(statuses, key=STATUSES.index, default="ok")


def check_snapshot(reference: dict[str, Any], features: pd.DataFrame,
                   predictions: pd.DataFrame | None = None,
                   thresholds: Thresholds | None = None) -> dict[str, Any]:
    """The drift verdict of `features` (one row per customer, the feature table of
    `build_features`) and optionally their `predictions` (the model's predictions table).

    Returns {"status", "cutoff", "customers", "features": [per-feature results, worst
    first], "drift": [names], "watch": [names], "prediction": {...} or None, "thresholds"}.
    """
    thresholds = thresholds or Thresholds()
    profiles = _profiles(reference)
    missing = [name for name in profiles if name not in features]
    if missing:
        raise LTVError(f"{len(missing)} feature(s) of the reference profile are not in the "
                       f"snapshot: {', '.join(missing[:8])}",
                       "build the snapshot with ltv.features.build_features and the options "
                       "the model was trained with (fill_optional_columns for share columns)")
    alpha_drift = thresholds.alpha / max(len(profiles), 1)
    results = [_check_feature(name, profile, features[name], thresholds, alpha_drift)
               for name, profile in profiles.items()]
    results.sort(key=lambda r: (-STATUSES.index(r["status"]), -(r.get("psi") or 0.0)))
    prediction = None
    if predictions is not None and reference.get("predictions"):
        prediction = check_predictions(reference["predictions"], predictions, thresholds)
    statuses = [r["status"] for r in results] + ([prediction["status"]] if prediction else [])
    cutoff = features["cutoff"].iloc[0] if "cutoff" in features and len(features) else None
    return {"status": worst(statuses),
            "cutoff": None if cutoff is None else str(pd.Timestamp(cutoff)),
            "customers": len(features),
            "drift": [r["name"] for r in results if r["status"] == "drift"],
            "watch": [r["name"] for r in results if r["status"] == "watch"],
            "features": results, "prediction": prediction, "thresholds": asdict(thresholds)}


def _profiles(reference: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(reference, dict) or not isinstance(reference.get("features"), dict):
        raise LTVError("the reference profile has no 'features' (is it a manifest's "
                       "reference_profile?)",
                       "retrain with `ltv train` and export again: versions trained before "
                       "monitoring existed have no reference profile")
    return reference["features"]


def _check_feature(name: str, profile: dict, values: pd.Series, t: Thresholds,
                   alpha_drift: float) -> dict[str, Any]:
    kind = profile.get("kind")
    if kind == "string":
        return _check_categorical(name, profile, values, t, alpha_drift)
    numbers = sequence_sums(values) if profile.get("summary") == "sum" else \
        pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return _check_numeric(name, profile, numbers, t, alpha_drift)


def _missing(result: dict, profile: dict, current: float, m: int, t: Thresholds,
             alpha_drift: float) -> None:
    ref = float(profile.get("missing") or 0.0)
    limit = max(t.missing_jump, stats.missing_noise(ref, int(profile["n"]), m, alpha_drift))
    result.update(missing_reference=ref, missing_current=current, missing_threshold=limit)
    if abs(current - ref) > limit:
        result["reasons"].append(f"missing rate {ref:.1%} -> {current:.1%}")


def _psi(result: dict, ref_shares, cur_shares, n: int, m: int, t: Thresholds,
         alpha_drift: float) -> None:
    bins = len(ref_shares)
    value = stats.psi(ref_shares, cur_shares) if m and bins > 1 else 0.0
    drift = max(t.psi_drift, stats.psi_critical(bins, n, m, alpha_drift))
    watch = max(t.psi_watch, stats.psi_critical(bins, n, m, t.alpha))
    result.update(psi=value, psi_threshold=drift, psi_watch=watch,
                  current_shares=[float(s) for s in cur_shares])
    if value > drift:
        result["reasons"].append(f"PSI {value:.3f} > {drift:.3f}")
    elif value > watch:
        result["watch_reasons"].append(f"PSI {value:.3f} > {watch:.3f} (watch)")


def _check_numeric(name: str, profile: dict, values: np.ndarray, t: Thresholds,
                   alpha_drift: float) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    m = len(values)
    kind = "sequence" if profile.get("summary") else "number"
    result: dict[str, Any] = {"name": name, "kind": kind, "reasons": [], "watch_reasons": []}
    _missing(result, profile, float(np.mean(~np.isfinite(values))) if m else 0.0, m, t,
             alpha_drift)
    alarming = len(result["reasons"])  # an ageing feature alarms on its missing rate only
    n_finite = round(int(profile["n"]) * (1 - float(profile.get("missing") or 0.0)))
    if profile.get("edges") is not None and profile.get("shares"):
        _psi(result, profile["shares"], bin_shares(profile["edges"], finite), n_finite,
             len(finite), t, alpha_drift)
    if profile.get("quantiles") and len(finite):
        d = stats.ks_from_quantiles(profile["quantiles"], finite)
        limit = max(t.ks_min_effect, stats.ks_critical(n_finite, len(finite), alpha_drift))
        result.update(ks=d, ks_threshold=limit)
        if d > limit:
            result["reasons"].append(f"KS {d:.3f} > {limit:.3f}")
    result.update(mean_reference=profile.get("mean"),
                  mean_current=float(finite.mean()) if len(finite) else None)
    if profile.get("ages"):
        result["notes"] = [f"ages with the calendar, not alarmed: {r}"
                           for r in result["reasons"][alarming:] + result["watch_reasons"]]
        del result["reasons"][alarming:]
        result["watch_reasons"] = []
    return _finish(result)


def _check_categorical(name: str, profile: dict, values: pd.Series, t: Thresholds,
                       alpha_drift: float) -> dict[str, Any]:
    present = category_values(values)
    m = len(values)
    result: dict[str, Any] = {"name": name, "kind": "string", "reasons": [],
                              "watch_reasons": []}
    _missing(result, profile, 1 - len(present) / m if m else 0.0, m, t, alpha_drift)
    known = profile.get("categories") or {}
    counts = present.value_counts()
    cur = np.array([counts.get(k, 0) for k in known] + [counts[~counts.index.isin(
        list(known))].sum()], dtype=float)
    cur = cur / cur.sum() if cur.sum() else cur
    ref = np.array(list(known.values()) + [float(profile.get("other") or 0.0)], dtype=float)
    n_present = round(int(profile["n"]) * (1 - float(profile.get("missing") or 0.0)))
    _psi(result, ref, cur, n_present, len(present), t, alpha_drift)
    result["categories"] = list(known)
    if profile.get("complete"):
        unseen = counts[~counts.index.isin(list(known))]
        share = float(unseen.sum() / m) if m else 0.0
        result.update(unseen_share=share,
                      unseen_values=[str(v) for v in unseen.sort_values(
                          ascending=False, kind="stable").index[:10]])
        if share > t.unseen_share:
            result["reasons"].append(f"{share:.1%} of rows have unseen values "
                                     f"({', '.join(result['unseen_values'][:3])})")
    return _finish(result)


def _finish(result: dict[str, Any]) -> dict[str, Any]:
    result["status"] = "drift" if result["reasons"] else \
        "watch" if result["watch_reasons"] else "ok"
    result["reasons"] += result.pop("watch_reasons")
    return result


def check_predictions(reference: dict[str, Any], predictions: pd.DataFrame,
                      thresholds: Thresholds) -> dict[str, Any]:
    """The mean predicted ltv against the training band, and PSI of the predicted ltv."""
    scores = pd.to_numeric(predictions["ltv"], errors="coerce").to_numpy(dtype=float)
    finite = scores[np.isfinite(scores)]
    mean = float(finite.mean()) if len(finite) else None
    center, spread = reference.get("band_mean"), reference.get("band_std")
    result: dict[str, Any] = {"mean_ltv": mean, "band_mean": center, "band_std": spread,
                              "band": None, "alarm": False, "reasons": [], "watch_reasons": []}
    if center is not None and spread is not None and mean is not None:
        low = center - thresholds.band_sigmas * spread
        high = center + thresholds.band_sigmas * spread
        result["band"] = [low, high]
        if not low <= mean <= high:
            result["alarm"] = True
            result["reasons"].append(f"mean predicted ltv {mean:,.2f} outside the training "
                                     f"band [{low:,.2f}, {high:,.2f}]")
    profile = reference.get("ltv") or {}
    if profile.get("shares"):
        n = round(int(profile["n"]) * (1 - float(profile.get("missing") or 0.0)))
        _psi(result, profile["shares"], bin_shares(profile["edges"], finite), n, len(finite),
             thresholds, thresholds.alpha)
        result.pop("current_shares", None)
    return _finish(result)
