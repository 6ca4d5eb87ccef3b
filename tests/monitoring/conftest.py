"""Simulated shops for the drift tests: a base shop, a GBDT trained on it with its reference
profile, and shops drawn from the same seed with one thing changed on purpose.

The simulator draws every stream independently of the parameters that do not use it, so a
shop with SimulationParams(gamma=180) (mean spend rate 3x lower, i.e. every order worth 3x
as much) has the same customers, orders, baskets and events as the base shop: only money
moves. Likewise a renamed channel changes nothing but the channel's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ltv.features.build import build_features
from ltv.io.ingest import ingest
from ltv.models.gbdt.model import GBDTModel
from ltv.models.protocol import TrainingData
from ltv.models.provenance import training_info
from ltv.models.training_data import build_training_data, fill_optional_columns
from ltv.simulate import SimulationParams, simulate, table_files

CUSTOMERS = 3000
SEED = 11
TRAIN_CUTOFF = "2022-10-01"
LATER = "2022-10-15"  # two weeks after training: customers have aged little
HORIZON = 60
# Every feature that is a money amount (not a ratio of amounts, not a count): what a
# change of price level must move, and all it may move.
MONEY = {"monetary_value", "spend_total", "gross_spend", "returned_spend", "mean_order_value",
         "spend_7d", "spend_30d", "spend_90d", "spend_180d", "spend_365d"}


@dataclass
class Trained:
    db: Path
    data: TrainingData
    model: GBDTModel
    info: dict  # training.json content, with the reference profile

    @property
    def reference(self) -> dict:
        return self.info["reference_profile"]

    def snapshot(self, db: Path, cutoff: str = LATER):
        """Features at `cutoff` from `db`, as `ltv predict` builds them, and their scores."""
        features = fill_optional_columns(build_features(db, cutoff), self.model.feature_names_)
        return features, self.model.predict(features)


def make_shop(root: Path, params: SimulationParams | None = None) -> Path:
    simulate(CUSTOMERS, root / "sim", start="2022-01-01", end="2022-12-31", seed=SEED,
             params=params)
    db = root / "shop.duckdb"
    for path, table in table_files(root / "sim"):
        ingest(path, db=db, table=table)
    return db


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Trained:
    db = make_shop(tmp_path_factory.mktemp("drift_base"))
    data = build_training_data(db, TRAIN_CUTOFF, HORIZON, stride_days=14, max_windows=4)
    model = GBDTModel(n_estimators=40).fit(data)
    return Trained(db, data, model, training_info(db, data, model, "gbdt"))


@pytest.fixture(scope="session")
def pricier_shop(tmp_path_factory) -> Path:
    """The base shop with every order worth 3x as much (gamma 60 -> 180)."""
    return make_shop(tmp_path_factory.mktemp("drift_x3"), SimulationParams(gamma=180.0))


@pytest.fixture(scope="session")
def new_channel_shop(tmp_path_factory) -> Path:
    """The base shop where the 'referral' channel (10%) is now called 'tiktok', and where
    region is blank for about a third of the customers."""
    db = make_shop(tmp_path_factory.mktemp("drift_channel"), SimulationParams(
        channels=("organic", "paid_search", "social", "tiktok")))
    con = duckdb.connect(str(db))
    con.execute("UPDATE customers SET region = NULL WHERE hash(customer_id) % 3 = 0")
    con.close()
    return db


def publish_and_shift(trained: Trained, root: Path, shift_sql: str):
    """The trained model published (and promoted) as version 1 of "shop" in a registry under
    `root`, and a copy of its warehouse changed by `shift_sql` (an UPDATE on it).
    Returns (registry, the shifted warehouse)."""
    import shutil

    from ltv.models.provenance import write_training_info
    from ltv.registry import Registry

    trained.model.save(root / "model")
    write_training_info(root / "model", trained.info)
    registry = Registry(root / "registry")
    registry.publish("shop", root / "model")
    registry.promote("shop", 1)
    db = root / "shifted.duckdb"
    shutil.copy(trained.db, db)
    con = duckdb.connect(str(db))
    con.execute(shift_sql)
    con.close()
    return registry, db
