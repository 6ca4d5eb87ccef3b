"""Is `auto` worse than the best single family by more than noise? A paired bootstrap.

Reads the predictions `benchmarks/accuracy.py` wrote (bench_out/accuracy/*_predictions.csv),
resamples customers with replacement and reports, per metric, the mean difference
auto - best single family and its 95% interval. The "best single family" is the one with the
highest Gini on the holdout, i.e. chosen with hindsight: the strictest comparison for auto.

    python benchmarks/auto_noise.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import accuracy  # noqa: E402
from ltv.evaluation import metrics  # noqa: E402

METRICS = {"gini": metrics.normalized_gini, "spearman": metrics.spearman,
           "decile_mape": metrics.decile_mape, "top_decile_capture": metrics.top_decile_capture}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    for key in accuracy.PROTOCOL:
        path = ROOT / "bench_out" / "accuracy" / f"{key}_predictions.csv"
        if not path.is_file():
            sys.exit(f"{path} is missing: run benchmarks/accuracy.py first")
        preds = pd.read_csv(path, dtype={"customer_id": str})
        wide = preds.pivot(index="customer_id", columns="model", values="ltv")
        y = accuracy.actual_spend(key).reindex(wide.index).fillna(0.0).to_numpy()
        singles = [m for m in wide.columns if m != "auto"]
        best = max(singles, key=lambda m: metrics.normalized_gini(y, wide[m].to_numpy()))
        auto, other = wide["auto"].to_numpy(), wide[best].to_numpy()
        rng = np.random.default_rng(0)
        diffs = {m: [] for m in METRICS}
        for _ in range(args.rounds):
            rows = rng.integers(0, len(y), len(y))
            for name, metric in METRICS.items():
                diffs[name].append(metric(y[rows], auto[rows]) - metric(y[rows], other[rows]))
        print(f"{key}: auto - {best} (mean [95% interval], {args.rounds} paired resamples)")
        for name, values in diffs.items():
            lo, hi = np.percentile(values, [2.5, 97.5])
            print(f"  {name:20s} {np.mean(values):+.3f} [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()
