"""Training-window stride, judged on validation windows before the cutoff (never the holdout).

For each stride, builds the stacked training windows that `ltv backtest` would build at the
dataset's official cutoff, then does what `auto` does on them: for every validation origin
(`validation_splits`), fits every candidate on the windows whose labels end by that origin
and scores it on the origin's window. The newest origin o_0 = cutoff - H is the same for every
stride, so its rows compare strides on equal terms: the same customers and labels, inner
models trained on one sparse or several dense windows. Everything printed comes from data
before the cutoff; with --holdout it also fits the final models and scores them on the
holdout (for the record only, never for the choice).

    python benchmarks/window_stride.py --dataset complete_journey --strides 30,14,7
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import accuracy  # noqa: E402
from ltv.evaluation import metrics  # noqa: E402
from ltv.evaluation.backtest import actual_spend, scratch_warehouse  # noqa: E402
from ltv.models.blend import Window, forward_select, level_free, selection_score  # noqa: E402
from ltv.models.ensemble import DEFAULT_CANDIDATES  # noqa: E402
from ltv.models.registry import make_model  # noqa: E402
from ltv.models.training_data import build_training_data  # noqa: E402
from ltv.models.validation import validation_splits  # noqa: E402


def row(y, pred) -> dict:
    return {"score": selection_score(y, pred), "gini": metrics.normalized_gini(y, pred),
            "spearman": metrics.spearman(y, pred), "mape": metrics.decile_mape(y, pred),
            "top10": metrics.top_decile_capture(y, pred),
            "bias": float(pred.sum() / y.sum() - 1) if y.sum() > 0 else np.nan}


def run_stride(db, spec, stride: int, max_windows: int, origins: int, candidates: list[str],
               holdout: bool) -> list[dict]:
    cutoff, horizon = spec["cutoff"], spec["horizon"]
    started = time.perf_counter()
    data = build_training_data(db, cutoff, horizon, stride_days=stride, max_windows=max_windows)
    build_s = time.perf_counter() - started
    cutoffs = sorted(pd.to_datetime(data.windows["cutoff"]).unique())
    print(f"stride {stride}: {len(cutoffs)} windows {pd.Timestamp(cutoffs[0]).date()}.."
          f"{pd.Timestamp(cutoffs[-1]).date()}, {len(data.windows):,} rows, built in {build_s:.0f} s")
    rows, windows = [], []
    for inner, validation in validation_splits(data, origins):
        y = validation["label_spend"].to_numpy(dtype=float)
        inner_cutoffs = sorted(pd.to_datetime(inner.windows["cutoff"]).unique())
        columns = []
        for key in candidates:
            t0 = time.perf_counter()
            pred = make_model(**DEFAULT_CANDIDATES[key], alias=key).fit(inner) \
                .predict(validation)["ltv"].to_numpy()
            columns.append(pred)
            rows.append({"stride": stride, "origin": str(inner.cutoff.date()),
                         "inner_windows": len(inner_cutoffs), "inner_rows": len(inner.windows),
                         "model": key, **row(y, pred),
                         "level_free": selection_score(y, pred * (y.sum() / pred.sum())),
                         "fit_s": time.perf_counter() - t0})
        windows.append(Window(np.column_stack(columns), y))
    blend = forward_select(windows, candidates, 0.005)
    print(f"  auto picks {dict(zip(blend.members, np.round(blend.weights, 2)))}, "
          f"validation score {blend.score:.3f} over {len(windows)} origin(s)")
    rows.append({"stride": stride, "origin": "blend", "model": "+".join(blend.members),
                 "score": blend.score})
    if holdout:
        actual = actual_spend(db, cutoff, horizon)
        preds = {}
        for key in candidates:
            preds[key] = make_model(**DEFAULT_CANDIDATES[key], alias=key).fit(data) \
                .predict(data.snapshot).set_index("customer_id")["ltv"]
        auto = sum(w * preds[m] for m, w in zip(blend.members, blend.weights))
        for key, pred in {**preds, "auto": auto}.items():
            y = actual.reindex(pred.index).fillna(0.0).to_numpy()
            rows.append({"stride": stride, "origin": "HOLDOUT", "model": key,
                         **row(y, pred.to_numpy())})
    print(f"  stride {stride} total {time.perf_counter() - started:.0f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="complete_journey")
    parser.add_argument("--strides", default="30,14,7")
    parser.add_argument("--max-windows", type=int, default=20)
    parser.add_argument("--origins", type=int, default=3)
    parser.add_argument("--candidates", default=",".join(DEFAULT_CANDIDATES))
    parser.add_argument("--holdout", action="store_true")
    parser.add_argument("--csv", default=None)
    args = parser.parse_args()
    spec = accuracy.PROTOCOL[args.dataset]
    warnings.simplefilter("ignore")
    rows = []
    with scratch_warehouse(accuracy.DATASETS / spec["path"], format=spec["format"]) as db:
        for stride in map(int, args.strides.split(",")):
            rows += run_stride(db, spec, stride, args.max_windows, args.origins,
                               args.candidates.split(","), args.holdout)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.csv:
        table.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
