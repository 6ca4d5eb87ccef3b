"""One small simulated shop in a DuckDB warehouse (transactions and customer attributes),
its training data, and the fast models the explanation tests explain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ltv.io.ingest import ingest
from ltv.models.btyd_model import BTYDModel
from ltv.models.gbdt import GBDTModel
from ltv.models.protocol import TrainingData
from ltv.models.training_data import build_training_data
from ltv.simulate import simulate

CUTOFF, HORIZON = "2022-10-01", 60
FAST_GBDT = dict(n_estimators=60, learning_rate=0.1, early_stopping_rounds=10, num_threads=1)


@dataclass
class Shop:
    root: Path
    db: Path
    data: TrainingData

    @property
    def snapshot(self) -> pd.DataFrame:
        return self.data.snapshot


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Shop:
    root = tmp_path_factory.mktemp("explain_shop")
    simulate(500, root / "sim", start="2022-01-01", end="2022-12-31", seed=7)
    db = root / "shop.duckdb"
    for path in sorted((root / "sim" / "transactions").glob("*.parquet")):
        ingest(path, db=db, table="transactions")
    ingest(root / "sim" / "customers.parquet", db=db, table="customers")
    data = build_training_data(db, CUTOFF, HORIZON, stride_days=30, max_windows=2,
                               sequence_weeks=6)
    return Shop(root, db, data)


@pytest.fixture(scope="session")
def btyd(shop) -> BTYDModel:
    return BTYDModel(alias="btyd").fit(shop.data)


@pytest.fixture(scope="session")
def gbdt(shop) -> GBDTModel:
    return GBDTModel(alias="gbdt", **FAST_GBDT).fit(shop.data)


@pytest.fixture(scope="session")
def customers(shop) -> list[int]:
    """Row positions of a few varied customers: one-time and repeat buyers, top spenders."""
    snap = shop.snapshot
    spend = snap["spend_total"].to_numpy()
    picks = {int(np.flatnonzero(snap["frequency"].to_numpy() == 0)[0]),
             int(np.flatnonzero(snap["frequency"].to_numpy() > 2)[0]),
             int(spend.argmax()), int(spend.argmin()), len(snap) // 2}
    return sorted(picks)
