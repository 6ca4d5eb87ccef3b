"""The written data follow the stated model: every check compares an observed statistic with
its theoretical value within 4 standard errors (a false alarm about once in 16,000 runs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ltv.simulate import SimulationParams
from ltv.simulate.seasonality import build_calendar

Z = 4.0


def _z(observed: float, expected: float, se: float) -> float:
    return (observed - expected) / se


def _observed_window(sim):
    meta = json.loads((sim.out / "params.json").read_text())
    return pd.Timestamp(meta["start"]), pd.Timestamp(meta["observation_end"])


def _repeat_orders(sim) -> pd.DataFrame:
    """Per customer: channel, age band, exposure (days from signup to the observation end) and
    the number of repeat orders (orders after the signup order), from the written files."""
    start, end = _observed_window(sim)
    tx = sim.read("transactions")
    orders = tx[tx["amount"] > 0].groupby("customer_id")["order_id"].nunique()
    customers = sim.read("customers").set_index("customer_id")
    frame = customers[["channel", "age_band"]].copy()
    frame["exposure"] = (end - customers["signup_ts"]).dt.total_seconds() / 86_400
    frame["repeat"] = orders.reindex(customers.index).fillna(0).to_numpy() - 1
    return frame


def test_repeat_orders_follow_the_nbd_with_channel_multipliers(nbd_sim):
    """No dropout, no seasonality: repeats ~ NBD, mean r t m / alpha, var mean + r (t m / alpha)^2."""
    p = SimulationParams()
    data = _repeat_orders(nbd_sim)
    mult = data["channel"].map(dict(zip(p.channels, p.channel_rate_multipliers))).to_numpy()
    scale = data["exposure"].to_numpy() * mult / p.alpha
    mean, var = p.r * scale, p.r * scale + p.r * scale**2
    n = data["repeat"].to_numpy()
    assert abs(_z(n.sum(), mean.sum(), np.sqrt(var.sum()))) < Z
    # Second moment: E[(N - mean)^2 - var] = 0, checked with its own sample standard error.
    resid = (n - mean) ** 2 - var
    assert abs(_z(resid.mean(), 0.0, resid.std() / np.sqrt(len(resid)))) < Z
    # The variance is really NBD, not Poisson: the overdispersion is far from zero.
    assert resid.mean() + var.mean() > 1.5 * mean.mean()
    # Each channel separately (its multiplier, not the average one).
    for channel, m in zip(p.channels, p.channel_rate_multipliers):
        sel = data["channel"].to_numpy() == channel
        assert abs(_z(n[sel].sum(), mean[sel].sum(), np.sqrt(var[sel].sum()))) < Z, channel


def test_order_values_follow_gamma_gamma(nbd_sim):
    """The signup order's value z: E[z / multipliers] = E[nu] = p * gamma / (q - 1)."""
    p = SimulationParams()
    tx = nbd_sim.read("transactions")
    bought = tx[tx["amount"] > 0].sort_values(["customer_id", "ts"], kind="stable")
    first = bought.groupby("customer_id")["order_id"].first()
    values = bought[bought["order_id"].isin(first)].groupby("customer_id")["amount"].sum()
    customers = nbd_sim.read("customers").set_index("customer_id").loc[values.index]
    mult = (customers["channel"].map(dict(zip(p.channels, p.channel_spend_multipliers)))
            * customers["age_band"].map(dict(zip(p.age_bands, p.age_band_spend_multipliers))))
    z = (values / mult).to_numpy()
    assert abs(_z(z.mean(), p.mean_order_value, z.std() / np.sqrt(len(z)))) < Z
    truth = nbd_sim.read("ground_truth").set_index("customer_id").loc[values.index]
    nu = (truth["nu"] / mult).to_numpy()
    assert abs(_z(nu.mean(), p.mean_order_value, nu.std() / np.sqrt(len(nu)))) < Z
    # Within customers, order values scatter around nu: E[z / nu] = 1.
    ratio = values.to_numpy() / truth["nu"].to_numpy()
    assert abs(_z(ratio.mean(), 1.0, ratio.std() / np.sqrt(len(ratio)))) < Z


def test_lifetimes_follow_the_pareto_dropout(default_sim):
    """P(lifetime > u) = (beta / (beta + u)) ** s, the Pareto/NBD survival curve."""
    p = SimulationParams()
    truth = default_sim.read("ground_truth")
    lifetime = (truth["dropout_ts"] - truth["signup_ts"]).dt.total_seconds().to_numpy() / 86_400
    lifetime = np.where(truth["dropout_ts"].isna(), np.inf, lifetime)
    for u in (30, 180, 365, 1000):
        expected = (p.beta / (p.beta + u)) ** p.s
        se = np.sqrt(expected * (1 - expected) / len(lifetime))
        assert abs(_z((lifetime > u).mean(), expected, se)) < Z, u
    # alive_at_end agrees with the same curve at each customer's own exposure.
    start, end = _observed_window(default_sim)
    age = (end - truth["signup_ts"]).dt.total_seconds().to_numpy() / 86_400
    alive = (p.beta / (p.beta + age)) ** p.s
    assert abs(_z(truth["alive_at_end"].mean(), alive.mean(),
                  np.sqrt((alive * (1 - alive)).sum()) / len(alive))) < Z


def test_seasonal_intensity_by_weekday_and_month(default_sim):
    """Given the true rates, repeat orders on each weekday and in each month are Poisson with
    mean sum_i lambda_i * integral of season(t) over the customer's alive days there."""
    p = SimulationParams()
    start, end = _observed_window(default_sim)
    n_days = (end - start).days
    cal = build_calendar(start, n_days, p)
    truth = default_sim.read("ground_truth")
    a = (truth["signup_ts"] - start).dt.total_seconds().to_numpy() / 86_400
    b = np.minimum(np.nan_to_num((truth["dropout_ts"] - start).dt.total_seconds().to_numpy() / 86_400,
                                 nan=np.inf), n_days)
    lam = truth["lambda"].to_numpy()
    # Expected repeats per calendar day: f_d * sum_i lam_i * |[d, d+1) & [a_i, b_i)|.
    days = np.arange(n_days)
    expected = np.zeros(n_days)
    for lo in range(0, len(lam), 2000):
        sl = slice(lo, lo + 2000)
        overlap = np.clip(np.minimum(b[sl, None], days + 1) - np.maximum(a[sl, None], days), 0, 1)
        expected += lam[sl] @ overlap
    expected *= cal.factor

    tx = default_sim.read("transactions")
    orders = tx[tx["amount"] > 0].groupby("order_id").agg(customer=("customer_id", "first"), ts=("ts", "first"))
    first = orders.groupby("customer")["ts"].transform("min")
    repeat_ts = orders.loc[orders["ts"] > first, "ts"]
    observed = np.bincount(((repeat_ts - start).dt.days).to_numpy(), minlength=n_days)

    calendar = pd.DatetimeIndex(start + pd.to_timedelta(days, unit="D"))
    for key in (calendar.day_of_week, calendar.month):
        exp = pd.Series(expected).groupby(key).sum()
        obs = pd.Series(observed).groupby(key).sum()
        z = (obs - exp) / np.sqrt(exp)
        assert z.abs().max() < Z, z.round(2).to_dict()
    # The shape is really there: per unit of alive-customer rate, December sells far more
    # than July (the true ratio of the seasonal factors is about 1.7).
    base = expected / cal.factor
    dec, jul = calendar.month == 12, calendar.month == 7
    assert observed[dec].sum() / base[dec].sum() > 1.4 * observed[jul].sum() / base[jul].sum()


def test_returns_happen_at_the_stated_rate_and_mirror_their_line(default_sim):
    p = SimulationParams()
    start, end = _observed_window(default_sim)
    tx = default_sim.read("transactions")
    bought = tx[tx["amount"] > 0]
    back = tx[tx["amount"] < 0]
    assert back["order_id"].str.startswith("C").all() and not bought["order_id"].str.startswith("C").any()
    key = ["customer_id", "order_id", "product_id", "quantity", "amount"]
    mirrored = back.assign(order_id=back["order_id"].str[1:], quantity=-back["quantity"],
                           amount=-back["amount"])
    matched = mirrored.merge(bought, on=key, suffixes=("_return", "_buy"))
    assert len(matched) >= len(back)  # every return row mirrors a bought line
    # Lines bought well before the end have had (almost surely: P(delay > 149 days) ~ 1e-7)
    # time to come back, so their return rate and delay are not cut by the window end.
    cut = end - pd.Timedelta(days=150)
    early = bought[bought["ts"] < cut]
    early_back = matched[matched["ts_buy"] < cut].drop_duplicates(key)
    rate = len(early_back) / len(early)
    assert abs(_z(rate, p.return_prob, np.sqrt(p.return_prob * (1 - p.return_prob) / len(early)))) < Z
    delay = (early_back["ts_return"] - early_back["ts_buy"]).dt.total_seconds() / 86_400
    assert (delay >= p.return_delay_min_days - 1 / 86_400).all()
    assert abs(_z(delay.mean(), p.return_delay_min_days + p.return_delay_mean_days,
                  delay.std() / np.sqrt(len(delay)))) < Z
