"""Early-stopping split with and without a one-horizon gap, judged before the cutoff only.

`labels.holdout_split` validates early stopping on the latest training window o_0; with the
gap its training side keeps only windows whose labels end by o_0 (cutoff + H <= o_0). For
each dataset this builds the windows `ltv backtest` trains on (`training_windows(H)`) and
reports, from data before the cutoff only:

1. for `auto`'s validation origins (`validation_splits`): which split each inner fit gets
   under both rules (identical masks mean identical inner models and validation scores);
2. for the final training set: the split, the windows on each side, and the trees / epochs
   early stopping picks for the GBDT (tweedie, hurdle) and deep candidates under each rule,
   with the stage-1 model's mean prediction vs. mean label on o_0.

At the protocol's horizon (90/91 days) the datasets hold too little history before the
cutoff for any validation origin's inner set to span a horizon, so the gap never applies to
an inner fit and (1) cannot tell the rules apart. `--proxy-horizon H'` therefore repeats the
comparison at a shorter horizon H' (stride and windows from `training_windows(H')`, enough
windows that the newest origins' inner sets hold `training_windows` many): GBDT and deep are
fitted on each inner set under both rules and scored on the origin's window (a mechanism
check at another horizon, still only data before the cutoff).

    python benchmarks/early_stopping_gap.py --dataset complete_journey [--no-fit]
    python benchmarks/early_stopping_gap.py --dataset complete_journey --proxy-horizon 30
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import accuracy  # noqa: E402
from window_stride import row as score_row  # noqa: E402
from ltv.evaluation.backtest import scratch_warehouse  # noqa: E402
from ltv.models import labels  # noqa: E402
from ltv.models.ensemble import DEFAULT_CANDIDATES  # noqa: E402
from ltv.models.registry import make_model  # noqa: E402
from ltv.models.training_data import build_training_data, training_windows  # noqa: E402
from ltv.models.validation import validation_splits  # noqa: E402
import ltv.models.deep.model as deep_model  # noqa: E402
import ltv.models.gbdt.model as gbdt_model  # noqa: E402

RULES = {"overlap": lambda frame, horizon_days=None: labels.holdout_split(frame),
         "gapped": labels.holdout_split}


def dates(frame, mask) -> str:
    c = sorted(pd.to_datetime(frame.loc[mask, "cutoff"]).dt.date.unique())
    return f"{len(c)} windows {c[0]}..{c[-1]}" if c else "none"


def describe(frame, horizon, rule) -> tuple[str, str, str]:
    split = RULES[rule](frame, horizon)
    return split.how, dates(frame, split.train), dates(frame, split.valid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="complete_journey")
    parser.add_argument("--candidates", default="gbdt,hurdle,deep")
    parser.add_argument("--no-fit", action="store_true")
    parser.add_argument("--proxy-horizon", type=int, default=None)
    parser.add_argument("--origins", type=int, default=1)
    args = parser.parse_args()
    spec = accuracy.PROTOCOL[args.dataset]
    horizon = spec["horizon"]
    warnings.simplefilter("ignore")
    if args.proxy_horizon:
        return proxy(spec, args.proxy_horizon, args.origins, args.candidates.split(","))
    with scratch_warehouse(accuracy.DATASETS / spec["path"], format=spec["format"]) as db:
        data = build_training_data(db, spec["cutoff"], horizon, **training_windows(horizon))
    print(f"{args.dataset}: cutoff {spec['cutoff']}, H={horizon}, "
          f"{data.windows['cutoff'].nunique()} windows, {len(data.windows):,} rows")
    for inner, validation in validation_splits(data, 3):
        for rule in RULES:
            print(f"  validation origin {inner.cutoff.date()} inner fit, {rule}: ",
                  describe(inner.windows, horizon, rule))
    for rule in RULES:
        print(f"  final fit, {rule}: ", describe(data.windows, horizon, rule))
    if args.no_fit:
        return
    rows = []
    for rule, fn in RULES.items():
        gbdt_model.holdout_split = deep_model.holdout_split = fn
        for key in args.candidates.split(","):
            t0 = time.perf_counter()
            model = make_model(**DEFAULT_CANDIDATES[key], alias=key).fit(data)
            v = model.validation_
            stop = getattr(model, "best_iteration_", None) or getattr(model, "best_epoch_")
            rows.append({"rule": rule, "model": key, "split": v["split"],
                         "train_rows": v["train_rows"], "valid_rows": v["rows"],
                         "stopped_at": stop, "o0_mean_pred": v["mean_pred"],
                         "o0_mean_label": v["mean_label"],
                         "fit_s": round(time.perf_counter() - t0, 1)})
            print(rows[-1], flush=True)
    gbdt_model.holdout_split = deep_model.holdout_split = labels.holdout_split
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).to_string(index=False))


def proxy(spec, horizon: int, n_origins: int, candidates: list[str]) -> None:
    windows = training_windows(horizon)
    stride = windows["stride_days"]
    gap = -(-horizon // stride)  # windows between an origin and the first one labeled by it
    with scratch_warehouse(accuracy.DATASETS / spec["path"], format=spec["format"]) as db:
        data = build_training_data(db, spec["cutoff"], horizon, stride_days=stride,
                                   max_windows=windows["max_windows"] + gap + n_origins - 1)
    print(f"proxy H={horizon}, stride {stride}: {data.windows['cutoff'].nunique()} windows, "
          f"{len(data.windows):,} rows", flush=True)
    rows = []
    for inner, validation in validation_splits(data, n_origins):
        y = validation["label_spend"].to_numpy(dtype=float)
        for rule, fn in RULES.items():
            print(f"  origin {inner.cutoff.date()} {rule}: "
                  f"{describe(inner.windows, horizon, rule)}", flush=True)
            gbdt_model.holdout_split = deep_model.holdout_split = fn
            for key in candidates:
                t0 = time.perf_counter()
                model = make_model(**DEFAULT_CANDIDATES[key], alias=key).fit(inner)
                pred = model.predict(validation)["ltv"].to_numpy()
                stop = getattr(model, "best_iteration_", None) or getattr(model, "best_epoch_")
                rows.append({"origin": str(inner.cutoff.date()), "rule": rule, "model": key,
                             "stopped_at": stop, **score_row(y, pred),
                             "fit_s": round(time.perf_counter() - t0, 1)})
                print("   ", rows[-1], flush=True)
    gbdt_model.holdout_split = deep_model.holdout_split = labels.holdout_split
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
