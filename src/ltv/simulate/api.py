"""`simulate()`: write a synthetic shop with known ground truth, streaming chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ltv.errors import ConfigError
from ltv.simulate.block import BlockTables, World, simulate_block
from ltv.simulate.catalog import build_catalog
from ltv.simulate.output import GENERATOR, OutputFolder
from ltv.simulate.params import SimulationParams
from ltv.simulate.seasonality import build_calendar
from ltv.simulate.streams import Streams
from ltv.simulate.tables import LAYOUTS

MAX_DAYS = 40_000  # sort keys hold seconds since start in their low 32 bits
# Customers drawn at once. Chunks (one part file each) are written block by block: blocks
# this size keep every array under glibc's 32 MB mmap threshold, so memory is reused instead
# of being mapped and zero-faulted again for every array (that cost more than the maths).
BLOCK_CUSTOMERS = 25_000


@dataclass(frozen=True)
class SimulationResult:
    """What was written. Counts are rows in the files (transactions include return rows)."""

    out: Path
    n_customers: int
    n_transactions: int
    n_events: int
    paths: dict[str, Path]
    params: SimulationParams


def simulate(n_customers: int, out: str | Path, *, start="2022-01-01", end="2023-12-31",
             horizon_days: int = 90, seed: int = 0, layout: str = "canonical",
             params: SimulationParams | None = None, chunk_customers: int = 200_000,
             progress: Callable[[int, int], None] | None = None) -> SimulationResult:
    """Simulate `n_customers` customers observed from `start` to `end` (both dates, UTC,
    `end` inclusive: the observation ends at midnight after it) and write them under `out`.

    The ground truth covers the `horizon_days` days after the observation end. Each chunk of
    `chunk_customers` customers becomes one part file of transactions (and of events), written
    block by block, so memory stays bounded whatever the chunk size. The same arguments give
    the same rows in the same order whatever `chunk_customers` is. `progress(done_customers,
    n_customers)` is called at the start and after each block. See `SimulationParams` for the
    model.
    """
    params = _check_params(params)
    n_customers = _positive_int("n_customers", n_customers,
                                "pass how many customers to simulate, e.g. 50000")
    horizon_days = _positive_int("horizon_days", horizon_days,
                                 "pass the ground-truth horizon in days, e.g. 90")
    chunk = _positive_int("chunk_customers", chunk_customers,
                          "use e.g. 200000 (customers per part file)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed = {seed!r} is not a non-negative integer", "pass e.g. seed=0")
    if layout not in LAYOUTS:
        raise ConfigError(f"layout = {layout!r} is unknown", f"use one of: {', '.join(LAYOUTS)}")
    start_ts, end_ts = _date("start", start), _date("end", end)
    if end_ts <= start_ts:
        raise ConfigError(f"end = {end_ts.date()} is not after start = {start_ts.date()}",
                          "pass an end date later than the start date")
    t_end = (end_ts - start_ts).days + 1
    if t_end + horizon_days > MAX_DAYS:
        raise ConfigError(f"start..end + horizon spans {t_end + horizon_days} days",
                          f"simulate at most {MAX_DAYS} days")
    span = t_end - params.signup_stop_days
    if span <= 0:
        raise ConfigError(f"the window {start_ts.date()}..{end_ts.date()} ({t_end} days) leaves no "
                          f"time for signups (signup_stop_days = {params.signup_stop_days})",
                          "widen the window or lower SimulationParams.signup_stop_days")

    streams = Streams(seed)
    world = World(params=params, calendar=build_calendar(start_ts, t_end + horizon_days, params),
                  catalog=build_catalog(params, streams.take("catalog")),
                  start_us=start_ts.value // 1_000, t_end=t_end, horizon_days=horizon_days,
                  signup_span_days=span, layout=layout)
    folder = OutputFolder(Path(out), events=params.events)
    counts = dict.fromkeys(("transactions", "events", "orders", "sessions", "returns"), 0)
    if progress:
        progress(0, n_customers)
    try:
        for part, part_first in enumerate(range(0, n_customers, chunk)):
            part_end = min(part_first + chunk, n_customers)
            for first in range(part_first, part_end, BLOCK_CUSTOMERS):
                n = min(BLOCK_CUSTOMERS, part_end - first)
                tables = simulate_block(world, streams, first, n, order_offset=counts["orders"],
                                        session_offset=counts["sessions"])
                _write(folder, part, tables, counts)
                if progress:
                    progress(first + n, n_customers)
            folder.close_parts()
    finally:
        folder.close()
    folder.write_single("products", world.catalog.table())
    folder.write_params(_params_json(params, n_customers, start_ts, end_ts, t_end, horizon_days,
                                     seed, layout, chunk, counts, world.catalog.n_products))
    return SimulationResult(out=Path(out), n_customers=n_customers,
                            n_transactions=counts["transactions"], n_events=counts["events"],
                            paths=folder.paths, params=params)


def _write(folder: OutputFolder, part: int, tables: BlockTables, counts: dict) -> None:
    folder.append("transactions", tables.transactions, part)
    if tables.events is not None:
        folder.append("events", tables.events, part)
        counts["events"] += tables.events.num_rows
    folder.append("customers", tables.customers)
    folder.append("ground_truth", tables.ground_truth)
    counts["transactions"] += tables.transactions.num_rows
    counts["orders"] += tables.n_orders
    counts["sessions"] += tables.n_sessions
    counts["returns"] += tables.n_returns


def _params_json(params: SimulationParams, n_customers: int, start: pd.Timestamp,
                 end: pd.Timestamp, t_end: int, horizon_days: int, seed: int, layout: str,
                 chunk: int, counts: dict, n_products: int) -> dict:
    from ltv import __version__

    observation_end = start + pd.Timedelta(days=t_end)
    return {
        "generator": GENERATOR,
        "complete": True,
        "version": __version__,
        "n_customers": n_customers,
        "start": str(start.date()),
        "end": str(end.date()),
        "observation_end": str(observation_end),
        "horizon_days": horizon_days,
        "horizon_end": str(observation_end + pd.Timedelta(days=horizon_days)),
        "seed": seed,
        "layout": layout,
        "chunk_customers": chunk,
        "params": params.to_dict(),
        "derived": {
            "mean_lambda_per_day": params.r / params.alpha,
            "mean_order_value": params.mean_order_value,
            "p_alive_365_days_after_signup": ((params.beta / (params.beta + 365)) ** params.s
                                              if params.dropout else 1.0),
        },
        "counts": {"customers": n_customers, "products": n_products,
                   "transactions": counts["transactions"], "return_rows": counts["returns"],
                   "events": counts["events"], "sessions": counts["sessions"],
                   "orders_incl_horizon": counts["orders"]},
    }


def _check_params(params: SimulationParams | None) -> SimulationParams:
    if params is None:
        return SimulationParams()
    if not isinstance(params, SimulationParams):
        raise ConfigError(f"params is a {type(params).__name__}, not SimulationParams",
                          "pass SimulationParams(...) (or SimulationParams.from_dict(d))")
    return params


def _positive_int(name: str, value: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} = {value!r} is not a positive integer", fix)
    return value


def _date(name: str, value) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{name} = {value!r} is not a date ({err})",
                          f"pass {name} as YYYY-MM-DD") from None
    if ts is pd.NaT or pd.isna(ts):
        raise ConfigError(f"{name} is missing", f"pass {name} as YYYY-MM-DD")
    if ts.tzinfo is not None:
        raise ConfigError(f"{name} = {value!r} has a time zone",
                          f"pass {name} as a UTC date, YYYY-MM-DD")
    if ts != ts.normalize():
        raise ConfigError(f"{name} = {value!r} has a time of day",
                          f"pass {name} as a date, YYYY-MM-DD (days start at midnight UTC)")
    return ts
