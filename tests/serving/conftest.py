"""A small registry with two versions of a real model, and a real uvicorn server on loopback.

Version 1 is LightGBM (tweedie), version 2 is BTYD: they predict different values, so a test
can tell from a response's numbers which version scored it.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn

from ltv.models.btyd_model import BTYDModel
from ltv.models.gbdt.model import GBDTModel
from ltv.models.provenance import feature_schema, write_training_info
from ltv.models.training_data import build_training_data
from ltv.registry import Registry
from ltv.serving.app import create_app
from ltv.serving.jsonable import jsonable_features
from ltv.serving.settings import ServeSettings
from ltv.simulate import simulate

TOKEN = "a-real-admin-token-for-tests-0123456789"
NAME = "shop"
HORIZON = 60


@dataclass
class Shop:
    root: Path
    registry: Registry
    models: dict[int, object]  # version -> fitted in-memory model
    snapshot: pd.DataFrame  # features at the cutoff, one row per customer
    transactions: Path


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Shop:
    root = tmp_path_factory.mktemp("serving_shop")
    simulate(400, root, start="2022-01-01", end="2022-12-31", seed=11)
    data = build_training_data(None, "2022-10-01", HORIZON, transactions=root / "transactions",
                               stride_days=30, max_windows=3)
    registry = Registry(root / "registry")
    models = {}
    for version, model in ((1, GBDTModel(n_estimators=40)), (2, BTYDModel())):
        model.fit(data)
        folder = root / f"model{version}"
        model.save(folder)
        write_training_info(folder, {"feature_schema": feature_schema(data, model.feature_names_)})
        assert registry.publish(NAME, folder) == version
        models[version] = model
    registry.promote(NAME, 1)
    return Shop(root, registry, models, data.snapshot.reset_index(drop=True),
                root / "transactions")


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
def live(shop):
    """A fresh server per test (tests promote and roll back), champion reset to version 1."""
    if shop.registry.champion(NAME) != 1:
        shop.registry.promote(NAME, 1)
    with LiveServer(create_app(settings(shop))) as server:
        yield server
