"""The README's commands, run through the real CLI entry point (Typer's runner, same process)."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from ltv.cli import app

runner = CliRunner()


def _run(*args):
    result = runner.invoke(app, list(map(str, args)))
    return result


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    result = _run("simulate", "--customers", 1500, "--out", out, "--start", "2022-01-01",
                  "--end", "2022-12-31", "--seed", 3)
    assert result.exit_code == 0, result.output
    return out


def test_simulate_ingest_features_with_labels(sim, tmp_path):
    db = tmp_path / "shop.duckdb"
    for part in sorted((sim / "transactions").glob("*.parquet")):
        result = _run("ingest", part, "--db", db)
        assert result.exit_code == 0, result.output
    out = tmp_path / "train.parquet"
    result = _run("features", "--db", db, "--cutoff", "2022-10-01", "--horizon", 90, "--labels",
                  "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    truth = pd.read_parquet(sim / "transactions")
    before = truth[truth["ts"] < pd.Timestamp("2022-10-01")]
    assert len(frame) == before["customer_id"].nunique()
    after = truth[(truth["ts"] >= pd.Timestamp("2022-10-01")) & (truth["ts"] < pd.Timestamp("2022-12-30"))]
    expected = after.groupby("customer_id")["amount"].sum()
    got = frame.set_index("customer_id")["label_spend"]
    shared = expected.index.intersection(got.index)
    assert len(shared) > 0
    assert (got[shared] - expected[shared]).abs().max() < 1e-6


def test_ingest_with_map_and_reingest_is_idempotent(tmp_path):
    csv = tmp_path / "tx.csv"
    pd.DataFrame({"CustomerID": ["c1", "c2", None], "InvoiceDate": ["2021-01-01 10:00"] * 3,
                  "Revenue": [10.0, 5.5, 3.0]}).to_csv(csv, index=False)
    db = tmp_path / "shop.duckdb"
    args = ("ingest", csv, "--map", "customer=CustomerID,ts=InvoiceDate,amount=Revenue", "--db", db)
    first = _run(*args)
    assert first.exit_code == 0, first.output
    second = _run(*args)
    assert second.exit_code == 0, second.output
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1


def test_missing_column_is_a_clean_error_not_a_traceback(tmp_path):
    csv = tmp_path / "tx.csv"
    pd.DataFrame({"CustomerID": ["c1"], "InvoiceDate": ["2021-01-01"]}).to_csv(csv, index=False)
    result = _run("ingest", csv, "--map", "customer=CustomerID,ts=InvoiceDate", "--db", tmp_path / "x.duckdb")
    assert result.exit_code == 2
    assert "amount" in result.output and "Traceback" not in result.output


def test_bad_map_syntax(tmp_path):
    result = _run("ingest", tmp_path / "x.csv", "--map", "customer", "--db", tmp_path / "x.duckdb")
    assert result.exit_code == 2 and "target=source" in result.output
