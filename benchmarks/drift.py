"""Drift monitoring on real data: false alarms without a change, detection with one, the
reference population, and what it costs.

On UCI Online Retail: trains LightGBM (GBDT, the default tweedie) as `ltv train` does at
2011-09-10 (90-day horizon, dense windows) and records its reference profile, then checks
weekly snapshots from the cutoff to the end of the data (2011-12-10):
  1. as recorded (no change made): which features fire, week by week;
  2. with every amount from --shift-from on multiplied by --shift: when the monitor notices;
  3. the same unchanged snapshots against a reference profiled on the pooled training windows
     instead of the snapshot at the cutoff (the design choice in ltv.models.reference).
Also prints the profile's size and the seconds per snapshot (features + scoring + checks).

    python benchmarks/drift.py [--shift 3 --shift-from 2011-10-15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ltv.io.ingest import ingest  # noqa: E402
from ltv.models.gbdt.model import GBDTModel  # noqa: E402
from ltv.models.provenance import training_info  # noqa: E402
from ltv.models.reference import categorical_profile, numeric_profile  # noqa: E402
from ltv.models.training_data import build_training_data, training_windows  # noqa: E402
from ltv.monitoring.run import monitor, monitoring_cutoffs  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "online_retail" / "online_retail.parquet"
CUTOFF, HORIZON = "2011-09-10", 90


def pooled_reference(reference: dict, data) -> dict:
    """The same profile, its features taken over the stacked training windows."""
    features = {}
    for name, profile in reference["features"].items():
        column = data.windows[name]
        features[name] = (categorical_profile(column) if profile["kind"] == "string"
                          else numeric_profile(column.to_numpy(dtype=float))
                          | {"ages": profile.get("ages", False)})
    return {**reference, "features": features}


def rows(result) -> list[dict]:
    return [{"cutoff": h["cutoff"][:10], "status": h["status"], "drift": len(h["drift"]),
             "watch": len(h["watch"]), "mean_ltv": round(h["mean_ltv"], 2),
             "prediction": h["prediction_status"], "drifting": ", ".join(h["drift"][:6])
             + (" ..." if len(h["drift"]) > 6 else "")} for h in result.history()]


def markdown(table: list[dict]) -> str:
    head = list(table[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in table])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shift", type=float, default=3.0)
    parser.add_argument("--shift-from", default="2011-10-15")
    parser.add_argument("--out", type=Path, default=ROOT / "bench_out" / "drift")
    args = parser.parse_args()
    if not DATA.is_file():
        sys.exit(f"skipped: {DATA} is absent (the public datasets live in ../shared/datasets)")
    args.out.mkdir(parents=True, exist_ok=True)
    db = args.out / "online_retail.duckdb"
    if not db.exists():
        ingest(DATA, db=db, format="uci-online-retail")

    t0 = time.perf_counter()
    data = build_training_data(db, CUTOFF, HORIZON, **training_windows(HORIZON))
    model = GBDTModel().fit(data)
    t1 = time.perf_counter()
    reference = training_info(db, data, model, "gbdt")["reference_profile"]
    t2 = time.perf_counter()
    size = len(json.dumps(reference))
    print(f"trained in {t1 - t0:.1f} s on {len(data.windows):,} rows; reference profile of "
          f"{len(reference['features'])} features ({', '.join(reference['skipped'])} skipped) "
          f"in {t2 - t1:.1f} s, {size / 1024:.0f} KiB of JSON; band "
          f"{reference['predictions']['band_mean']:.2f} ± 2 x "
          f"{reference['predictions']['band_std']:.2f} over "
          f"{len(reference['predictions']['windows'])} windows")

    predictor = SimpleNamespace(predict=model.predict, feature_names=model.feature_names_)
    cutoffs = monitoring_cutoffs(db, CUTOFF)
    t3 = time.perf_counter()
    plain = monitor(predictor, reference, db, cutoffs, name="online_retail")
    t4 = time.perf_counter()
    print(f"\n1. unchanged data: {len(cutoffs)} snapshots in {t4 - t3:.1f} s "
          f"({(t4 - t3) / len(cutoffs):.2f} s each)")
    print(markdown(rows(plain)))

    shifted = args.out / "shifted.duckdb"
    shutil.copy(db, shifted)
    con = duckdb.connect(str(shifted))
    con.execute(f"UPDATE transactions SET amount = amount * {args.shift} "
                f"WHERE ts >= '{args.shift_from}'")
    con.close()
    moved = monitor(predictor, reference, shifted, cutoffs, name="online_retail")
    print(f"\n2. amounts x{args.shift:g} from {args.shift_from}:")
    print(markdown(rows(moved)))

    pooled = monitor(predictor, pooled_reference(reference, data), db, cutoffs,
                     name="online_retail")
    print("\n3. unchanged data against a reference profiled on the pooled training windows:")
    print(markdown(rows(pooled)))


if __name__ == "__main__":
    main()
