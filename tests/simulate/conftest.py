"""Shared simulated populations (simulated once per test session; small, a few seconds each)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from ltv.simulate import SimulationParams, SimulationResult, simulate


@dataclass
class Sim:
    result: SimulationResult
    out: Path

    def read(self, name: str) -> pd.DataFrame:
        """A table by name: transactions, events, customers, products, ground_truth."""
        path = self.out / name if name in ("transactions", "events") else self.out / f"{name}.parquet"
        return pd.read_parquet(path)


def run(tmp_path_factory, name: str, n: int, **kwargs) -> Sim:
    out = tmp_path_factory.mktemp(name)
    return Sim(simulate(n, out, **kwargs), out)


@pytest.fixture(scope="session")
def default_sim(tmp_path_factory) -> Sim:
    """Default parameters (seasonality, dropout, returns, events), two years, 8k customers."""
    return run(tmp_path_factory, "default", 8_000, seed=11)


@pytest.fixture(scope="session")
def nbd_sim(tmp_path_factory) -> Sim:
    """No dropout, no seasonality: repeat orders are NBD given exposure. Default channel
    multipliers, so the same run checks that channels scale the rates."""
    params = SimulationParams(dropout=False, seasonality=False, events=False)
    return run(tmp_path_factory, "nbd", 20_000, start="2022-01-01", end="2022-12-31",
               seed=5, params=params)


@pytest.fixture(scope="session")
def truth_sim(tmp_path_factory) -> Sim:
    """Many customers, no events (speed): for ground-truth checks against realized futures.
    Faster dynamics (higher lambda and mu) put more signal into the 90-day horizon."""
    params = SimulationParams(alpha=20.0, beta=150.0, events=False)
    return run(tmp_path_factory, "truth", 40_000, start="2022-01-01", end="2023-06-30",
               seed=21, params=params)
