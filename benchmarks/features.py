"""Feature building speed, raw Parquet -> feature table, and agreement with `lifetimes`.

    .venv/bin/python benchmarks/features.py [--sizes 1e6,1e7] [--data-dir bench_out/features]
                                            [--cutoff 2023-10-03] [--horizon 90] [--no-lifetimes]

For each size, simulated canonical transactions (`ltv.simulate`, events off; a small built-in
generator when `ltv.simulate` cannot be imported) are written once under --data-dir and reused.
Each size then runs in its own subprocess: `build_features(transactions=<parquet glob>,
cutoff, horizon_days, labels=True, out=<parquet>, return_frame=False)`, timed wall-clock, with
the peak RSS of that process (DuckDB included) from ru_maxrss.

On the smallest size it also times lifetimes' `summary_data_from_transaction_data` and
`calibration_and_holdout_data` against ltv's `btyd_summary` on the same purchase lines, both
the same way in one process (warm-up, then alternating rounds, medians; loading the Parquet
into pandas for lifetimes is timed separately and not counted), asserts that frequency /
recency / T and frequency_holdout equal ltv's frequency / recency / T and
label_purchase_days for every customer, and reports the speedup.
lifetimes is a bench-only dependency: `pip install -e '.[bench]'`. 0.11.3 runs under the
project's pandas 3 / numpy 2 as long as `calibration_and_holdout_data` gets a
monetary_value_col (see btyd_worker), so no separate environment is needed.

Results are printed and written into benchmarks/RESULTS.md (the "features" section is
replaced, other sections are kept) with the exact command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
START, END = "2022-01-01", "2023-12-31"  # simulated observation period (END inclusive)
TX_PER_CUSTOMER = 9.8  # what ltv.simulate's defaults give over START..END
SECTION_START, SECTION_END = "<!-- features:start -->", "<!-- features:end -->"
RUNS = 7  # timed rounds of the lifetimes comparison (after one warm-up call each)


# --- data ------------------------------------------------------------------------------------

def label(size: int) -> str:
    for unit, div in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if size >= div:
            return f"{size / div:g}{unit}"
    return str(size)


def make_data(size: int, data_dir: Path, seed: int) -> dict:
    """Write about `size` canonical transactions under data_dir/<label>/ (once) and describe them."""
    folder = data_dir / label(size)
    done = folder / "_done.json"
    if done.exists():
        return json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        from ltv.simulate import SimulationParams, simulate
    except ImportError:
        info = _fallback_generator(size, folder, seed)
    else:
        n_customers = max(1, round(size / TX_PER_CUSTOMER))
        result = simulate(n_customers, folder, seed=seed, start=START, end=END,
                          params=SimulationParams(events=False))
        info = {"generator": "ltv.simulate", "customers": result.n_customers,
                "transactions": result.n_transactions}
    info.update(glob=str(folder / "transactions" / "*.parquet"),
                seconds=round(time.perf_counter() - start, 1))
    done.write_text(json.dumps(info))
    return info


def _fallback_generator(size: int, folder: Path, seed: int) -> dict:
    """Canonical transactions without ltv.simulate: orders of 3 lines, skewed customers, 3%
    returns, 40 categories, uniform over START..END. Deterministic (hash-based)."""
    import duckdb

    out = folder / "transactions"
    out.mkdir(parents=True, exist_ok=True)
    n_customers = max(1, round(size / TX_PER_CUSTOMER))
    span_us = (dt.date.fromisoformat(END) - dt.date.fromisoformat(START)).days * 86_400 * 10**6
    con = duckdb.connect()
    con.execute(f"""
        COPY (
          WITH u AS (SELECT i, i // 3 AS o,
                       (hash(i // 3, {seed}) % 1000000) / 1e6 AS u1,
                       (hash(i // 3, {seed + 1}) % 1000000) / 1e6 AS u2,
                       (hash(i, {seed + 2}) % 1000000) / 1e6 AS u3,
                       hash(i, {seed + 3}) % 1000 AS p
                     FROM range({size}) t(i))
          SELECT CAST(CAST(floor({n_customers} * u1 * u1) AS BIGINT) AS VARCHAR) AS customer_id,
                 TIMESTAMP '{START}' + to_microseconds(CAST(u2 * {span_us} AS BIGINT)) AS ts,
                 CASE WHEN u3 < 0.03 THEN -1 ELSE 1 END * round(5 + 100 * u3 * u3, 2) AS amount,
                 CAST(o AS VARCHAR) AS order_id, 'p' || p AS product_id,
                 'cat' || (p % 40) AS category,
                 CASE WHEN u3 < 0.03 THEN -1.0 ELSE 1.0 END AS quantity, 'web' AS channel
          FROM u) TO '{out}' (FORMAT parquet, PER_THREAD_OUTPUT true, OVERWRITE true)""")
    customers = con.execute(f"SELECT count(DISTINCT customer_id) FROM '{out}/*.parquet'").fetchone()[0]
    return {"generator": "fallback (benchmarks/features.py)", "customers": customers,
            "transactions": size}


# --- workers (run in their own process, so that ru_maxrss is theirs) -------------------------

def ltv_worker(glob: str, cutoff: str, horizon: int, out: str) -> dict:
    from ltv.features.build import build_features

    stages = []

    class Collect(logging.Handler):
        def emit(self, record):
            stages.append(record.getMessage())

    logger = logging.getLogger("ltv.features")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Collect())
    busy = _machine_busy_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    build_features(transactions=glob, cutoff=cutoff, horizon_days=horizon, labels=True,
                   out=out, return_frame=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    busy = _machine_busy_seconds() - busy
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(out).metadata
    return {"seconds": wall, "cpu_seconds": cpu, "rows": meta.num_rows,
            "columns": meta.num_columns, "max_rss_gb": _max_rss_gb(), "stages": stages,
            "other_cpu_seconds": max(busy - cpu, 0.0)}


def _machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used (Linux /proc/stat; 0 elsewhere):
    the difference over a run, minus the run's own CPU, is what other work took meanwhile."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def btyd_worker(glob: str, cutoff: str, horizon: int, out: str) -> dict:
    """lifetimes and ltv's btyd_summary timed the same way, in this one process: after one
    untimed warm-up call of each, RUNS rounds that each time one lifetimes computation and
    one ltv call back to back, so that whatever else the machine is doing weighs on both.
    lifetimes gets its input already in pandas (the load is timed apart and not counted);
    ltv reads the raw Parquet in every call."""
    import pandas as pd
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

    from ltv.features import btyd_summary

    start = time.perf_counter()
    tx = pd.read_parquet(sorted(Path(glob).parent.glob("*.parquet")),
                         columns=["customer_id", "ts", "amount"])
    purchases = tx[tx["amount"] > 0]  # BTYD purchases: returns are not purchases
    load = time.perf_counter() - start
    cut = pd.Timestamp(cutoff)
    # cutoff is exclusive in ltv; lifetimes' ends are inclusive, so end 1 ns before
    cal_end = cut - pd.Timedelta(1, "ns")
    obs_end = cut + pd.Timedelta(days=horizon) - pd.Timedelta(1, "ns")

    def lifetimes_run():
        t0 = time.perf_counter()
        summary = summary_data_from_transaction_data(
            purchases[purchases["ts"] < cut], "customer_id", "ts", monetary_value_col="amount",
            freq="D", observation_period_end=cut - pd.Timedelta(days=1))
        t1 = time.perf_counter()
        # monetary_value_col is required here: without a value column lifetimes 0.11.3's
        # holdout groupby has nothing left to aggregate and pandas >= 3 raises "No objects
        # to concatenate"
        cal = calibration_and_holdout_data(purchases, "customer_id", "ts",
                                           calibration_period_end=cal_end,
                                           observation_period_end=obs_end, freq="D",
                                           monetary_value_col="amount")
        t2 = time.perf_counter()
        return summary.join(cal[["frequency_holdout", "duration_holdout"]]), t1 - t0, t2 - t1

    def ltv_run():
        t0 = time.perf_counter()
        table = btyd_summary(transactions=glob, cutoff=cutoff, horizon_days=horizon)
        return table, time.perf_counter() - t0

    # warm-up, not counted: first-call costs (imports, caches, ltv's scratch DuckDB database)
    t0 = time.perf_counter()
    lifetimes_run()
    first_lifetimes = time.perf_counter() - t0
    first_ltv = ltv_run()[1]
    rounds = []
    for _ in range(RUNS):
        ref, t_summary, t_cal = lifetimes_run()
        table, t_ltv = ltv_run()
        rounds.append((t_summary, t_cal, t_ltv))
    ref.reset_index().to_parquet(Path(out).with_name("lifetimes_summary.parquet"))
    table.to_parquet(out)
    med = statistics.median
    return {"load_seconds": load, "runs": RUNS,
            "first_call_seconds": [first_lifetimes, first_ltv],
            "summary_seconds": med(r[0] for r in rounds),
            "calibration_holdout_seconds": med(r[1] for r in rounds),
            "lifetimes_seconds": med(r[0] + r[1] for r in rounds),
            "lifetimes_range": [min(r[0] + r[1] for r in rounds),
                                max(r[0] + r[1] for r in rounds)],
            "ltv_seconds": med(r[2] for r in rounds),
            "ltv_range": [min(r[2] for r in rounds), max(r[2] for r in rounds)],
            "speedup_per_round": [(r[0] + r[1]) / r[2] for r in rounds],
            "rows": len(table), "customers": len(ref)}


def _max_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def run_worker(kind: str, *args) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{kind} worker failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- comparison ------------------------------------------------------------------------------

def compare(ltv_out: str, lifetimes_out: str, holdout: str) -> dict:
    """Check ltv's table (`holdout` names its frequency_holdout column) against lifetimes'."""
    import numpy as np
    import pandas as pd

    ours = pd.read_parquet(ltv_out, columns=["customer_id", "frequency", "recency", "T",
                                             "monetary_value", holdout])
    ours = ours.rename(columns={holdout: "label_purchase_days"})
    ref = pd.read_parquet(lifetimes_out)
    ref["customer_id"] = ref["customer_id"].astype(str)
    merged = ref.merge(ours, on="customer_id", how="left", suffixes=("_lt", ""))
    assert merged["frequency"].notna().all(), "customers missing from ltv's table"
    with_purchase = ours[ours["frequency"] > 0].shape[0]
    for col in ("frequency", "recency", "T"):
        bad = (merged[col] != merged[f"{col}_lt"]).sum()
        assert bad == 0, f"{col}: {bad} customers differ from lifetimes"
    bad = (merged["label_purchase_days"] != merged["frequency_holdout"]).sum()
    assert bad == 0, f"label_purchase_days != frequency_holdout for {bad} customers"
    assert (merged["duration_holdout"] > 0).all()
    mv = np.abs(merged["monetary_value"] - merged["monetary_value_lt"])
    return {"customers_compared": len(merged), "ltv_customers_with_repeat": with_purchase,
            "max_abs_monetary_diff": float(mv.max())}


# --- report ----------------------------------------------------------------------------------

def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    except (OSError, TypeError):
        mem = 0
    import duckdb

    return (f"{os.cpu_count()} cores ({cpu}), {mem / 1024**2:.0f} GiB RAM, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def write_results(text: str) -> None:
    section = f"{SECTION_START}\n{text.rstrip()}\n{SECTION_END}\n"
    if RESULTS.exists():
        current = RESULTS.read_text()
    else:
        current = ("# Benchmark results\n\nEvery number here comes from a script in "
                   "`benchmarks/`, run with the command shown next to it.\n\n")
    if SECTION_START in current and SECTION_END in current:
        head, rest = current.split(SECTION_START, 1)
        tail = rest.split(SECTION_END, 1)[1].lstrip("\n")
        current = head + section + ("\n" + tail if tail else "")
    else:
        current = current.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7",
                        help="transaction counts, comma separated (e.g. 1e6,1e7,1e8)")
    parser.add_argument("--data-dir", default="bench_out/features", type=Path)
    parser.add_argument("--cutoff", default="2023-10-03")
    parser.add_argument("--horizon", default=90, type=int)
    parser.add_argument("--seed", default=1, type=int)
    parser.add_argument("--no-lifetimes", action="store_true", help="skip the lifetimes comparison")
    parser.add_argument("--no-results", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        fn = {"ltv": ltv_worker, "btyd": btyd_worker}[kind]
        print(json.dumps(fn(rest[0], rest[1], int(rest[2]), rest[3])))
        return

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    command = "python benchmarks/features.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    rows, notes, stage_lines = [], [], []
    lifetimes_done = None
    for size in sizes:
        data = make_data(size, args.data_dir, args.seed)
        out = args.data_dir / f"features_{label(size)}.parquet"
        print(f"[{label(size)}] {data['transactions']:,} transactions, {data['customers']:,} "
              f"customers ({data['generator']}); building features ...", flush=True)
        res = run_worker("ltv", data["glob"], args.cutoff, args.horizon, out)
        rows.append((size, data, res))
        print(f"[{label(size)}] {res['seconds']:.1f} s wall, {res['cpu_seconds']:.1f} s CPU, "
              f"peak RSS {res['max_rss_gb']:.2f} GiB, {res['rows']:,} x {res['columns']}",
              flush=True)
        if size == sizes[-1]:
            stage_lines = res["stages"]
        if lifetimes_done is None and not args.no_lifetimes:
            lifetimes_done = lifetimes_compare(data, args, out, res)
    text = report(rows, lifetimes_done, stage_lines, command, args)
    print("\n" + text)
    if not args.no_results:
        write_results(text)
        print(f"updated {RESULTS}")


def lifetimes_compare(data: dict, args, ltv_out: Path, ltv_res: dict) -> dict | None:
    try:
        import lifetimes  # noqa: F401
    except ImportError:
        print("lifetimes is not installed (pip install -e '.[bench]'): comparison skipped")
        return None
    print(f"lifetimes vs ltv btyd_summary on the same data, {RUNS} alternating rounds ...",
          flush=True)
    ref_out = args.data_dir / "lifetimes_summary.parquet"
    summary_out = args.data_dir / "btyd_summary.parquet"
    bt = run_worker("btyd", data["glob"], args.cutoff, args.horizon, summary_out)
    agreement = compare(str(ltv_out), str(ref_out), "label_purchase_days")
    agreement_summary = compare(str(summary_out), str(ref_out), "frequency_holdout")
    assert bt["rows"] == agreement_summary["customers_compared"]
    result = {"data": data, "btyd": bt, "agreement": agreement, "ltv": ltv_res,
              "speedup": bt["lifetimes_seconds"] / bt["ltv_seconds"],
              "speedup_full": bt["lifetimes_seconds"] / ltv_res["seconds"]}
    print(f"lifetimes {bt['lifetimes_seconds']:.2f} s (+{bt['load_seconds']:.2f} s loading) vs "
          f"ltv btyd_summary {bt['ltv_seconds']:.3f} s (medians of {RUNS}): "
          f"{result['speedup']:.0f}x, per round {min(bt['speedup_per_round']):.0f}x to "
          f"{max(bt['speedup_per_round']):.0f}x (full feature build {ltv_res['seconds']:.2f} s: "
          f"{result['speedup_full']:.1f}x); identical frequency/recency/T and "
          f"frequency_holdout for all {agreement['customers_compared']:,} customers, in both "
          "ltv tables", flush=True)
    return result


def report(rows, lt, stage_lines, command, args) -> str:
    today = dt.date.today().isoformat()
    lines = [
        "## Features: raw Parquet -> point-in-time feature table (`benchmarks/features.py`)",
        "",
        f"- date: {today}; machine: {machine()}",
        f"- command: `{command}`",
        f"- work: `build_features(transactions=<parquet glob>, cutoff={args.cutoff}, "
        f"horizon_days={args.horizon}, labels=True, out=<parquet>, return_frame=False)`: "
        "every feature family that transactions alone give (BTYD summary, totals, 5 windows, "
        "trends, intervals, top-10 category shares, 52-week sequences) plus labels, written "
        "to Parquet. One subprocess per size; peak RSS is that process's ru_maxrss; others' "
        "CPU s: what other processes of the machine used during the run (/proc/stat), since "
        "the 2 cores are shared.",
        "",
        "| transactions | customers | feature rows x cols | wall s | CPU s | others' CPU s "
        "| peak RSS GiB | data |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size, data, res in rows:
        lines.append(f"| {data['transactions']:,} | {data['customers']:,} | {res['rows']:,} x "
                     f"{res['columns']} | {res['seconds']:.1f} | {res['cpu_seconds']:.1f} | "
                     f"{res['other_cpu_seconds']:.0f} | {res['max_rss_gb']:.2f} | "
                     f"{data['generator']} |")
    big = [(data, res) for size, data, res in rows if size >= 10**8]
    if big:
        data, res = big[-1]
        verdict = "met" if res["seconds"] < 120 else "NOT met"
        lines += ["", f"Target (100M transactions in under 2 minutes on this box): **{verdict}** "
                  f"({res['seconds']:.0f} s wall, {res['cpu_seconds']:.0f} s CPU). The simulator "
                  f"gives {data['transactions'] / data['customers']:.1f} transactions per "
                  "customer, so the table has one row per ~10 transactions and per-customer "
                  "work (the customer pass, the final join, 2 x 52-element sequences and "
                  "Parquet encoding of the 10M-row output) is more than half of the time. "
                  f"Other processes used {res['other_cpu_seconds']:.0f} CPU seconds of the "
                  f"machine during this run (of {os.cpu_count()} x {res['seconds']:.0f} s): "
                  "the cores are shared, and wall time grows with what others take."]
    if stage_lines:
        lines += ["", f"Stages of the largest run ({label(rows[-1][0])}), from the "
                  "`ltv.features` debug log (CPU counts all threads). customers: the one scan "
                  "of the lines grouped to (customer, day, order), one window and one GROUP BY "
                  "for BTYD, totals, windows, intervals, sparse weekly lists and labels; "
                  "percat + categories: category shares (a second scan of the lines); "
                  "write: the final join streamed out as Arrow batches, dense weekly lists in "
                  "numpy, Parquet encoded by pyarrow on its own thread:", "", "```",
                  *stage_lines, "```"]
    if lt:
        a, t = lt["agreement"], lt["btyd"]
        ratios = t["speedup_per_round"]
        lines += [
            "",
            f"### Against lifetimes 0.11.3 on the {lt['data']['transactions']:,}-transaction "
            "data (same cutoff and horizon)",
            "",
            f"Both sides timed the same way, in one process: one untimed warm-up call each, "
            f"then {t['runs']} rounds of one lifetimes computation followed by one ltv call; "
            "medians (range) in seconds. lifetimes gets the purchase lines already in pandas; "
            "ltv reads the raw Parquet in every call. The warm-up calls took "
            f"{t['first_call_seconds'][0]:.2f} s (lifetimes) and {t['first_call_seconds'][1]:.3f}"
            " s (ltv, which opens its process-wide scratch DuckDB database there).",
            "",
            "| what | median s | range s |",
            "|---|---:|---:|",
            f"| lifetimes `summary_data_from_transaction_data` | {t['summary_seconds']:.2f} | |",
            f"| lifetimes `calibration_and_holdout_data` | "
            f"{t['calibration_holdout_seconds']:.2f} | |",
            f"| lifetimes, both together | {t['lifetimes_seconds']:.2f} | "
            f"{t['lifetimes_range'][0]:.2f} - {t['lifetimes_range'][1]:.2f} |",
            f"| (lifetimes: loading the Parquet into pandas, once, not counted) | "
            f"{t['load_seconds']:.2f} | |",
            f"| ltv `btyd_summary(transactions=<parquet>, cutoff, horizon_days)`, from raw "
            f"Parquet: the same two tables in one query | {t['ltv_seconds']:.3f} | "
            f"{t['ltv_range'][0]:.3f} - {t['ltv_range'][1]:.3f} |",
            f"| ltv `build_features`, all {lt['ltv']['columns']} columns incl. labels, from raw "
            f"Parquet (the benchmark run above, once) | {lt['ltv']['seconds']:.2f} | |",
            "",
            f"Speedup of ltv's BTYD summary + holdout over lifetimes: **{lt['speedup']:.0f}x** "
            f"(ratio of the medians; per round {min(ratios):.0f}x to {max(ratios):.0f}x; the "
            f"whole feature table, {lt['speedup_full']:.1f}x). frequency, recency and T "
            f"are identical for all {a['customers_compared']:,} customers lifetimes reports, "
            "and frequency_holdout == label_purchase_days for all of them, in both ltv "
            f"tables; monetary_value agrees to {a['max_abs_monetary_diff']:.1e} (float "
            "summation order). lifetimes got the purchase lines (amount > 0), calibration end "
            "cutoff - 1 ns and observation end cutoff + horizon - 1 ns (its ends are inclusive, "
            "ltv's cutoff is exclusive). lifetimes 0.11.3 runs in the project's venv (pandas 3, "
            "numpy 2) once `calibration_and_holdout_data` is given a monetary_value_col.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
