"""A simulated shop in a warehouse, and champions published to a registry, for the retrain
tests. Small on purpose: three training windows 28 days apart, 60-day horizon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ltv.io.ingest import ingest
from ltv.models.protocol import LTVModel
from ltv.models.provenance import training_info, write_training_info
from ltv.models.training_data import build_training_data
from ltv.registry import Registry
from ltv.simulate import simulate, table_files

HORIZON = 60
WINDOWS = {"stride_days": 28, "max_windows": 3}
CUTOFF = pd.Timestamp("2022-12-01")  # the retrain cutoff: the data runs to 2022-12-31
ORIGIN = CUTOFF - pd.Timedelta(days=HORIZON)  # 2022-10-02: the gate's window opens
# Fewer, larger boosting steps than the defaults: the same behaviour, a third of the time.
FAST = {"n_estimators": 150, "learning_rate": 0.1, "early_stopping_rounds": 15}


@dataclass
class Shop:
    root: Path
    db: Path


def make_shop(root: Path) -> Shop:
    simulate(600, root / "sim", start="2022-01-01", end="2022-12-31", seed=3)
    db = root / "shop.duckdb"
    for path, table in table_files(root / "sim"):
        ingest(path, db=db, table=table)
    return Shop(root, db)


def publish_champion(shop: Shop, registry: Registry, model: LTVModel, cutoff,
                     only: list[str] | None = None) -> int:
    """Fit `model` on the windows before `cutoff` (on the feature columns `only`, if given),
    publish it with its training.json as `ltv train` would, and promote it."""
    data = build_training_data(shop.db, cutoff, HORIZON, **WINDOWS)
    if only is not None:
        keep = ["customer_id", "cutoff", *only, "label_spend", "label_active"]
        data.windows = data.windows[keep]
    model.fit(data)
    folder = shop.root / f"champion-{len(list(shop.root.glob('champion-*')))}"
    model.save(folder)
    write_training_info(folder, training_info(shop.db, data, model, model.family))
    version = registry.publish("shop", folder)
    registry.promote("shop", version)
    return version
