"""Does the retrain gate decide right? UCI Online Retail, 90-day horizon, GBDT.

A champion is trained as `ltv train --models gbdt` would, published and promoted; then
`ltv retrain` runs at a later cutoff t (warm start, and again with fresh fits). The gate
decides on [t - 90 d, t) only. Online Retail goes on to 2011-12-09, so the horizon AFTER t
is known here: both the champion and the deployed challenger are scored on [t, t + 90 d),
which says whether the decision was right ex post. Two champions: one trained by the gate's
origin (scored as itself), one trained after it (a stale replica stands in).

    .venv/bin/python benchmarks/retrain_gate.py [--data ../shared/datasets/online_retail/online_retail.parquet]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from ltv.evaluation.backtest import actual_spend
from ltv.evaluation.metrics import evaluate
from ltv.features.build import build_features
from ltv.io.ingest import ingest
from ltv.models.gbdt import GBDTModel
from ltv.models.provenance import training_info, write_training_info
from ltv.models.training_data import build_training_data, fill_optional_columns, training_windows
from ltv.monitoring.retrain import retrain
from ltv.registry import Registry

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/online_retail/online_retail.parquet"
HORIZON = 90
RETRAIN_AT = "2011-09-10"  # t: the window [t, t + 90 d) ends at the data's end
CHAMPIONS = ("2011-05-01", "2011-08-01")  # before and after the gate's origin 2011-06-12


def publish_champion(db: Path, registry: Registry, cutoff: str, work: Path) -> int:
    data = build_training_data(db, cutoff, HORIZON, **training_windows(HORIZON))
    model = GBDTModel().fit(data)
    folder = work / f"champion-{cutoff}"
    model.save(folder)
    write_training_info(folder, training_info(db, data, model, "gbdt"))
    version = registry.publish("retail", folder)
    registry.promote("retail", version)
    return version


def future_scores(db: Path, model) -> dict[str, float]:
    """Scores on the horizon after the retrain cutoff, which the gate never saw."""
    features = build_features(db, RETRAIN_AT)
    pred = model.predict(fill_optional_columns(features, list(model.feature_names_)))
    actual = actual_spend(db, RETRAIN_AT, HORIZON).reindex(pred["customer_id"]).to_numpy()
    return evaluate(pred, actual)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} is absent: see ../shared/datasets/README.md")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "retail.duckdb"
        ingest(args.data, db=db, format="uci-online-retail")
        rows = []
        for champion_cutoff in CHAMPIONS:
            for warm in (True, False):
                registry = Registry(work / f"registry-{champion_cutoff}-{warm}")
                version = publish_champion(db, registry, champion_cutoff, work)
                start = time.perf_counter()
                result = retrain(registry.root, "retail", db, RETRAIN_AT, warm_start=warm)
                seconds = time.perf_counter() - start
                record = result.decision
                champion = future_scores(db, registry.load("retail", version))
                challenger = future_scores(db, registry.load("retail",
                                                             result.challenger_version))
                rows.append({
                    "champion_cutoff": champion_cutoff, "warm_start": warm,
                    "warm_used": record["challenger"]["warm_start"]["used"],
                    "reference": record["evaluation"]["champion_reference"],
                    "gate_gini_champion": record["champion"]["metrics"]["gini"],
                    "gate_gini_challenger": record["challenger"]["metrics"]["gini"],
                    "gate_gini_interval": (record["bootstrap"] or {}).get("gini"),
                    "verdict": record["verdict"],
                    "future_gini_champion": champion["gini"],
                    "future_gini_challenger": challenger["gini"],
                    "future_bias_champion": champion["bias"],
                    "future_bias_challenger": challenger["bias"],
                    "seconds": round(seconds, 1),
                })
                print(record["reason"])
                print(record["challenger"]["warm_start"]["reason"])
        with pd.option_context("display.width", 250, "display.max_columns", 20):
            print(pd.DataFrame(rows).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
