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
