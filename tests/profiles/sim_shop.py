"""Fixtures for the churn, cold-start and profile tests: one simulated shop with known channel
and age effects. Imported by those test modules rather than put in a conftest, so that the
interests tests in this folder stay independent; the shop is built once per process (a
module-level cache), however many modules import the fixture.

The shop: 4,000 customers from 2021-01-01 to 2023-06-30 whose signup is not an order
(`first_order_at_signup=False`), so the warehouse holds first-time buyers, repeat buyers and
customers with only a signup. Two and a half years of history, so that the training windows
already hold customers as old as those at the cutoff (trees do not extrapolate to longer
histories than they saw; with one year the churn risk of the oldest buyers came out
biased). Seasonality is off so that a window's churn rate does not depend on the time of
year (a calibration learned on earlier windows then applies to the next horizon, which is
what the churn tests check; on real data the seasonal shift is measured in
benchmarks/profiles.py); events are off to keep it fast.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from ltv.features.build import build_features
from ltv.io.ingest import ingest
from ltv.models.protocol import TrainingData
from ltv.models.training_data import build_training_data
from ltv.simulate import SimulationParams, simulate, table_files
from ltv.warehouse import add_attribute_columns, connect

CUTOFF = "2023-03-01"
HORIZON = 90
# Five windows 30 days apart: the oldest two have labels that end by the latest window's
# origin, so early stopping and calibration are out of sample in time (see labels.holdout_split).
TRAINING = {"stride_days": 30, "max_windows": 5}
# Age bands shift mean spend by more than the defaults, so that 4,000 customers show it.
AGE_SPEND = (0.6, 0.8, 1.0, 1.25, 1.5)
PARAMS = SimulationParams(first_order_at_signup=False, events=False, seasonality=False,
                          age_band_spend_multipliers=AGE_SPEND)


@dataclass
class Shop:
    db: Path
    data: TrainingData  # training windows before CUTOFF
    labeled: pd.DataFrame  # features at CUTOFF with labels over [CUTOFF, CUTOFF + HORIZON)
    params: SimulationParams


_built: list[Shop] = []


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Shop:
    if not _built:
        _built.append(_build(tmp_path_factory.mktemp("profiles_shop")))
    return _built[0]


def _build(root: Path) -> Shop:
    simulate(4000, root / "sim", start="2021-01-01", end="2023-06-30", seed=7, params=PARAMS)
    db = root / "shop.duckdb"
    for path, table in table_files(root / "sim"):
        ingest(path, db=db, table=table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = build_training_data(db, CUTOFF, HORIZON, **TRAINING)
        labeled = build_features(db, CUTOFF, horizon_days=HORIZON, labels=True)
    return Shop(db, data, labeled, PARAMS)


@pytest.fixture
def make_warehouse(tmp_path):
    """make_warehouse(transactions=DataFrame, customers=DataFrame) -> path of a new
    warehouse holding exactly those rows (customers' extra columns become attributes)."""
    counter = iter(range(1000))

    def make(transactions: pd.DataFrame, customers: pd.DataFrame | None = None) -> Path:
        path = tmp_path / f"wh{next(counter)}.duckdb"
        con = connect(path)
        try:
            for table, frame in (("transactions", transactions), ("customers", customers)):
                if frame is None:
                    continue
                if table == "customers":
                    extra = {c: "VARCHAR" for c in frame.columns
                             if c not in ("customer_id", "signup_ts", "channel", "valid_from")}
                    add_attribute_columns(con, "customers", extra)
                con.register("_frame", frame)
                cols = ", ".join(f'"{c}"' for c in frame.columns)
                con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _frame")
                con.unregister("_frame")
        finally:
            con.close()
        return path

    return make
