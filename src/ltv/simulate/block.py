"""One block of customers, from random draws to output tables (see api.BLOCK_CUSTOMERS)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ltv.simulate.behaviour import draw_events
from ltv.simulate.catalog import Catalog
from ltv.simulate.ground_truth import truth_table
from ltv.simulate.params import SimulationParams
from ltv.simulate.population import draw_population
from ltv.simulate.purchases import draw_lines, draw_orders
from ltv.simulate.seasonality import SeasonCalendar
from ltv.simulate.streams import Streams
from ltv.simulate.tables import (Frame, customer_numbers, customers_table, events_table,
                                 numbers_as_strings, transactions_table)


@dataclass(frozen=True)
class World:
    """Everything that is fixed for a whole simulation. Times are days since `start`."""

    params: SimulationParams
    calendar: SeasonCalendar
    catalog: Catalog
    start_us: int
    t_end: int  # observation end (exclusive), whole days
    horizon_days: int
    signup_span_days: float
    layout: str


@dataclass(frozen=True)
class BlockTables:
    transactions: pa.Table
    events: pa.Table | None
    customers: pa.Table
    ground_truth: pa.Table
    n_orders: int  # all orders drawn, horizon included (order numbers continue from here)
    n_sessions: int
    n_returns: int


def simulate_block(world: World, streams: Streams, first_index: int, n: int,
                   order_offset: int, session_offset: int) -> BlockTables:
    """Customers first_index .. first_index + n - 1; offsets number orders and sessions."""
    params = world.params
    streams.next_block()
    pop = draw_population(first_index, n, world.signup_span_days, params, streams)
    orders = draw_orders(pop, world.calendar, world.t_end + world.horizon_days, params, streams)
    lines = draw_lines(pop, orders, world.catalog, params, streams)
    frame = Frame(start_us=world.start_us, t_end=world.t_end, order_offset=order_offset,
                  session_offset=session_offset,
                  customer_ids=numbers_as_strings(customer_numbers(pop)))
    transactions = transactions_table(world.layout, frame, pop, orders, lines, world.catalog, params)
    events, n_sessions = None, 0
    if params.events:
        drawn = draw_events(pop, orders, lines, world.catalog, world.calendar, world.t_end,
                            params, streams)
        events, n_sessions = events_table(frame, drawn, world.catalog), drawn.n_sessions
    return BlockTables(
        transactions=transactions,
        events=events,
        customers=customers_table(frame, pop, params),
        ground_truth=truth_table(frame, pop, orders, lines, world.calendar, world.horizon_days, params),
        n_orders=len(orders),
        n_sessions=n_sessions,
        n_returns=int((lines.returned & (lines.return_t < world.t_end)).sum()),
    )
