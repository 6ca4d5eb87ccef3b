"""Batch scoring: every customer of a 1M-customer warehouse, with a published model version.

    .venv/bin/python benchmarks/batch_scoring.py [--customers 1000000] [--runs 2]
                                                 [--work bench_out/batch] [--no-record]

Setup (cached under --work, not timed):
1. A training shop: 20,000 simulated customers (`ltv.simulate`, behaviour events off), ingested
   into train.duckdb; `ltv train --models gbdt` at the cutoff, `ltv export --promote` into a
   registry (the version a server would serve).
2. A scoring shop: --customers simulated customers from the same generator (another seed),
   ingested into score.duckdb (~10 transactions per customer).
Timed, --runs times:
- `ltv predict --registry ... --name shop --db score.duckdb --cutoff ... --out preds.parquet`
  as its own process: the whole batch job, from process start (imports, verifying and loading
  the version) through point-in-time features for every customer, scoring, and the Parquet
  file. Wall time per run.
- The same steps in this process, timed one by one (features, scoring, writing), to show
  where the time goes.
Prints a table and writes the "batch-scoring" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from results_section import write_section  # benchmarks/, the script's folder

ROOT = Path(__file__).resolve().parent.parent
LTV = str(Path(sys.executable).parent / "ltv")
CUTOFF = "2023-10-03"  # the model's training cutoff
SCORE_AT = "2024-01-01"  # the batch job scores "now": the end of the simulated data
HORIZON = 90
NAME = "shop"
TRAIN_CUSTOMERS = 20_000


def _shop(folder: Path, db: Path, customers: int, seed: int) -> dict:
    """Simulate and ingest a shop once; return its sizes."""
    marker = folder / "_shop.json"
    if marker.exists():
        return json.loads(marker.read_text())
    from ltv.io.ingest import ingest
    from ltv.simulate import SimulationParams, simulate, table_files

    started = time.perf_counter()
    result = simulate(customers, folder / "sim", start="2022-01-01", end="2023-12-31",
                      seed=seed, params=SimulationParams(events=False))
    for path, table in table_files(folder / "sim"):
        ingest(path, db=db, table=table)
    info = {"customers": result.n_customers, "transactions": result.n_transactions,
            "setup_s": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(info))
    return info


def setup(work: Path, customers: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    train = _shop(work / "train", work / "train.duckdb", TRAIN_CUSTOMERS, seed=1)
    registry = work / "registry"
    if not (registry / NAME).exists():
        model = work / "model"
        subprocess.run([LTV, "train", "--db", str(work / "train.duckdb"), "--cutoff", CUTOFF,
                        "--horizon", str(HORIZON), "--models", "gbdt", "--out", str(model),
                        "--no-backtest"], check=True)
        subprocess.run([LTV, "export", "--model", str(model), "--registry", str(registry),
                        "--name", NAME, "--promote"], check=True)
    score = _shop(work / f"score_{customers}", work / f"score_{customers}.duckdb", customers,
                  seed=2)
    return {"train": train, "score": score}


def cli_run(work: Path, customers: int, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([LTV, "predict", "--registry", str(work / "registry"), "--name", NAME,
                    "--db", str(work / f"score_{customers}.duckdb"), "--cutoff", SCORE_AT,
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def stages(work: Path, customers: int, out: Path) -> dict:
    """The batch job's steps in this process, one timer each."""
    from ltv.evaluation.backtest import write_predictions
    from ltv.features.build import build_features
    from ltv.models.columns import SEQUENCE_PREFIX
    from ltv.models.provenance import feature_options
    from ltv.models.training_data import fill_optional_columns
    from ltv.registry import Registry
    from ltv.runtime import load_predictor

    times = {}
    started = time.perf_counter()
    registry = Registry(work / "registry")
    version = registry.champion(NAME)
    registry.verify(NAME, version)
    predictor = load_predictor(registry.path(NAME, version), verify=False)
    times["verify + load"] = time.perf_counter() - started
    options = feature_options(registry.manifest(NAME, version))  # what `ltv predict` does
    if not any(n.startswith(SEQUENCE_PREFIX) for n in predictor.feature_names):
        options["sequence_weeks"] = 0
    started = time.perf_counter()
    features = build_features(work / f"score_{customers}.duckdb", SCORE_AT, **options)
    times["features"] = time.perf_counter() - started
    started = time.perf_counter()
    predictions = predictor.predict(fill_optional_columns(features, predictor.feature_names))
    times["scoring"] = time.perf_counter() - started
    started = time.perf_counter()
    write_predictions(predictions, out)
    times["write"] = time.perf_counter() - started
    trees = {k: b.num_trees() for k, b in predictor.model.boosters_.items()} \
        if hasattr(predictor.model, "boosters_") else {}
    return {"times": times, "rows": len(predictions), "features": features.shape[1],
            "family": predictor.family, "trees": trees, "version": version}


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all processes), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def report(args, info: dict, runs: list[float], split: dict, busy: float) -> str:
    command = "python benchmarks/batch_scoring.py " + " ".join(sys.argv[1:])
    t = split["times"]
    lines = [
        "## Batch scoring: 1M customers with a published version (`benchmarks/batch_scoring.py`)",
        "",
        f"- date: {time.strftime('%Y-%m-%d')}; machine: {os.cpu_count()} cores; command: "
        f"`{command.strip()}`",
        f"- data: {info['score']['customers']:,} simulated customers, "
        f"{info['score']['transactions']:,} transactions in score.duckdb (ltv.simulate, "
        f"events off, seed 2); model: `ltv train --models gbdt` on {TRAIN_CUSTOMERS:,} customers "
        f"of the same generator (seed 1), cutoff {CUTOFF}, horizon {HORIZON} d, exported and "
        f"promoted; family {split['family']}, trees {split['trees']}",
        f"- `ltv predict --registry ... --name {NAME} --db score.duckdb --cutoff {SCORE_AT} --out "
        f"preds.parquet` (its own process, start to exit): "
        + ", ".join(f"{r:.1f} s" for r in runs) + f" over {len(runs)} runs, "
        f"{split['rows']:,} customers scored",
        f"- the same steps in one process: verify + load {t['verify + load']:.1f} s, features "
        f"({split['features']} columns) {t['features']:.1f} s, scoring {t['scoring']:.1f} s, "
        f"Parquet {t['write']:.1f} s",
        f"- machine CPU busy during the timed part: {busy:.0f} CPU s (all processes)",
        "",
        f"Target (1M customers in under 30 s): **{'met' if max(runs) < 30 else 'MISSED'}** "
        f"(slowest run {max(runs):.1f} s).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=ROOT / "bench_out" / "batch")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--setup-only", action="store_true", help="Build the cached shops "
                        "and model, time nothing (e.g. while the machine is busy).")
    args = parser.parse_args()
    info = setup(args.work, args.customers)
    print(f"setup: {info}", flush=True)
    if args.setup_only:
        return
    busy = _busy_seconds()
    runs = [cli_run(args.work, args.customers, args.work / "preds.parquet")
            for _ in range(args.runs)]
    print(f"ltv predict runs: {[round(r, 1) for r in runs]}", flush=True)
    split = stages(args.work, args.customers, args.work / "preds_inproc.parquet")
    busy = _busy_seconds() - busy
    print(f"stages: {split}", flush=True)
    text = report(args, info, runs, split, busy)
    print(text)
    if not args.no_record:
        write_section("batch-scoring", text)


if __name__ == "__main__":
    main()
