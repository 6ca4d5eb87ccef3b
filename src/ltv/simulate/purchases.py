"""Orders, order lines and returns for one block of customers (all vectorized).

Every array is in customer order (customer-major, then time), which is what keeps the output
independent of the block and chunk sizes (see streams.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltv.simulate.catalog import Catalog
from ltv.simulate.params import SimulationParams
from ltv.simulate.population import Population
from ltv.simulate.ragged import starts
from ltv.simulate.seasonality import SeasonCalendar
from ltv.simulate.streams import Streams


@dataclass(frozen=True)
class Orders:
    """All orders of the block up to the end of the ground-truth horizon.

    owner: local customer index per order (non-decreasing); t: days since start, increasing
    within a customer; first: position of each customer's first order; value: gross order
    value z (currency); app: placed through the app (else web).
    """

    owner: np.ndarray
    t: np.ndarray
    first: np.ndarray
    value: np.ndarray
    app: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class Lines:
    """Order lines. Unit prices are whole cents; amount = quantity * unit_price in cents.

    returned: the line comes back; return_t: when (days since start; NaN if not returned).
    per_order / first_of_order: each order's number of lines and the index of its first line.
    """

    order: np.ndarray
    customer: np.ndarray
    t: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    amount: np.ndarray
    category: np.ndarray
    product: np.ndarray
    returned: np.ndarray
    return_t: np.ndarray
    per_order: np.ndarray
    first_of_order: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


def draw_orders(pop: Population, cal: SeasonCalendar, t_stop: float,
                params: SimulationParams, streams: Streams) -> Orders:
    """Orders from signup until dropout or t_stop (days), whichever comes first."""
    n = len(pop)
    alive_until = np.minimum(pop.dropout, t_stop)
    s_from, s_to = cal.integral(pop.signup), cal.integral(alive_until)
    # Repeat orders: a Poisson process with intensity lam * season(t), by time change (see
    # seasonality.py): Poisson(lam * (S(b) - S(a))) points, uniform in S, mapped back.
    n_repeat = streams.take("n_repeat").poisson(pop.lam * (s_to - s_from))
    rep_owner = np.repeat(np.arange(n), n_repeat)
    u = streams.take("repeat_time").random(len(rep_owner))
    # Sort the uniforms within each customer: owner + u keeps customers apart because u < 1.
    key = rep_owner + u
    key.sort()
    u = key - rep_owner
    rep_t = cal.inverse(s_from[rep_owner] + u * (s_to - s_from)[rep_owner])
    # A repeat order can round onto the signup instant or just past t_stop; keep it inside.
    np.clip(rep_t, pop.signup[rep_owner], np.nextafter(alive_until[rep_owner], -np.inf),
            out=rep_t)

    first_extra = int(params.first_order_at_signup)
    count = n_repeat + first_extra
    first = starts(count)
    owner = np.repeat(np.arange(n), count)
    t = np.empty(len(owner))
    if first_extra:
        is_first = np.zeros(len(owner), dtype=bool)
        is_first[first] = True
        t[is_first] = pop.signup
        t[~is_first] = rep_t
    else:
        t[:] = rep_t

    # Gamma-Gamma: z ~ Gamma(p, rate v) * multipliers = Gamma(p, scale nu / p).
    value = streams.take("order_value").gamma(params.p, (pop.nu / params.p)[owner])
    app = streams.take("order_app").random(len(owner)) < pop.app_share[owner]
    return Orders(owner=owner, t=t, first=first, value=value, app=app)


def draw_lines(pop: Population, orders: Orders, catalog: Catalog,
               params: SimulationParams, streams: Streams) -> Lines:
    """Split each order's value over 1 + Poisson(extra_lines_mean) lines, pick products, returns."""
    n_lines = 1 + streams.take("n_lines").poisson(params.extra_lines_mean, len(orders))
    order = np.repeat(np.arange(len(orders)), n_lines)
    customer = orders.owner[order]

    # Flat-Dirichlet shares of the order value: exponentials over their order's sum.
    weight = streams.take("line_share").standard_exponential(len(order))
    share = weight / np.bincount(order, weights=weight, minlength=len(orders))[order]
    quantity = 1 + streams.take("quantity").poisson(params.extra_quantity_mean, len(order))
    # Whole cents, at least one cent, and the amount is the exact cent value of
    # quantity * unit_price (np.round drops float noise such as 72.30000000000001), which is
    # what a reader of a quantity/unit-price layout gets when it rounds the product to cents.
    unit_price = np.maximum(np.round(orders.value[order] * share / quantity, 2), 0.01)
    amount = np.round(quantity * unit_price, 2)

    category = pick_categories(pop.category_cum, customer,
                               streams.take("line_category").random(len(order)))
    product = catalog.draw_products(category, streams.take("line_product").random(len(order)))

    returned = streams.take("returned").random(len(order)) < params.return_prob
    t = orders.t[order]
    return_t = np.full(len(order), np.nan)
    delay = streams.take("return_delay").exponential(params.return_delay_mean_days, int(returned.sum()))
    return_t[returned] = t[returned] + params.return_delay_min_days + delay
    return Lines(order=order, customer=customer, t=t, quantity=quantity, unit_price=unit_price,
                 amount=amount, category=category, product=product, returned=returned,
                 return_t=return_t, per_order=n_lines, first_of_order=starts(n_lines))


def pick_categories(category_cum: np.ndarray, customer: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category index per draw from its customer's preference row (rows of category_cum).

    Counts the cumulative shares below u, one category column at a time: with ~12 columns
    this beats a binary search (the columns of a block stay in cache).
    """
    columns = np.ascontiguousarray(category_cum[:, :-1].T)
    out = np.zeros(len(u), dtype=np.int16)
    for column in columns:
        out += u >= column[customer]
    return out
