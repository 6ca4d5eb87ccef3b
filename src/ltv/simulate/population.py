"""Customer-level draws for one block: attributes, true rates, signup and dropout times."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltv.simulate.params import SimulationParams
from ltv.simulate.streams import Streams


@dataclass(frozen=True)
class Population:
    """n customers; every array has length n (category_cum is n x n_categories).

    Times are days since `start`; rates are per day; money is currency units.
    lam:     base purchase rate (channel multiplier applied, before seasonality)
    mu:      dropout rate (0 when dropout is off)
    nu:      true mean order value (gross, before returns)
    signup:  signup time, also the first order's time
    dropout: time the customer becomes inactive (inf when never)
    """

    first_index: int  # global index of the first customer (customer_id = index + 1)
    channel: np.ndarray
    region: np.ndarray
    age_band: np.ndarray
    lam: np.ndarray
    mu: np.ndarray
    nu: np.ndarray
    signup: np.ndarray
    dropout: np.ndarray
    category_cum: np.ndarray
    app_share: np.ndarray

    def __len__(self) -> int:
        return len(self.lam)


def draw_population(first_index: int, n: int, signup_span_days: float,
                    params: SimulationParams, streams: Streams) -> Population:
    """Draw customers first_index .. first_index + n - 1, signing up in [0, signup_span_days)."""
    channel = _categorical(streams.take("channel"), params.channel_shares, n)
    region = _categorical(streams.take("region"), params.region_shares, n)
    age_band = _categorical(streams.take("age_band"), params.age_band_shares, n)

    rate_mult = np.asarray(params.channel_rate_multipliers)[channel]
    lam = streams.take("lambda").gamma(params.r, 1.0 / params.alpha, n) * rate_mult
    spend_mult = (np.asarray(params.channel_spend_multipliers)[channel]
                  * np.asarray(params.age_band_spend_multipliers)[age_band])
    v = streams.take("spend_rate").gamma(params.q, 1.0 / params.gamma, n)
    nu = spend_mult * params.p / v

    signup = _signup_times(streams.take("signup").random(n), signup_span_days,
                           params.signup_growth_per_year)
    if params.dropout:
        mu = streams.take("mu").gamma(params.s, 1.0 / params.beta, n)
        dropout = signup + streams.take("lifetime").exponential(1.0, n) / mu
    else:
        mu = np.zeros(n)
        dropout = np.full(n, np.inf)

    prefs = streams.take("category_pref").standard_gamma(
        params.category_concentration, (n, len(params.categories)))
    # A tiny floor keeps rows whose draws all underflow (possible for small concentrations)
    # from dividing 0 by 0; such a row becomes uniform.
    prefs += 1e-300
    category_cum = np.cumsum(prefs / prefs.sum(axis=1, keepdims=True), axis=1)
    category_cum[:, -1] = 1.0
    app_share = streams.take("app_share").beta(params.app_share_a, params.app_share_b, n)

    return Population(first_index=first_index, channel=channel, region=region,
                      age_band=age_band, lam=lam, mu=mu, nu=nu, signup=signup,
                      dropout=dropout, category_cum=category_cum, app_share=app_share)


def _categorical(rng: np.random.Generator, shares: tuple[float, ...], n: int) -> np.ndarray:
    cum = np.cumsum(shares)
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"),
                      len(shares) - 1).astype(np.int8)


def _signup_times(u: np.ndarray, span: float, growth_per_year: float) -> np.ndarray:
    """Inverse CDF of a density proportional to exp(g * t) on [0, span), g per day."""
    g = growth_per_year / 365.25
    if abs(g * span) < 1e-9:
        return u * span
    return np.log1p(u * np.expm1(g * span)) / g
