"""A simulated shop in a DuckDB warehouse, a registry with two versions of a real model, an
online store materialized from the warehouse, and a real uvicorn server on loopback.

Version 1 is LightGBM (tweedie), version 2 is BTYD: they predict different values, so a test
can tell from a response's numbers which version scored it.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn

from ltv.io.ingest import ingest
from ltv.models.btyd_model import BTYDModel
from ltv.models.gbdt.model import GBDTModel
from ltv.models.provenance import feature_schema, write_training_info
from ltv.models.training_data import build_training_data
from ltv.models.typical import typical_row_json
from ltv.online.materialization import materialize
from ltv.registry import Registry
from ltv.serving.app import create_app
from ltv.serving.jsonable import jsonable_features
from ltv.serving.settings import ServeSettings
from ltv.simulate import simulate, table_files

TOKEN = "a-real-admin-token-for-tests-0123456789"
NAME = "shop"
HORIZON = 60


CUTOFF = "2022-10-01"


@dataclass
class Shop:
    root: Path
    registry: Registry
    models: dict[int, object]  # version -> fitted in-memory model
    snapshot: pd.DataFrame  # features at the cutoff, one row per customer
    db: Path  # the warehouse
    store: Path  # SQLite online store materialized at the cutoff (copy it before writing)


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Shop:
    root = tmp_path_factory.mktemp("serving_shop")
    simulate(400, root / "sim", start="2022-01-01", end="2022-12-31", seed=11)
    db = root / "shop.duckdb"
    for path, table in table_files(root / "sim"):
        ingest(path, db=db, table=table)
    data = build_training_data(db, CUTOFF, HORIZON, stride_days=30, max_windows=3)
    registry = Registry(root / "registry")
    models = {}
    for version, model in ((1, GBDTModel(n_estimators=40)), (2, BTYDModel())):
        model.fit(data)
        folder = root / f"model{version}"
        model.save(folder)
        write_training_info(folder, {
            "feature_schema": feature_schema(data, model.feature_names_),
            "typical_customer": typical_row_json(data.snapshot, model.feature_names_)})
        assert registry.publish(NAME, folder) == version
        models[version] = model
    registry.promote(NAME, 1)
    store = root / "online.db"
    materialize(db, CUTOFF, f"sqlite:///{store}")
    return Shop(root, registry, models, data.snapshot.reset_index(drop=True), db, store)


def store_copy(shop: Shop, folder: Path) -> str:
    """URL of a private copy of the online store (for tests that write to it)."""
    target = folder / "online.db"
    shutil.copy(shop.store, target)
    return f"sqlite:///{target}"


def feature_rows(shop: Shop, n: int | None = None, start: int = 0) -> list[dict]:
    """JSON-ready raw feature rows (every snapshot column) of `n` customers."""
    frame = shop.snapshot.iloc[start:None if n is None else start + n]
    return [jsonable_features(r) for r in frame.to_dict("records")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving `app` on a loopback port from a background thread."""

    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.app = app

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def settings(shop: Shop, **overrides) -> ServeSettings:
    base = dict(registry=shop.registry.root, name=NAME, admin_token=TOKEN, pointer_poll_s=0)
    return ServeSettings(**(base | overrides))


@pytest.fixture
def live(shop, tmp_path):
    """A fresh server per test (tests promote, roll back and post events) with its own copy
    of the online store, champion reset to version 1."""
    if shop.registry.champion(NAME) != 1:
        shop.registry.promote(NAME, 1)
    with LiveServer(create_app(settings(shop, online=store_copy(shop, tmp_path)))) as server:
        yield server
