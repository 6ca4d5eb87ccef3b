"""Per-prediction explanations on UCI Online Retail: cost, exactness, and deep agreement.

Fits BTYD, GBDT (tweedie) and a deep model (GRU over 52 weeks, small: `--epochs`) on the
windows before the cutoff, exports the deep network to LiteRT, and explains `--customers`
customers drawn at random (seeded) from the snapshot at the cutoff, every customer with each
method. It reports, per method:
- the time per explanation (median and p90, one customer per call, after one warm-up call);
- exactness: max |baseline + sum(contributions) + approximation_error - prediction| and max
  |prediction - model.predict| (relative);
- deep only: the integrated-gradients quadrature error relative to max(|prediction -
  baseline|, sum |contributions|), and the agreement of the TF-free path differences
  (LiteRT, 16 and 32 steps) with integrated gradients: the correlation of the per-feature
  contributions, the largest per-feature gap relative to sum |contributions|, and the share
  of customers whose top-5 drivers overlap in at least 4 features.

    python benchmarks/explain.py [--customers 200] [--epochs 8]

Needs ../shared/datasets (skips with a message otherwise) and ltv[deep].
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "online_retail" / "online_retail.parquet"
CUTOFF, HORIZON = "2011-09-10", 90


def timed(explainer, rows: pd.DataFrame):
    explainer.explain(rows.iloc[[0]])  # warm-up (TF tracing, LiteRT allocation)
    out, seconds = [], []
    for i in range(len(rows)):
        start = time.perf_counter()
        out.append(explainer.explain(rows.iloc[[i]]))
        seconds.append(time.perf_counter() - start)
    return out, np.array(seconds) * 1000


def exactness(explanations, predicted: np.ndarray) -> tuple[float, float]:
    identity = max(abs(e.total - e.prediction) for e in explanations)
    rel = max(abs(e.prediction - p) / max(abs(p), 1e-12)
              for e, p in zip(explanations, predicted))
    return identity, rel


def agreement(reference, other) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    corr, gap, top = [], [], []
    for a, b in zip(reference, other):
        ca = {c.feature: c.contribution for c in a.contributions}
        cb = {c.feature: c.contribution for c in b.contributions}
        va, vb = np.array(list(ca.values())), np.array([cb[f] for f in ca])
        mass = np.abs(va).sum()
        if mass < 1e-9:
            continue
        corr.append(np.corrcoef(va, vb)[0, 1])
        gap.append(np.abs(va - vb).max() / mass)
        top.append(len({c.feature for c in a.top(5).top} & {c.feature for c in b.top(5).top}))
    return np.array(corr), np.array(gap), np.array(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"skipped: {DATA} is absent (see ../shared/datasets/README.md)")
        return
    from ltv.explain import make_explainer
    from ltv.export.litert import export_light
    from ltv.io.ingest import ingest
    from ltv.models.btyd_model import BTYDModel
    from ltv.models.deep import DeepModel
    from ltv.models.gbdt import GBDTModel
    from ltv.models.training_data import build_training_data, training_windows
    from ltv.runtime.deep import LightDeepModel

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        db = Path(tmp) / "retail.duckdb"
        ingest(DATA, db=db, format="uci-online-retail")
        data = build_training_data(db, CUTOFF, HORIZON, **training_windows(HORIZON))
        snap = data.snapshot.reset_index(drop=True)
        rows = snap.sample(n=min(args.customers, len(snap)), random_state=0)
        print(f"Online Retail, cutoff {CUTOFF}, {len(data.windows):,} training rows, "
              f"{len(snap):,} customers at the cutoff, {len(rows)} explained")
        start = time.perf_counter()
        models = {"btyd": BTYDModel().fit(data), "gbdt": GBDTModel().fit(data),
                  "deep": DeepModel(max_epochs=args.epochs, patience=2,
                                    gru_unroll=True).fit(data)}
        print(f"fitted in {time.perf_counter() - start:.0f} s")
        export_light(models["deep"], Path(tmp) / "light")
        light = LightDeepModel.load(Path(tmp) / "light")
        runs = {
            "btyd (shapley)": (models["btyd"], make_explainer(models["btyd"], snap)),
            "gbdt (treeshap)": (models["gbdt"], make_explainer(models["gbdt"])),
            "deep (integrated gradients, Keras)": (models["deep"],
                                                   make_explainer(models["deep"], snap)),
            "deep (path differences, LiteRT, 16 steps)": (light, make_explainer(light, snap)),
            "deep (path differences, LiteRT, 32 steps)": (light, make_explainer(
                light, snap, steps=32)),
        }
        results = {}
        print("| method | ms per explanation (median / p90) | max abs identity error | "
              "max rel. gap to predict |")
        print("|---|---|---|---|")
        for name, (model, explainer) in runs.items():
            explanations, ms = timed(explainer, rows)
            identity, rel = exactness(explanations, model.predict(rows)["ltv"].to_numpy())
            results[name] = explanations
            print(f"| {name} | {np.median(ms):.1f} / {np.quantile(ms, 0.9):.1f} | "
                  f"{identity:.1e} | {rel:.1e} |")
        ig = results["deep (integrated gradients, Keras)"]
        rel_err = np.array([abs(e.approximation_error) / max(
            abs(e.prediction - e.baseline), sum(abs(c.contribution) for c in e.contributions),
            1e-12) for e in ig])
        steps = np.array([e.details["steps"] for e in ig])
        print(f"\nintegrated gradients: quadrature error / max(|delta|, sum |c|) median "
              f"{np.median(rel_err):.1e}, max {rel_err.max():.1e}; gradient nodes median "
              f"{np.median(steps):.0f}, max {steps.max()}")
        print("\n| runtime method vs integrated gradients | corr median | corr p10 | corr min "
              "| max gap / sum abs, median | max | top-5 overlap >= 4 |")
        print("|---|---|---|---|---|---|---|")
        for name in [k for k in results if "path differences" in k]:
            corr, gap, top = agreement(ig, results[name])
            print(f"| {name} | {np.median(corr):.4f} | {np.quantile(corr, 0.1):.4f} | "
                  f"{corr.min():.4f} | {np.median(gap):.4f} | {gap.max():.4f} | "
                  f"{np.mean(top >= 4):.0%} |")


if __name__ == "__main__":
    sys.exit(main())
