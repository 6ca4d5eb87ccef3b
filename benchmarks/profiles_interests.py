"""Category interests out of time: InterestModel vs its baselines on three real datasets.

For each dataset the warehouse is built with `ltv.io.ingest` (the adapters of `ltv ingest`),
the model is fitted on windows that end by the evaluation cutoff (`fit(db, cutoff)`: features
at cutoff - i x horizon, labels up to the cutoff) and scored on [cutoff, cutoff + horizon)
over the customers seen before the cutoff (`evaluate`), next to three baselines: the
customer's own category shares backed off to popularity (history_share), their activity in
the category in the last horizon (recent_count), and popularity alone.

    python benchmarks/profiles_interests.py [--only complete_journey,rees46,rees46_2h,taobao]

- complete_journey: departments (products.department), purchases, cutoff 2017-10-02,
  horizon 91 days, 2 training windows (origins 2017-07-03 and 2017-04-03).
- rees46: REES46 head, events (view/cart/purchase) by top-level category_code
  (category_depth=1). The sample is dense only from 02:17 to 02:50 (a burst at 00:00-00:20,
  ~20 events per 10 minutes between), so the split is inside the dense part: cutoff 02:40,
  horizon 10 minutes, training origins 02:30 and 02:20.
- rees46_2h: the split "first 2 hours -> next 50 minutes": only 14 of the 483 customers seen
  before 02:00 come back after it; shown to say why it is not the one reported first.
- taobao: Taobao head (43 users, 9 days), events by category_id (top 20 of 567), cutoff
  2017-12-02, horizon 1 day, 4 training windows. Tiny: read its numbers as a smoke test.

It needs ../shared/datasets (exits with a message without it); warehouses and a JSON of all
metrics go to bench_out/interests/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
OUT = ROOT / "bench_out" / "interests"

RUNS = {
    "complete_journey": dict(source="complete_journey", format="complete-journey",
                             cutoff="2017-10-02", params=dict(horizon=91, n_windows=2)),
    "rees46": dict(source="rees46_sample/events_2019-10-01_head.csv", format="rees46",
                   cutoff="2019-10-01 02:40",
                   params=dict(horizon="10min", n_windows=2, category_depth=1,
                               label_from="events")),
    "rees46_2h": dict(source="rees46_sample/events_2019-10-01_head.csv", format="rees46",
                      cutoff="2019-10-01 02:00",
                      params=dict(horizon="50min", n_windows=2, category_depth=1,
                                  label_from="events")),
    "taobao": dict(source="taobao_sample/user_behavior_head.csv", format="taobao",
                   cutoff="2017-12-02", params=dict(horizon=1, n_windows=4,
                                                    top_k_categories=20)),
}
SCORES = ("model", "history_share", "recent_count", "popularity")
SHOWN = ("macro_auc", "micro_auc", "precision@1", "precision@3", "precision@5", "recall@3")


def warehouse(key: str) -> Path:
    from ltv.io.ingest import ingest

    spec = RUNS[key]
    db = OUT / f"{spec['format']}.duckdb"
    if not db.exists():  # ingestion is idempotent, but skipping it keeps reruns quick
        ingest(str(DATASETS / spec["source"]), db=db, format=spec["format"])
    return db


def run(key: str) -> dict:
    from ltv.profiles.interests import InterestModel

    spec = RUNS[key]
    db = warehouse(key)
    started = time.perf_counter()
    model = InterestModel(**spec["params"]).fit(db, spec["cutoff"])
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    predictions = model.predict(db, spec["cutoff"])
    predict_s = time.perf_counter() - started
    result = model.evaluate(db, spec["cutoff"])
    result.update(dataset=key, params=spec["params"], fit_s=fit_s, predict_s=predict_s,
                  rows=len(predictions), label_from=model.layout_.label_from,
                  categories=list(model.layout_.categories),
                  validation_score=model.validation_["score"],
                  validation={k: {m: v.get(m) for m in SHOWN}
                              for k, v in model.validation_["metrics"].items()})
    return result


def show(r: dict) -> None:
    m = r["model"]
    print(f"\n## {r['dataset']}: cutoff {r['cutoff']}, horizon {r['horizon']}, labels from "
          f"{r['label_from']}, strategy {r['strategy']} (validation score "
          + ", ".join(f"{k} {v:.3f}" for k, v in r["validation_score"].items()) + ")")
    print(f"customers {m['customers']:,} ({m['customers_with_positive']:,} with a label), "
          f"labels {m['labels']} ({m['labels_skipped']} one-class, skipped by AUC), positive "
          f"rate {m['positive_rate']:.4f}; fit {r['fit_s']:.1f} s, predict {r['predict_s']:.1f} s")
    print("| scores | " + " | ".join(SHOWN) + " |")
    print("|---|" + "---|" * len(SHOWN))
    for name in SCORES:
        row = r[name]
        print(f"| {name} | " + " | ".join(_fmt(row.get(k)) for k in SHOWN) + " |")


def per_label(r: dict, top: int = 12) -> None:
    """Per-label AUC of the most common categories (by position: the layout is ordered by
    customers before the cutoff)."""
    print(f"\nper-label AUC, {r['dataset']} (first {top} categories by customers):")
    print("| category | model | history_share | recent_count |")
    print("|---|---|---|---|")
    for cat in r["categories"][:top]:
        print(f"| {cat} | " + " | ".join(_fmt(r[s]["per_label_auc"][cat])
                                        for s in ("model", "history_share", "recent_count"))
              + " |")


def _fmt(v) -> str:
    return "-" if v is None or v != v else f"{v:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated datasets")
    args = parser.parse_args()
    if not DATASETS.is_dir():
        sys.exit(f"{DATASETS} is missing: this benchmark needs the shared datasets")
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for key in args.only.split(","):
        results.append(run(key))
        show(results[-1])
        if key == "complete_journey":
            per_label(results[-1])
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
