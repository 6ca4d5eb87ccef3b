"""Churn risk and cold start, out of time, on the two main public datasets.

For each dataset: ingest the raw files into a fresh warehouse (the real adapters), build the
stacked training windows before the cutoff once, then
- churn: `ltv.profiles.evaluate.evaluate_churn` (Brier, AUC, expected calibration error of
  the churn model with isotonic / Platt / no calibration, of the LTV GBDT's 1 - p_active and
  of the base rate of the latest training window) and the reliability curves (tables here,
  a PNG per dataset under --out);
- cold start: `evaluate_cold_start` (cold-start model vs the population mean, the mean of
  first-timers and the general LTV GBDT, on the customers with one purchase day before the
  cutoff);
- profiles: `build_profiles` wall time and the segment sizes.

    python benchmarks/profiles.py [--datasets online_retail,complete_journey] [--no-record]

Needs ../shared/datasets. Appends (or replaces) its section of benchmarks/RESULTS.md between
its markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
START, END = "<!-- profiles:start -->", "<!-- profiles:end -->"

PROTOCOL = {
    "online_retail": dict(path="online_retail/online_retail.parquet", format="uci-online-retail",
                          cutoff="2011-09-10", horizon=90, name="Online Retail"),
    "complete_journey": dict(path="complete_journey", format="complete-journey",
                             cutoff="2017-10-02", horizon=91,
                             name="Complete Journey (with demographics)"),
}


def run(key: str, out: Path) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from ltv.io.ingest import ingest
    from ltv.models.gbdt import GBDTModel
    from ltv.profiles.build import build_profiles, profile_summary
    from ltv.profiles.evaluate import (evaluate_churn, evaluate_cold_start, labeled_cutoff,
                                       training_for)

    spec = PROTOCOL[key]
    db = out / f"{key}.duckdb"
    db.unlink(missing_ok=True)
    ingest(DATASETS / spec["path"], db=db, format=spec["format"])
    cutoff, horizon = spec["cutoff"], spec["horizon"]
    timings = {}
    t = time.perf_counter()
    data = training_for(db, cutoff, horizon, None)
    labeled = labeled_cutoff(db, cutoff, horizon)
    timings["features + windows"] = time.perf_counter() - t
    t = time.perf_counter()
    gbdt = GBDTModel().fit(data)
    timings["LTV GBDT fit"] = time.perf_counter() - t
    t = time.perf_counter()
    churn = evaluate_churn(db, cutoff, horizon, data=data, labeled=labeled, gbdt=gbdt)
    timings["churn fit + evaluate"] = time.perf_counter() - t
    t = time.perf_counter()
    cold = evaluate_cold_start(db, cutoff, horizon, data=data, labeled=labeled, gbdt=gbdt)
    timings["cold start fit + evaluate"] = time.perf_counter() - t
    t = time.perf_counter()
    profile = build_profiles(db, cutoff, horizon)
    timings["build_profiles (fits everything)"] = time.perf_counter() - t
    plot = plot_reliability(churn.reliability, out / f"{key}_reliability.png", spec["name"])
    return {"spec": spec, "churn": churn, "cold": cold, "timings": timings, "plot": plot,
            "windows": (len(data.windows), data.windows["cutoff"].nunique()),
            "calibration": churn.model.calibration_, "summary": profile_summary(profile),
            "tiers": profile["ltv_tier"].value_counts(dropna=False)}


def plot_reliability(tables: dict, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    for name, table in tables.items():
        if name.startswith("base rate"):
            continue
        ax.plot(table["mean_pred"], table["observed"], marker="o", ms=3, label=name)
    ax.set_xlabel("forecast churn risk (bin mean)")
    ax.set_ylabel("observed churn rate")
    ax.set_title(f"Reliability: {title}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fmt(value, digits=3) -> str:
    return "" if value != value else f"{value:.{digits}f}"


def markdown(results: dict, command: str) -> str:
    lines = [START, "## Profiles: churn risk and cold start out of time (`benchmarks/profiles.py`)",
             "", f"- date: {dt.date.today()}; machine: 2 cores shared with other jobs, CPU only",
             f"- command: `{command}`",
             "- protocol: fit on the stacked training windows before the cutoff (labels end by "
             "it); score the customers with a transaction before the cutoff on "
             "[cutoff, cutoff + H). Churn = no purchase line in the horizon. The base rate and "
             "the constant cold-start baselines come from the latest training window "
             "(known at the cutoff). ECE = count-weighted mean |forecast - observed| over 10 "
             "equal-width bins.", ""]
    for key, res in results.items():
        spec = res["spec"]
        n_rows, n_windows = res["windows"]
        lines += [f"### {spec['name']}: cutoff {spec['cutoff']}, horizon {spec['horizon']} days",
                  "", f"Training: {n_rows:,} rows from {n_windows} windows (origins "
                  f"{res['calibration']['windows'][0][:10]} .. "
                  f"{res['calibration']['windows'][1][:10]}); \"crossfit\" calibrates on "
                  "out-of-fold scores of all of them, \"latest\" on the stage-1 scores of the "
                  "latest one.", "",
                  "| churn forecast | customers | churn rate | mean forecast | Brier | AUC | ECE |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, row in res["churn"].scores.iterrows():
            lines.append(f"| {name} | {int(row['n']):,} | {fmt(row['churn_rate'])} | "
                         f"{fmt(row['mean_risk'])} | {fmt(row['brier'], 4)} | {fmt(row['auc'])} "
                         f"| {fmt(row['ece'])} |")
        default = res["churn"].reliability["churn model, isotonic on crossfit"]
        lines += ["", "Reliability curve of the default churn risk (isotonic on crossfit) "
                  f"(plot: `{_shown(res['plot'])}`, not committed):", "",
                  "| bin | mean forecast | observed | customers |", "|---|---:|---:|---:|"]
        for _, row in default.iterrows():
            lines.append(f"| [{row['lo']:.1f}, {row['hi']:.1f}) | {row['mean_pred']:.3f} | "
                         f"{row['observed']:.3f} | {int(row['n']):,} |")
        lines += ["", "| cold start: slice | predictor | customers | mean pred | mean actual | "
                  "Gini | Spearman | top-10% | decile MAPE | MAE | bias |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for _, row in res["cold"].iterrows():
            lines.append(f"| {row['slice']} | {row['predictor']} | {int(row['n']):,} | "
                         f"{fmt(row['mean_pred'], 1)} | {fmt(row['mean_actual'], 1)} | "
                         f"{fmt(row['gini'])} | {fmt(row['spearman'])} | "
                         f"{fmt(row['top_decile_capture'])} | {fmt(row['decile_mape'])} | "
                         f"{fmt(row['mae'], 1)} | {fmt(row['bias'])} |")
        summary = res["summary"]
        lines += ["", "Segments at the cutoff (rules fitted on this population): " + ", ".join(
            f"{seg} {int(r['customers']):,}" for seg, r in summary.iterrows()) + "; LTV tiers: "
            + ", ".join(f"{k} {v:,}" for k, v in res["tiers"].items()) + ".", "",
            "Wall times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in res["timings"].items())
            + ".", ""]
    lines.append(END)
    return "\n".join(lines)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def update_results(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(START) + ".*" + re.escape(END), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else \
        text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="online_retail,complete_journey")
    parser.add_argument("--out", default=str(ROOT / "bench_out" / "profiles"))
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    if not DATASETS.is_dir():
        sys.exit(f"skipped: {DATASETS} is absent (the public datasets live in ../shared/datasets)")
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    warnings.simplefilter("ignore")
    results = {key: run(key, out) for key in args.datasets.split(",")}
    section = markdown(results, "python benchmarks/profiles.py " + " ".join(sys.argv[1:]))
    print(section)
    if not args.no_record:
        update_results(section)


if __name__ == "__main__":
    main()
