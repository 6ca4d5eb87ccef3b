"""Arrow tables in the output layouts, built from a block's arrays.

String columns are the costliest part of writing 100M rows, so none is built from Python
strings: repeated values (customer, product, category, ...) are dictionary arrays (integer
codes into a small array of strings, which Parquet writes as its dictionary encoding without
hashing a string) and unique ones (order and session ids) are cast from integers by Arrow.
The files do not store the Arrow schema, so readers get plain string columns back.
Timestamps are naive microseconds meaning UTC, floored to the second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ltv.simulate.behaviour import EVENT_TYPES, Events
from ltv.simulate.catalog import Catalog
from ltv.simulate.params import SimulationParams
from ltv.simulate.population import Population
from ltv.simulate.purchases import Lines, Orders

TS = pa.timestamp("us")
SECONDS_PER_DAY = 86_400
FIRST_ORDER_NUMBER = 1_000_000  # order ids look like invoice numbers ("1000000", "C1000000")
FIRST_SESSION_NUMBER = 1
RETURN_PREFIX = "C"  # UCI marks cancellations with a leading C on the invoice number
SALES_CHANNELS = ("web", "app")
LAYOUTS = ("canonical", "uci-online-retail")


@dataclass(frozen=True)
class Frame:
    """What every table of a block needs to know about time and numbering."""

    start_us: int  # `start` as microseconds since 1970
    t_end: float  # observation end, days since start
    order_offset: int  # global number of the block's first order (0-based)
    session_offset: int
    customer_ids: pa.Array  # the block's customer_id strings, by local index


def seconds(t_days: np.ndarray) -> np.ndarray:
    """Whole seconds since start (floor), int64."""
    return np.floor(t_days * SECONDS_PER_DAY).astype(np.int64)


def timestamps(frame: Frame, secs: np.ndarray) -> pa.Array:
    return pa.array(frame.start_us + secs * 1_000_000, type=TS)


def numbers_as_strings(numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(numbers, type=pa.int64()), pa.string())


def labels(dictionary: pa.Array | list[str] | tuple[str, ...], codes: np.ndarray) -> pa.DictionaryArray:
    """A string column given as codes into `dictionary` (int32 codes: one schema for all blocks)."""
    if not isinstance(dictionary, pa.Array):
        dictionary = pa.array(list(dictionary), type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), dictionary)


def customer_numbers(pop: Population) -> np.ndarray:
    """customer_id = global index + 1."""
    return np.arange(pop.first_index + 1, pop.first_index + len(pop) + 1, dtype=np.int64)


def transaction_rows(lines: Lines, t_end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(line index, is_return, seconds) of the rows before t_end, by customer then time.

    Purchases and returns are concatenated and stable-sorted, so a return in the same second
    as a purchase follows it.
    """
    bought = np.flatnonzero(lines.t < t_end)
    back = np.flatnonzero(lines.returned & (lines.return_t < t_end))
    line = np.concatenate([bought, back])
    is_return = np.zeros(len(line), dtype=bool)
    is_return[len(bought):] = True
    secs = np.concatenate([seconds(lines.t[bought]), seconds(lines.return_t[back])])
    key = (lines.customer[line].astype(np.int64) << 32) | secs
    order = np.argsort(key, kind="stable")
    return line[order], is_return[order], secs[order]


def transactions_table(layout: str, frame: Frame, pop: Population, orders: Orders,
                       lines: Lines, catalog: Catalog, params: SimulationParams) -> pa.Table:
    line, is_return, secs = transaction_rows(lines, frame.t_end)
    sign = np.where(is_return, -1, 1)
    customer = lines.customer[line]
    product = lines.product[line]
    order_id = _order_ids(frame.order_offset + lines.order[line], is_return)
    quantity = sign * lines.quantity[line]
    ts = timestamps(frame, secs)
    if layout == "uci-online-retail":
        return pa.table({
            "InvoiceNo": order_id,
            "StockCode": labels(catalog.product_ids, product),
            "Description": labels(catalog.descriptions, product),
            "Quantity": pa.array(quantity, type=pa.int64()),
            "InvoiceDate": ts,
            "UnitPrice": pa.array(lines.unit_price[line]),
            "CustomerID": pa.array((pop.first_index + 1 + customer).astype(np.float64)),
            "Country": labels(params.regions, pop.region[customer]),
        })
    return pa.table({
        "customer_id": labels(frame.customer_ids, customer),
        "ts": ts,
        "amount": pa.array(sign * lines.amount[line]),
        "order_id": order_id,
        "product_id": labels(catalog.product_ids, product),
        "category": labels(catalog.category_names, lines.category[line]),
        "quantity": pa.array(quantity.astype(np.float64)),
        "channel": labels(SALES_CHANNELS, orders.app[lines.order[line]]),
    })


def _order_ids(order_index: np.ndarray, is_return: np.ndarray) -> pa.Array:
    """"1000042" for a purchase line, "C1000042" for its return (prefix only the few returns)."""
    numbers = FIRST_ORDER_NUMBER + order_index
    plain = numbers_as_strings(numbers)
    prefixed = pc.binary_join_element_wise(RETURN_PREFIX, numbers_as_strings(numbers[is_return]), "")
    return pc.replace_with_mask(plain, pa.array(is_return), prefixed)


def events_table(frame: Frame, events: Events, catalog: Catalog) -> pa.Table:
    secs = np.minimum(seconds(events.t), int(frame.t_end * SECONDS_PER_DAY) - 1)
    sessions = numbers_as_strings(FIRST_SESSION_NUMBER + frame.session_offset
                                  + np.arange(events.n_sessions))
    return pa.table({
        "customer_id": labels(frame.customer_ids, events.customer),
        "ts": timestamps(frame, secs),
        "event_type": labels(EVENT_TYPES, events.event_type),
        "product_id": labels(catalog.product_ids, events.product),
        "category": labels(catalog.category_names, events.category),
        "price": pa.array(events.price),
        "session_id": sessions.take(pa.array(events.session)),
    })


def customers_table(frame: Frame, pop: Population, params: SimulationParams) -> pa.Table:
    """customers.parquet; attributes are known from signup on (valid_from = signup_ts)."""
    signup = timestamps(frame, seconds(pop.signup))
    return pa.table({
        "customer_id": frame.customer_ids,
        "signup_ts": signup,
        "channel": labels(params.channels, pop.channel),
        "region": labels(params.regions, pop.region),
        "age_band": labels(params.age_bands, pop.age_band),
        "valid_from": signup,
    })
