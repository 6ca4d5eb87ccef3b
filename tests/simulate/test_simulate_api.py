"""The simulate() contract: arguments, files, schemas, determinism, chunking, layouts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import ltv.simulate.api as api
from ltv.errors import ConfigError, LTVError
from ltv.schema import validate_customers, validate_events, validate_products, validate_transactions
from ltv.simulate import SimulationParams, simulate

SMALL = dict(start="2022-01-01", end="2022-06-30", horizon_days=30)


def _tables(out) -> dict[str, pd.DataFrame]:
    names = ["transactions", "events"]
    tables = {n: pd.read_parquet(out / n) for n in names if (out / n).exists()}
    for n in ("customers", "products", "ground_truth"):
        tables[n] = pd.read_parquet(out / f"{n}.parquet")
    return tables


@pytest.mark.parametrize("kwargs, names", [
    (dict(n_customers=0), "n_customers"),
    (dict(n_customers=-3), "n_customers"),
    (dict(n_customers=True), "n_customers"),
    (dict(n_customers=10, end="2021-12-31"), "end"),
    (dict(n_customers=10, end="2022-01-01"), "end"),
    (dict(n_customers=10, layout="excel"), "layout"),
    (dict(n_customers=10, start="yesterday-ish"), "start"),
    (dict(n_customers=10, start="2022-01-01 10:30"), "start"),
    (dict(n_customers=10, horizon_days=0), "horizon_days"),
    (dict(n_customers=10, seed=-1), "seed"),
    (dict(n_customers=10, chunk_customers=0), "chunk_customers"),
    (dict(n_customers=10, params={"r": 1}), "params"),
    (dict(n_customers=10, end="2022-01-20"), "signup_stop_days"),
])
def test_bad_arguments_name_the_parameter_and_the_fix(tmp_path, kwargs, names):
    n = kwargs.pop("n_customers")
    with pytest.raises(ConfigError) as err:
        simulate(n, tmp_path / "out", **kwargs)
    assert names in str(err.value)
    assert err.value.fix
    assert not (tmp_path / "out").exists()  # nothing is written for a bad call


@pytest.mark.parametrize("kwargs, names", [
    (dict(q=1.0), "q"),
    (dict(r=0), "r"),
    (dict(return_prob=1.5), "return_prob"),
    (dict(channel_shares=(0.5, 0.5, 0.5, 0.5)), "channel"),
    (dict(channel_rate_multipliers=(1.0, 1.0)), "channel"),
    (dict(weekly=(1.0,) * 6), "weekly"),
    (dict(yearly_amplitude=1.2), "yearly_amplitude"),
])
def test_bad_params_are_config_errors(kwargs, names):
    with pytest.raises(LTVError) as err:
        SimulationParams(**kwargs)
    assert names in str(err.value)


def test_params_round_trip_through_json():
    params = SimulationParams(r=0.9, channels=("a", "b"), channel_shares=(0.3, 0.7),
                              channel_rate_multipliers=(1.0, 2.0), channel_spend_multipliers=(1.0, 1.0))
    assert SimulationParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    with pytest.raises(ConfigError, match="unknown simulation parameter"):
        SimulationParams.from_dict({"lambda": 1})


def test_files_exist_and_pass_the_contracts(default_sim):
    paths = default_sim.result.paths
    for key in ("transactions", "events", "customers", "products", "ground_truth", "params"):
        assert paths[key].exists(), key
    assert sorted(p.name for p in (default_sim.out / "transactions").iterdir()) == ["part-00000.parquet"]
    tables = _tables(default_sim.out)
    tx, events = tables["transactions"], tables["events"]
    assert len(tx) == default_sim.result.n_transactions > 0
    assert len(events) == default_sim.result.n_events > 0
    assert list(tx.columns) == ["customer_id", "ts", "amount", "order_id", "product_id",
                                "category", "quantity", "channel"]
    validate_transactions(tx.sample(20_000, random_state=0))
    validate_events(events.sample(20_000, random_state=0))
    validate_customers(tables["customers"])
    validate_products(tables["products"])
    assert tx["ts"].dtype == "datetime64[us]" and tx["ts"].dt.tz is None
    # Everything observed lies in [start, end + 1 day).
    for frame in (tx, events):
        assert frame["ts"].min() >= pd.Timestamp("2022-01-01")
        assert frame["ts"].max() < pd.Timestamp("2024-01-01")
    assert set(tx["product_id"]) <= set(tables["products"]["product_id"])


def test_params_json_counts_match_the_files(default_sim):
    meta = json.loads((default_sim.out / "params.json").read_text())
    tables = _tables(default_sim.out)
    assert meta["generator"] == "ltv.simulate" and meta["seed"] == 11
    assert meta["counts"]["transactions"] == len(tables["transactions"])
    assert meta["counts"]["events"] == len(tables["events"])
    assert meta["counts"]["customers"] == len(tables["customers"]) == 8_000
    assert meta["counts"]["return_rows"] == int((tables["transactions"]["amount"] < 0).sum())
    assert meta["counts"]["sessions"] == tables["events"]["session_id"].nunique()
    assert meta["observation_end"] == "2024-01-01 00:00:00"
    assert SimulationParams.from_dict(meta["params"]) == SimulationParams()


def test_one_ground_truth_row_per_customer(default_sim):
    tables = _tables(default_sim.out)
    truth, customers = tables["ground_truth"], tables["customers"]
    assert list(truth["customer_id"]) == list(customers["customer_id"])
    assert truth["customer_id"].is_unique
    assert (truth["signup_ts"] == customers["signup_ts"]).all()
    orders = tables["transactions"].query("amount > 0").groupby("customer_id")["order_id"].nunique()
    assert (truth.set_index("customer_id")["n_orders"] == orders.reindex(truth["customer_id"]).to_numpy()).all()
    assert truth["p_alive"].between(0, 1).all()
    # Dead customers expect nothing; the history-only expectation never exceeds the if-alive one.
    assert (truth.loc[~truth["alive_at_end"], "expected_spend"] == 0).all()
    assert (truth["expected_purchases_given_history"] <= truth["expected_purchases"] + 1e-12)[truth["alive_at_end"]].all()


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = simulate(300, tmp_path / "a", seed=4, **SMALL)
    b = simulate(300, tmp_path / "b", seed=4, **SMALL)
    c = simulate(300, tmp_path / "c", seed=5, **SMALL)
    for name in ("transactions/part-00000.parquet", "events/part-00000.parquet",
                 "customers.parquet", "ground_truth.parquet", "products.parquet"):
        assert (a.out / name).read_bytes() == (b.out / name).read_bytes(), name
    ta, tc = _tables(a.out), _tables(c.out)
    assert not ta["ground_truth"]["lambda"].equals(tc["ground_truth"]["lambda"])


def test_rows_do_not_depend_on_chunk_or_block_size(tmp_path, monkeypatch):
    whole = simulate(700, tmp_path / "whole", seed=9, **SMALL)
    monkeypatch.setattr(api, "BLOCK_CUSTOMERS", 45)  # blocks within a chunk, chunk not a multiple
    chunked = simulate(700, tmp_path / "chunked", seed=9, chunk_customers=160, **SMALL)
    assert len(list((tmp_path / "chunked" / "transactions").glob("part-*.parquet"))) == 5
    assert pq.ParquetFile(tmp_path / "chunked/transactions/part-00000.parquet").num_row_groups == 4
    expected, got = _tables(whole.out), _tables(chunked.out)
    for name in expected:
        # Ground-truth floats go through numpy's vectorized exp, whose last bit can depend on
        # an element's position in the array; everything drawn and written is exact.
        exact = name != "ground_truth"
        pd.testing.assert_frame_equal(expected[name], got[name], check_exact=exact, rtol=1e-12, obj=name)
    assert whole.n_transactions == chunked.n_transactions


def test_progress_reports_each_block(tmp_path):
    calls = []
    simulate(250, tmp_path / "p", seed=1, chunk_customers=100, progress=lambda d, t: calls.append((d, t)),
             params=SimulationParams(events=False), **SMALL)
    assert calls == [(0, 250), (100, 250), (200, 250), (250, 250)]


def test_rerun_replaces_an_earlier_simulation_but_not_foreign_files(tmp_path):
    out = tmp_path / "sim"
    simulate(300, out, seed=1, chunk_customers=100, **SMALL)
    assert len(list((out / "transactions").iterdir())) == 3
    again = simulate(300, out, seed=1, **SMALL)
    assert len(list((out / "transactions").iterdir())) == 1
    assert len(pd.read_parquet(out / "transactions")) == again.n_transactions
    foreign = tmp_path / "foreign"
    (foreign / "transactions").mkdir(parents=True)
    (foreign / "transactions" / "part-00000.parquet").write_bytes(b"not ours")
    with pytest.raises(ConfigError, match="did not write"):
        simulate(10, foreign, **SMALL)
    assert (foreign / "transactions" / "part-00000.parquet").read_bytes() == b"not ours"


def test_uci_layout_reproduces_the_canonical_rows(tmp_path):
    canonical = simulate(400, tmp_path / "c", seed=3, **SMALL)
    uci = simulate(400, tmp_path / "u", seed=3, layout="uci-online-retail", **SMALL)
    a = pd.read_parquet(canonical.out / "transactions")
    u = pd.read_parquet(uci.out / "transactions")
    assert list(u.columns) == ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                               "UnitPrice", "CustomerID", "Country"]
    assert u["Quantity"].dtype == np.int64 and u["CustomerID"].dtype == np.float64
    assert len(u) == len(a)
    # The real-data adapter's rule: amount = Quantity * UnitPrice (in cents, exactly).
    np.testing.assert_array_equal(np.round(u["Quantity"] * u["UnitPrice"], 2), a["amount"])
    np.testing.assert_allclose(u["Quantity"] * u["UnitPrice"], a["amount"], rtol=1e-15)
    np.testing.assert_array_equal(u["Quantity"].astype(float), a["quantity"])
    assert (u["CustomerID"].astype(np.int64).astype(str) == a["customer_id"]).all()
    assert (u["InvoiceNo"] == a["order_id"]).all() and (u["StockCode"] == a["product_id"]).all()
    assert (u["InvoiceDate"] == a["ts"]).all()
    cancelled = u["InvoiceNo"].str.startswith("C")
    assert cancelled.any() and (u.loc[cancelled, "Quantity"] < 0).all()
    assert (u.loc[~cancelled, "Quantity"] > 0).all() and (u["UnitPrice"] > 0).all()
    # Unit prices are whole cents, as in the real file.
    np.testing.assert_allclose(u["UnitPrice"] * 100, np.round(u["UnitPrice"] * 100), atol=1e-6)
    customers = pd.read_parquet(uci.out / "customers.parquet").set_index("customer_id")["region"]
    assert (u["Country"].to_numpy() == customers.loc[a["customer_id"]].to_numpy()).all()


def test_a_run_that_died_half_way_can_be_repeated(tmp_path, monkeypatch):
    import ltv.simulate.block as block

    real, calls = block.draw_lines, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(block, "draw_lines", failing)
    with pytest.raises(MemoryError):
        simulate(300, tmp_path / "sim", chunk_customers=100, **SMALL)
    assert json.loads((tmp_path / "sim" / "params.json").read_text())["complete"] is False
    monkeypatch.setattr(block, "draw_lines", real)
    result = simulate(300, tmp_path / "sim", chunk_customers=100, **SMALL)
    assert json.loads((tmp_path / "sim" / "params.json").read_text())["complete"] is True
    assert len(pd.read_parquet(tmp_path / "sim" / "transactions")) == result.n_transactions
