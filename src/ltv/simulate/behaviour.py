"""Behaviour events: sessions of views and carts that end in purchases, and browse-only sessions.

A session is laid out as [views..., carts..., purchases...] with increasing times:
- purchase session (one per observed order): Poisson(extra_views_mean) views of other products,
  then one view per order line, one cart per line, and one purchase per line at the order's
  time; the session starts Exponential(session_minutes_mean) before the order.
- browse-only session: 1 + Poisson(browse_extra_views_mean) views; each viewed product is
  carted (and abandoned) with probability browse_cart_prob. They arrive while the customer is
  alive at browse_sessions_per_order times the customer's seasonal order intensity.
Events of a session spread over its length: element k of V views + C carts sits at
start + length * (k + U) / (V + C), U uniform, so views precede carts precede the purchase.
Sessions are sorted by customer, then start time; only events before the observation end exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltv.simulate.catalog import Catalog
from ltv.simulate.params import SimulationParams
from ltv.simulate.population import Population
from ltv.simulate.purchases import Lines, Orders, pick_categories
from ltv.simulate.ragged import positions, starts
from ltv.simulate.seasonality import SeasonCalendar
from ltv.simulate.streams import Streams

VIEW, CART, PURCHASE = 0, 1, 2
EVENT_TYPES = ("view", "cart", "purchase")
MINUTES_PER_DAY = 1440.0


@dataclass(frozen=True)
class Events:
    """Event rows in output order. t in days since start; price in currency units.

    session: block-local session number (sessions are numbered in output order).
    """

    customer: np.ndarray
    t: np.ndarray
    event_type: np.ndarray
    product: np.ndarray
    category: np.ndarray
    price: np.ndarray
    session: np.ndarray
    n_sessions: int

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class _Sessions:
    customer: np.ndarray
    start: np.ndarray
    length: np.ndarray
    random_views: np.ndarray  # views of products drawn from the customer's preferences
    lines: np.ndarray  # order lines bought in the session (0 for browse-only)
    order: np.ndarray  # the order a purchase session ends in (-1 for browse-only)

    @property
    def browse(self) -> np.ndarray:
        return self.order < 0


def draw_events(pop: Population, orders: Orders, lines: Lines, catalog: Catalog,
                cal: SeasonCalendar, t_end: float, params: SimulationParams,
                streams: Streams) -> Events:
    """All events of the block's customers before t_end (days since start).

    Each kind of row (preference views, abandoned carts, line views/carts/purchases) is
    computed for its own rows and scattered to its place in the session layout.
    """
    sess = _sort_sessions(_concat(_purchase_sessions(orders, lines, t_end, params, streams),
                                  _browse_sessions(pop, cal, t_end, params, streams)))
    n_sess = len(sess.customer)

    # Views drawn from preferences; in browse sessions some are carted (carts follow views).
    view_sess, view_rank = positions(sess.random_views)
    carted = np.zeros(len(view_sess), dtype=bool)
    in_browse = sess.browse[view_sess]
    u = streams.take("browse_cart").random(int(in_browse.sum()))
    carted[in_browse] = u < params.browse_cart_prob
    browse_carts = np.bincount(view_sess[carted], minlength=n_sess)

    n_views = sess.random_views + sess.lines
    n_carts = sess.lines + browse_carts
    n_rows = n_views + n_carts + sess.lines
    offset = starts(n_rows)
    # Element k of a session's views and carts sits at start + length * (k + U) / (V + C).
    step = sess.length / np.maximum(n_views + n_carts, 1)
    total = int(n_rows.sum())
    t = np.empty(total)
    etype = np.full(total, VIEW, dtype=np.int8)
    product = np.empty(total, dtype=np.int64)
    category = np.empty(total, dtype=np.int16)
    price = np.empty(total)

    def place(rows: np.ndarray, sessions: np.ndarray, k: np.ndarray, stream: str) -> None:
        jitter = streams.take(stream).random(len(rows))
        t[rows] = sess.start[sessions] + step[sessions] * (k + jitter)

    rows = offset[view_sess] + view_rank
    place(rows, view_sess, view_rank, "jitter_view")
    view_cat = pick_categories(pop.category_cum, sess.customer[view_sess],
                               streams.take("view_category").random(len(rows)))
    view_product = catalog.draw_products(view_cat, streams.take("view_product").random(len(rows)))
    category[rows], product[rows] = view_cat, view_product
    price[rows] = catalog.list_price[view_product]

    cart_sess, cart_rank = positions(browse_carts)  # in view order, like view_*[carted]
    rows = offset[cart_sess] + n_views[cart_sess] + cart_rank
    place(rows, cart_sess, n_views[cart_sess] + cart_rank, "jitter_browse_cart")
    etype[rows] = CART
    category[rows], product[rows] = view_cat[carted], view_product[carted]
    price[rows] = catalog.list_price[product[rows]]

    # Each bought line: a view (after the preference views), a cart, and the purchase.
    session_of_order = np.full(len(orders), -1, dtype=np.int64)
    bought = ~sess.browse
    session_of_order[sess.order[bought]] = np.flatnonzero(bought)
    line = np.flatnonzero(lines.t < t_end)
    line_sess = session_of_order[lines.order[line]]
    rank = line - lines.first_of_order[lines.order[line]]
    view_rows = offset[line_sess] + sess.random_views[line_sess] + rank
    cart_rows = offset[line_sess] + n_views[line_sess] + rank
    buy_rows = cart_rows + n_carts[line_sess]
    place(view_rows, line_sess, sess.random_views[line_sess] + rank, "jitter_line_view")
    place(cart_rows, line_sess, n_views[line_sess] + rank, "jitter_line_cart")
    t[buy_rows] = lines.t[line]  # the order's own time, exactly
    etype[cart_rows], etype[buy_rows] = CART, PURCHASE
    for rows in (view_rows, cart_rows, buy_rows):
        category[rows], product[rows] = lines.category[line], lines.product[line]
        price[rows] = lines.unit_price[line]

    return Events(customer=np.repeat(sess.customer, n_rows), t=t, event_type=etype,
                  product=product, category=category, price=price,
                  session=np.repeat(np.arange(n_sess), n_rows), n_sessions=n_sess)


def _purchase_sessions(orders: Orders, lines: Lines, t_end: float, params: SimulationParams,
                       streams: Streams) -> _Sessions:
    observed = np.flatnonzero(orders.t < t_end)
    n = len(observed)
    extra = streams.take("session_extra_views").poisson(params.extra_views_mean, n)
    length = streams.take("session_length").exponential(params.session_minutes_mean / MINUTES_PER_DAY, n)
    t = orders.t[observed]
    length = np.minimum(length, t)  # no session starts before the simulation does
    return _Sessions(customer=orders.owner[observed], start=t - length, length=length,
                     random_views=extra, lines=lines.per_order[observed], order=observed)


def _browse_sessions(pop: Population, cal: SeasonCalendar, t_end: float,
                     params: SimulationParams, streams: Streams) -> _Sessions:
    alive_until = np.minimum(pop.dropout, t_end)
    s_from, s_to = cal.integral(pop.signup), cal.integral(alive_until)
    count = streams.take("browse_count").poisson(
        params.browse_sessions_per_order * pop.lam * (s_to - s_from))
    owner = np.repeat(np.arange(len(pop)), count)
    u = streams.take("browse_time").random(len(owner))
    start = cal.inverse(s_from[owner] + u * (s_to - s_from)[owner])
    length = streams.take("browse_length").exponential(params.session_minutes_mean / MINUTES_PER_DAY,
                                                       len(owner))
    length = np.minimum(length, t_end - start)  # the session ends inside the window
    views = 1 + streams.take("browse_views").poisson(params.browse_extra_views_mean, len(owner))
    return _Sessions(customer=owner, start=start, length=length, random_views=views,
                     lines=np.zeros(len(owner), dtype=np.int64),
                     order=np.full(len(owner), -1, dtype=np.int64))


def _concat(a: _Sessions, b: _Sessions) -> _Sessions:
    return _Sessions(**{name: np.concatenate([getattr(a, name), getattr(b, name)])
                        for name in _Sessions.__dataclass_fields__})


def _sort_sessions(sess: _Sessions) -> _Sessions:
    """Order by customer, then start second; ties keep purchase sessions first (stable)."""
    key = (sess.customer.astype(np.int64) << 32) | np.floor(sess.start * 86_400).astype(np.int64)
    order = np.argsort(key, kind="stable")
    return _Sessions(**{name: getattr(sess, name)[order] for name in _Sessions.__dataclass_fields__})
