"""The reference profile of a fitted model: what its inputs and outputs looked like at training.

`ltv train` stores it in training.json as `reference_profile` (and `ltv export` in the
manifest); `ltv.monitoring` compares later feature snapshots and scores against it. It lives
here, next to the feature schema, because it is computed at train time from `TrainingData`
and `models` may not import `monitoring`.

Reference population: the snapshot at the training cutoff (every customer with history
before it, as of that cutoff), not the stacked windows. A monitoring snapshot is one
population as of one cutoff; the windows pool up to 12 origins months apart, whose mix of
customer ages (T, tenure, days since first purchase) no single later snapshot can match, so
they would raise alarms that mean nothing. A model without a snapshot (none today) falls back
to its latest window.

Per feature the model reads (JSON, a few KB each; ~150 features stay under a few hundred KB):
- number: `edges`, PSI bin edges (see `bin_edges`); `shares`, the reference share of finite
  values per bin; `quantiles`, 101 quantiles (0%, 1%, ..., 100%) for KS; `missing` (share of
  NaN), `mean`, `std`, `n` (rows).
- string: `categories` {value: share of non-missing rows} for the top MAX_CATEGORIES values,
  `other` (share of the rest), `complete` (no rest: any other value is unseen), `missing`, `n`.
- sequence: profiled as a number through its sum over the sequence (`summary: "sum"`): the
  weekly spends/orders of the last N weeks sum to the period's total, a scale any shift of
  the sequence moves; single weeks are too sparse (mostly 0) for PSI.
- ageing features (`AGEING`: T, days_since_first, tenure_days) are profiled like numbers and
  marked `ages: true`. They count days from a customer's first purchase or signup to the
  cutoff, so every existing customer's value grows by exactly the days elapsed: a week after
  training their distribution has moved in any shop, without any change worth an alarm
  (measured on Online Retail: from the first weekly snapshot on; benchmarks/drift.py). The
  monitor reports them and does not alarm on them; a change in who the customers are still
  shows in frequency, spend and the other features.
- timestamp: skipped with the reason recorded: the only one a model reads is the window's
  `cutoff` (GBDT's calendar feature), which is the monitoring date itself and moves by design.

Predictions (`predictions`): the model's mean `ltv` per training window (each origin, plus the
training cutoff's snapshot), their mean and sample std (the band mean ± 2σ that
`ltv.monitoring` checks the mean prediction against), and the PSI profile of the snapshot's
predicted `ltv`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ltv.models.protocol import TrainingData

PROFILE_VERSION = 1
PSI_BINS = 10  # deciles, as the PSI literature uses
N_QUANTILES = 101
MAX_CATEGORIES = 50
AGEING = ("T", "days_since_first", "tenure_days")
_DIGITS = 10  # significant digits kept for means and shares (edges and quantiles stay exact)


def reference_profile(data: TrainingData, model, schema: list[dict[str, Any]]) -> dict[str, Any]:
    """The profile of `model` fitted on `data`; `schema` is `provenance.feature_schema(...)`
    of the model's features (it says each feature's kind)."""
    frame = data.snapshot if data.snapshot is not None else data.latest_window
    features: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for entry in schema:
        name, kind = entry["name"], entry["kind"]
        if name not in frame:
            skipped[name] = "not in the reference snapshot"
        elif kind == "number":
            features[name] = numeric_profile(frame[name].to_numpy(dtype=float))
            if name in AGEING:
                features[name]["ages"] = True
        elif kind == "string":
            features[name] = categorical_profile(frame[name])
        elif kind == "sequence":
            features[name] = {**numeric_profile(sequence_sums(frame[name])), "summary": "sum"}
        else:
            skipped[name] = (f"a {kind} column: the cutoff is the monitoring date itself, so "
                             "it moves by design")
    return {"version": PROFILE_VERSION, "cutoff": str(pd.Timestamp(frame["cutoff"].iloc[0]))
            if len(frame) else None, "rows": len(frame), "features": features,
            "skipped": skipped, "predictions": prediction_profile(data, model, frame)}


# ---------------------------------------------------------------- numbers


def bin_edges(values: np.ndarray, bins: int = PSI_BINS) -> list[float]:
    """Interior PSI bin edges of the finite `values`, sorted and distinct; bin i holds
    (edges[i-1], edges[i]] (`bin_index`). Deciles of the values, except that a value holding
    more than 1/bins of the mass (an atom: the zeros of spend_7d) is an edge of its own and
    the deciles are taken over the values away from atoms, so a shift of the non-zero spends
    still moves mass between bins instead of staying inside one (zero, max] bin. Edges are
    data values (no interpolation), so an atom sits exactly on its edge."""
    finite = np.sort(values[np.isfinite(values)])
    if not len(finite):
        return []
    unique, counts = np.unique(finite, return_counts=True)
    atoms = unique[counts > len(finite) / bins]
    rest = finite[~np.isin(finite, atoms)]
    probs = np.arange(1, bins) / bins
    inner = np.quantile(rest, probs, method="inverted_cdf") if len(rest) else np.array([])
    edges = np.unique(np.concatenate([atoms, inner]))
    # the largest value as an edge would leave an empty top bin
    return [float(e) for e in edges if e < finite[-1]] or [float(finite[0])]


def bin_index(edges: list[float] | np.ndarray, values: np.ndarray) -> np.ndarray:
    """The bin (0 .. len(edges)) of each finite value: bin i is (edges[i-1], edges[i]]."""
    return np.searchsorted(np.asarray(edges, dtype=float), values, side="left")


def bin_shares(edges: list[float] | np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of the finite `values` in each of the len(edges) + 1 bins (zeros when none)."""
    finite = values[np.isfinite(values)]
    counts = np.bincount(bin_index(edges, finite), minlength=len(edges) + 1).astype(float)
    return counts / counts.sum() if counts.sum() else counts


def numeric_profile(values: np.ndarray) -> dict[str, Any]:
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    missing = float(np.mean(~np.isfinite(values))) if len(values) else 0.0
    if not len(finite):
        return {"kind": "number", "n": len(values), "missing": missing, "edges": [],
                "shares": [], "quantiles": [], "mean": None, "std": None}
    edges = bin_edges(finite)
    # data values, unrounded: an atom (all the 0s, or a capped 2.0277...) must compare equal
    # to the same value in a later snapshot, or KS sees the whole atom as a shift
    quantiles = np.quantile(finite, np.linspace(0, 1, N_QUANTILES), method="inverted_cdf")
    return {"kind": "number", "n": len(values), "missing": _round(missing), "edges": edges,
            "shares": [_round(s) for s in bin_shares(edges, finite)],
            "quantiles": [float(q) for q in quantiles],
            "mean": _round(finite.mean()), "std": _round(finite.std())}


def sequence_sums(values: pd.Series) -> np.ndarray:
    """Sum of each row's sequence (NaN where the row has no sequence)."""
    return np.array([float(np.nansum(np.asarray(v, dtype=float))) if _is_list(v) else np.nan
                     for v in values], dtype=float)


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


# ---------------------------------------------------------------- categories


def category_values(values: pd.Series) -> pd.Series:
    """Non-missing values as str (how `categorical_profile` and the monitor count them)."""
    return values[values.notna()].astype(str)


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    present = category_values(values)
    shares = present.value_counts(normalize=True, sort=True)
    shares = shares.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    top = shares.head(MAX_CATEGORIES)
    return {"kind": "string", "n": len(values),
            "missing": _round(1 - len(present) / len(values)) if len(values) else 0.0,
            "categories": {str(k): _round(v) for k, v in top.items()},
            "other": _round(max(0.0, 1.0 - float(top.sum()))) if len(shares) > len(top) else 0.0,
            "complete": len(shares) <= MAX_CATEGORIES}


# ---------------------------------------------------------------- predictions


def prediction_profile(data: TrainingData, model, snapshot: pd.DataFrame) -> dict[str, Any]:
    """Mean predicted ltv per training window and at the snapshot; PSI profile of the
    snapshot's predicted ltv. Money in currency units per customer over the horizon."""
    windows = []
    for cutoff, rows in data.windows.groupby("cutoff", sort=True):
        windows.append({"cutoff": str(pd.Timestamp(cutoff)), "rows": len(rows),
                        "mean_ltv": _round(float(model.predict(rows)["ltv"].mean()))})
    scores = model.predict(snapshot)["ltv"].to_numpy(dtype=float)
    if data.snapshot is not None and len(snapshot):
        windows.append({"cutoff": str(pd.Timestamp(snapshot["cutoff"].iloc[0])),
                        "rows": len(snapshot), "mean_ltv": _round(float(scores.mean()))})
    means = np.array([w["mean_ltv"] for w in windows], dtype=float)
    return {"windows": windows, "band_mean": _round(means.mean()) if len(means) else None,
            "band_std": _round(means.std(ddof=1)) if len(means) > 1 else None,
            "ltv": numeric_profile(scores)}


def _round(value: float) -> float:
    return float(f"{float(value):.{_DIGITS}g}")
