"""`ltv materialize` end to end, and its errors."""

from __future__ import annotations

from typer.testing import CliRunner

from ltv.cli import app
from ltv.online import open_store

from .conftest import CUTOFF, shop_tables

runner = CliRunner()


def test_materialize_command(make_warehouse, tmp_path):
    db = make_warehouse(shop_tables())
    url = f"sqlite:///{tmp_path}/online.db"
    result = runner.invoke(app, ["materialize", "--db", str(db), "--cutoff", CUTOFF,
                                 "--online", url])
    assert result.exit_code == 0, result.output
    assert "wrote 4 customers" in result.output
    with open_store(url) as store:
        assert store.count() == 4 and store.meta().cutoff == "2024-03-01T00:00:00"
    # today: midnight UTC, every row is before it
    result = runner.invoke(app, ["materialize", "--db", str(db), "--cutoff", "today",
                                 "--online", url])
    assert result.exit_code == 0, result.output
    with open_store(url) as store:
        assert store.meta().cutoff.endswith("T00:00:00") and store.count() == 4


def test_materialize_refuses_unknown_and_unreachable_stores(make_warehouse):
    db = make_warehouse(shop_tables())
    result = runner.invoke(app, ["materialize", "--db", str(db), "--cutoff", CUTOFF,
                                 "--online", "mysql://x"])
    assert result.exit_code == 2
    assert "unknown online store URL 'mysql://x'" in result.output and "sqlite:///" in result.output
    result = runner.invoke(app, ["materialize", "--db", str(db), "--cutoff", CUTOFF,
                                 "--online", "redis://127.0.0.1:1/0"])
    assert result.exit_code == 2
    assert "cannot reach the Redis online store" in result.output
    assert "redis-server" in result.output
