"""Out-of-time accuracy on the two main public datasets, beside the public anchors.

Runs `ltv backtest` (the real CLI, one subprocess per dataset) with the protocol of issue 3:
customers are those with a transaction before the cutoff; amounts are net (quantity x price,
cancellations included); rows without a customer id are dropped; every family is fitted only on
rows before the cutoff. The anchors were measured independently on the same protocol with public
libraries (naive spend rate, pymc-marketing BG/NBD + Gamma-Gamma, LightGBM tweedie on RFM/window
features, a ZILN DNN); the table shows the best anchor per metric.

    python benchmarks/accuracy.py [--models auto,btyd,gbdt,deep] [--datasets online_retail,complete_journey]

It needs ../shared/datasets; it prints a table and rewrites the accuracy section of
benchmarks/RESULTS.md between its markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"

PROTOCOL = {
    "online_retail": dict(path="online_retail/online_retail.parquet", format="uci-online-retail",
                          cutoff="2011-09-10", horizon=90, name="Online Retail"),
    "complete_journey": dict(path="complete_journey/transactions.parquet",
                             format="complete-journey", cutoff="2017-10-02", horizon=91,
                             name="Complete Journey (sales_value)"),
}
# Best anchor per metric (lower is better for decile MAPE).
ANCHORS = {
    "online_retail": {"gini": 0.771, "spearman": 0.505, "decile_mape": 0.213, "top_decile_capture": 0.557},
    "complete_journey": {"gini": 0.868, "spearman": 0.830, "decile_mape": 0.101, "top_decile_capture": 0.334},
}
METRICS = ["gini", "spearman", "decile_mape", "top_decile_capture", "auc", "bias", "coverage"]


def run_dataset(key: str, models: str, out_dir: Path) -> tuple[pd.DataFrame, float]:
    spec = PROTOCOL[key]
    preds = out_dir / f"{key}_predictions.csv"
    report = out_dir / f"{key}_report.html"
    cmd = [str(ROOT / ".venv" / "bin" / "ltv"), "backtest",
           "--transactions", str(DATASETS / spec["path"]), "--format", spec["format"],
           "--cutoff", spec["cutoff"], "--horizon", str(spec["horizon"]),
           "--models", models, "--out", str(preds), "--report", str(report)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return score(preds, key), seconds


def actual_spend(key: str) -> pd.Series:
    """Net spend per customer in [cutoff, cutoff + H), straight from the raw file with pandas.

    Computed independently of ltv's ingest and feature code, so the benchmark checks them too.
    """
    spec = PROTOCOL[key]
    raw = pd.read_parquet(DATASETS / spec["path"])
    if key == "online_retail":
        raw = raw[raw["CustomerID"].notna()]
        frame = pd.DataFrame({"customer_id": raw["CustomerID"].astype("int64").astype(str),
                              "ts": pd.to_datetime(raw["InvoiceDate"]),
                              "amount": raw["Quantity"] * raw["UnitPrice"]})
    else:
        frame = pd.DataFrame({"customer_id": raw["household_id"].astype(str),
                              "ts": pd.to_datetime(raw["transaction_timestamp"]).dt.tz_localize(None),
                              "amount": raw["sales_value"]})
    start = pd.Timestamp(spec["cutoff"])
    end = start + pd.Timedelta(days=spec["horizon"])
    window = frame[(frame["ts"] >= start) & (frame["ts"] < end)]
    return window.groupby("customer_id")["amount"].sum()


def score(predictions_path: Path, key: str) -> pd.DataFrame:
    """Metrics of the written predictions against the independently computed actual spend."""
    sys.path.insert(0, str(ROOT / "src"))
    from ltv.evaluation import metrics

    preds = pd.read_csv(predictions_path, dtype={"customer_id": str})
    actual = actual_spend(key)
    rows = []
    for model, group in preds.groupby("model", sort=False):
        group = group.reset_index(drop=True)
        y = actual.reindex(group["customer_id"]).fillna(0.0).to_numpy()  # no purchase = 0
        values = metrics.evaluate(group, y)
        rows.append({"model": model, "n": len(group), **{m: values.get(m) for m in METRICS}})
    return pd.DataFrame(rows)


def verdict(row: pd.Series, anchors: dict[str, float]) -> str:
    beats = [row[m] < a if m == "decile_mape" else row[m] > a for m, a in anchors.items()]
    return "beats every anchor" if all(beats) else f"beats {sum(beats)}/{len(beats)}"


def markdown(results: dict[str, tuple[pd.DataFrame, float]], command: str) -> str:
    lines = ["<!-- accuracy:start -->",
             "## Accuracy: `ltv backtest` on the public datasets (`benchmarks/accuracy.py`)", "",
             f"- date: {dt.date.today()}; machine: 2 cores, 24 GiB RAM, CPU only",
             f"- command: `{command}`",
             "- protocol: customers with a transaction before the cutoff; net amounts "
             "(quantity x price, cancellations included, duplicates kept); guests dropped; "
             "fit only on rows before the cutoff; anchors = best public-library number per metric", ""]
    for key, (table, seconds) in results.items():
        spec, anchors = PROTOCOL[key], ANCHORS[key]
        lines += [f"### {spec['name']}: cutoff {spec['cutoff']}, horizon {spec['horizon']} days "
                  f"(backtest wall time {seconds:.0f} s)", "",
                  "| model | customers | Gini | Spearman | decile MAPE | top-10% | AUC p_active | bias | coverage | vs anchors |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        lines.append(f"| best anchor | | {anchors['gini']:.3f} | {anchors['spearman']:.3f} | "
                     f"{anchors['decile_mape']:.3f} | {anchors['top_decile_capture']:.3f} | | | | |")
        for _, row in table.iterrows():
            lines.append(f"| {row['model']} | {row['n']:,} | {row['gini']:.3f} | {row['spearman']:.3f} | "
                         f"{row['decile_mape']:.3f} | {row['top_decile_capture']:.3f} | {row['auc']:.3f} | "
                         f"{row['bias']:+.3f} | {row['coverage']:.3f} | {verdict(row, anchors)} |")
        lines.append("")
    lines.append("<!-- accuracy:end -->")
    return "\n".join(lines)


def update_results(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(r"<!-- accuracy:start -->.*<!-- accuracy:end -->", re.S)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="auto,btyd,gbdt,deep")
    parser.add_argument("--datasets", default="online_retail,complete_journey")
    parser.add_argument("--out", default=str(ROOT / "bench_out" / "accuracy"))
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    if not DATASETS.is_dir():
        sys.exit(f"skipped: {DATASETS} is absent (the public datasets live in ../shared/datasets)")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for key in args.datasets.split(","):
        table, seconds = run_dataset(key, args.models, out_dir)
        results[key] = (table, seconds)
        print(f"\n{PROTOCOL[key]['name']} ({seconds:.0f} s); best anchors: {ANCHORS[key]}")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    command = "python benchmarks/accuracy.py " + " ".join(sys.argv[1:])
    if not args.no_record:
        update_results(markdown(results, command.strip()))


if __name__ == "__main__":
    main()
