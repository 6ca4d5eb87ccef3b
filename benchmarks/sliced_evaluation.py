"""Sliced evaluation on the two main public datasets: which groups the backtest report flags.

Runs `ltv backtest` (the real CLI) with the accuracy protocol of `benchmarks/accuracy.py`
(Online Retail: cutoff 2011-09-10, H 90, country as an attribute; Complete Journey: cutoff
2017-10-02, H 91, demographics for 801 households), then reads the report's "Metrics by
segment" tables: every attribute, the RFM segment and the LTV tier at the cutoff, for the
model with the highest Gini, and lists the groups flagged (`ltv.evaluation.slices`).

    python benchmarks/sliced_evaluation.py [--models auto] \
        [--datasets online_retail,complete_journey]

Then, on the same predictions, it plants a spend shift after the cutoff in one country
(income group) at a time, actual spend x 1.25 ... x 3, and says which groups the rule flags:
how big a shift it takes before a group of that size is found, and that no other is.

It needs ../shared/datasets; it prints one block per dataset (markdown, for RESULTS.md).
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from accuracy import DATASETS, PROTOCOL, ROOT, actual_spend  # noqa: E402


def run(key: str, models: str, out_dir: Path) -> tuple[Path, float]:
    spec = PROTOCOL[key]
    report = out_dir / f"{key}_sliced_report.html"
    cmd = [str(ROOT / ".venv" / "bin" / "ltv"), "backtest",
           "--transactions", str(DATASETS / spec["path"]), "--format", spec["format"],
           "--cutoff", spec["cutoff"], "--horizon", str(spec["horizon"]), "--models", models,
           "--out", str(out_dir / f"{key}_sliced_predictions.csv"), "--report", str(report)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return report, time.perf_counter() - started


def cells(row: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c))
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def read_slices(report: Path) -> tuple[str, dict[str, list[list[str]]], str]:
    """(model shown, {slice column: [cells of each group row]}, the flag sentence)."""
    text = report.read_text(encoding="utf-8")
    section = text[text.index('<section id="slices"'):]
    section = section[:section.index("</section>")]
    model = re.search(r"Model <b>(.*?)</b>", section).group(1)
    tables: dict[str, list[list[str]]] = {}
    for key, body in re.findall(r'<tr class="(?:flag)?" data-group="([^"]*)">(.*?)</tr>',
                                section):
        column = html.unescape(key).split("=", 1)[0]
        tables.setdefault(column, []).append(cells(body))
    sentence = re.search(r"<p(?: class=\"warning\")?>((?:\u26a0|No group).*?)</p>", section)
    return model, tables, html.unescape(re.sub(r"<[^>]+>", "", sentence.group(1)))


def markdown(key: str, models: str, report: Path, seconds: float) -> str:
    spec = PROTOCOL[key]
    model, tables, sentence = read_slices(report)
    lines = [f"### {spec['name']}: cutoff {spec['cutoff']}, horizon {spec['horizon']} days "
             f"(`--models {models}`, slices of {model}; backtest {seconds:.0f} s)", "",
             "| slice | groups | flagged (customers, bias, MAE / overall, error vs alike, "
             "decile MAPE, flag) |", "|---|---|---|"]
    for column, rows in tables.items():
        flagged = [r for r in rows if r[-1].startswith("\u26a0")]
        text = "; ".join(f"**{r[0]}** ({r[1]}, {r[5]}, {r[8]}, {r[9]}, {r[10]}, {r[11]})"
                         for r in flagged) or "none"
        lines.append(f"| {column} | {len(rows)} | {text} |")
    lines += ["", f"Report sentence: {sentence}", ""]
    return "\n".join(lines)


PLANTS = {"online_retail": ("country", ["Germany", "France"]),
          "complete_journey": ("income", ["50-74K", "Under 15K"])}
FACTORS = (1.25, 1.5, 2.0, 3.0)


def attribute(key: str) -> pd.Series:
    """The planted attribute per customer, straight from the raw files (Online Retail: the
    country of the customer's last line before the cutoff; Complete Journey: income)."""
    spec = PROTOCOL[key]
    if key == "online_retail":
        raw = pd.read_parquet(DATASETS / spec["path"], columns=["CustomerID", "Country",
                                                                 "InvoiceDate"])
        raw = raw[raw["CustomerID"].notna()
                  & (pd.to_datetime(raw["InvoiceDate"]) < pd.Timestamp(spec["cutoff"]))]
        last = raw.sort_values("InvoiceDate", kind="stable").groupby("CustomerID").last()
        return last["Country"].set_axis(last.index.astype("int64").astype(str))
    demo = pd.read_parquet(DATASETS / "complete_journey" / "demographics.parquet")
    return demo.set_index(demo["household_id"].astype(str))["income"].astype(str)


def power(key: str, out_dir: Path) -> str:
    """Plant a spend shift after the cutoff (actual x factor) in one group at a time and say
    whether the flag rule finds it, on the real predictions and actual spend. A shift after
    the cutoff changes nothing the model saw, so only the actual values move."""
    from ltv.evaluation.slices import sliced

    preds = pd.read_csv(out_dir / f"{key}_sliced_predictions.csv", dtype={"customer_id": str})
    preds = preds[preds["model"] == "auto"].reset_index(drop=True)
    actual = actual_spend(key).reindex(preds["customer_id"]).fillna(0.0).to_numpy()
    column, targets = PLANTS[key]
    groups = attribute(key).reindex(preds["customer_id"]).fillna("(missing)").to_numpy()
    lines = [f"Planted after-cutoff shifts ({column}, model auto, actual spend x factor in one "
             "group): flagged groups", "", "| group | customers | "
             + " | ".join(f"x{k:g}" for k in FACTORS) + " |",
             "|---|---|" + "---|" * len(FACTORS)]
    base = sliced(preds, actual, groups)
    lines.append(f"| (none planted) | - | {', '.join(base.index[base['flagged']]) or 'none'} |"
                 + " |" * (len(FACTORS) - 1))
    for target in targets:
        inside = groups == target
        cells = []
        for factor in FACTORS:
            table = sliced(preds, np.where(inside, actual * factor, actual), groups)
            cells.append(", ".join(map(str, table.index[table["flagged"]])) or "none")
        lines.append(f"| {target} | {int(inside.sum())} | " + " | ".join(cells) + " |")
    return "\n".join(lines + [""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="auto")
    parser.add_argument("--datasets", default="online_retail,complete_journey")
    parser.add_argument("--out", type=Path, default=ROOT / "bench_out" / "sliced")
    args = parser.parse_args()
    if not DATASETS.is_dir():
        sys.exit(f"{DATASETS} is absent: this benchmark needs the shared datasets")
    args.out.mkdir(parents=True, exist_ok=True)
    for key in args.datasets.split(","):
        report, seconds = run(key, args.models, args.out)
        print(markdown(key, args.models, report, seconds), flush=True)
        if args.models == "auto":
            print(power(key, args.out), flush=True)


if __name__ == "__main__":
    main()
