import pandas as pd
from rich.console import Console

from ltv.demo import run_demo


def test_demo_runs_end_to_end_and_accounts_for_every_row(tmp_path):
    # Two fast families: the flow is what is tested here; `make demo` runs all and auto.
    summary = run_demo(tmp_path / "demo", customers=1500, console=Console(quiet=True),
                       models="gbdt,btyd")
    assert summary["rows_read"] == summary["rows_kept"] + summary["rows_quarantined"]
    assert summary["customers_with_history"] > 500
    assert 0.05 < summary["active_next_90d"] < 0.95
    assert summary["warehouse_transactions"] == summary["rows_kept"] - (
        summary["warehouse_events"] + summary["warehouse_customers"] + summary["warehouse_products"])
    assert (tmp_path / "demo" / "train.parquet").exists()
    assert summary["served_predictions"] == 2  # the real request to `ltv serve`
    # one customer's full profile, from the server, with the drivers of its prediction
    profiles = pd.read_parquet(tmp_path / "demo" / "profiles.parquet")
    assert summary["profiled_customer_segment"] in set(profiles["rfm_segment"].dropna())
    assert {"churn_risk", "ltv_tier", "top_interests", "cold_start"} <= set(profiles.columns)
    assert summary["explained_drivers"] == 10
