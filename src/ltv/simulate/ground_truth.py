"""ground_truth.parquet: one row per customer with the true parameters and the horizon outcome.

Columns (rates per day, money in currency units, the horizon is [end + 1 day, + horizon_days)):
- lambda, mu, nu: the customer's true base purchase rate (channel multiplier applied, before
  seasonality), dropout rate, and mean order value (gross, multipliers applied).
- signup_ts, dropout_ts (NaT when the lifetime exceeds 100 years or dropout is off),
  alive_at_end.
- n_orders, last_order_ts: the observed history (orders before the observation end).
- p_alive: P(alive at the observation end | order history, true lambda and mu). Only orders
  count as history, as for a BTYD model: browse sessions would also reveal activity.
- expected_purchases / expected_spend: E[orders / net spend in the horizon | true parameters
  and true alive state] (0 for customers who dropped out).
- expected_purchases_given_history / expected_spend_given_history: the same without knowing the
  alive state: p_alive * E[... | alive]; the best any model that sees only the transactions
  could do if it knew the true rates.
- future_purchases / future_spend: what the simulation actually produced in the horizon (spend
  net of the returns of those orders, wherever the return falls).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ltv.simulate.params import SimulationParams
from ltv.simulate.population import Population
from ltv.simulate.purchases import Lines, Orders
from ltv.simulate.seasonality import SeasonCalendar
from ltv.simulate.tables import Frame, seconds, timestamps
from ltv.simulate.truth import expected_purchases_if_alive, p_alive

MAX_LIFETIME_DAYS = 36_525.0  # beyond this, dropout_ts is left empty (timestamps would overflow)


def truth_table(frame: Frame, pop: Population, orders: Orders, lines: Lines,
                cal: SeasonCalendar, horizon_days: int, params: SimulationParams) -> pa.Table:
    t_end = int(frame.t_end)
    n = len(pop)
    observed = orders.t < t_end
    n_orders = np.bincount(orders.owner[observed], minlength=n)
    # Orders are sorted in time within a customer, so the last observed one is at
    # first + n_orders - 1; customers without an observed order count from signup.
    t_last = pop.signup.copy()
    has = n_orders > 0
    t_last[has] = orders.t[orders.first[has] + n_orders[has] - 1]

    alive = pop.dropout > t_end
    per_alive = expected_purchases_if_alive(pop.lam, pop.mu, cal, t_end, horizon_days)
    net_order = pop.nu * (1 - params.return_prob)
    prob = p_alive(pop.lam, pop.mu, t_last, cal, t_end)

    future = ~observed
    future_lines = lines.t >= t_end
    future_spend = np.bincount(lines.customer[future_lines],
                               weights=(lines.amount * ~lines.returned)[future_lines], minlength=n)

    lifetime = pop.dropout - pop.signup
    finite = lifetime < MAX_LIFETIME_DAYS
    dropout_secs = seconds(np.where(finite, pop.dropout, 0.0))
    return pa.table({
        "customer_id": frame.customer_ids,
        "lambda": pa.array(pop.lam),
        "mu": pa.array(pop.mu),
        "nu": pa.array(pop.nu),
        "signup_ts": timestamps(frame, seconds(pop.signup)),
        "dropout_ts": pa.array(frame.start_us + dropout_secs * 1_000_000, type=pa.timestamp("us"),
                               mask=~finite),
        "alive_at_end": pa.array(alive),
        "n_orders": pa.array(n_orders),
        "last_order_ts": timestamps(frame, seconds(t_last)),
        "p_alive": pa.array(prob),
        "expected_purchases": pa.array(alive * per_alive),
        "expected_spend": pa.array(alive * per_alive * net_order),
        "expected_purchases_given_history": pa.array(prob * per_alive),
        "expected_spend_given_history": pa.array(prob * per_alive * net_order),
        "future_purchases": pa.array(np.bincount(orders.owner[future], minlength=n)),
        "future_spend": pa.array(future_spend),
    })
