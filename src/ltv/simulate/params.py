"""The true population parameters of a simulated shop (one frozen dataclass, checked on creation).

Units: rates are per day, times are days, money is currency units (think GBP/EUR).

The generative model, customer by customer:

1. Acquisition: a customer signs up at a time drawn over [start, end + 1 day - signup_stop_days]
   with density growing like exp(signup_growth_per_year * years) (0 = uniform), so there are
   cohorts. The signup is the first order (as in BTYD models, where the first purchase marks
   birth and only repeat purchases are counted).
2. Attributes: acquisition `channel`, `region` and `age_band` drawn from their shares.
3. Repeat purchases follow Pareto/NBD: lambda ~ Gamma(r, rate=alpha) per day times the channel's
   rate multiplier; the customer stays alive for an Exponential(mu) lifetime with
   mu ~ Gamma(s, rate=beta) per day. While alive, orders arrive as a Poisson process with
   intensity lambda * season(t), where season(t) is a known per-day factor (weekly and yearly
   shape, December peak) averaging 1 over a year.
4. Spend follows Gamma-Gamma: v ~ Gamma(q, rate=gamma) per customer; each order's value is
   z ~ Gamma(p, rate=v) times the channel and age-band spend multipliers, so the customer's
   true mean order value is nu = multipliers * p / v and E[nu] = p * gamma / (q - 1) when the
   multipliers are 1.
5. Each order has 1 + Poisson(extra_lines_mean) lines; the order value is split over its lines
   (flat Dirichlet), each line has 1 + Poisson(extra_quantity_mean) units at a unit price
   rounded to cents. Line categories follow the customer's Dirichlet(category_concentration)
   preferences; products within a category follow a Zipf popularity.
6. Each line is returned with probability return_prob, return_delay_min_days +
   Exponential(return_delay_mean_days) days later, as a negative row.
7. Behaviour: every order is the end of a session of views (its lines' products plus
   Poisson(extra_views_mean) others), carts, then purchases; browse-only sessions arrive at
   browse_sessions_per_order times the order intensity while the customer is alive.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from ltv.errors import ConfigError

CATEGORIES = (
    "home_decor", "kitchen", "toys", "stationery", "garden", "jewellery",
    "bags", "party", "christmas", "candles", "textiles", "gifts",
)


@dataclass(frozen=True)
class SimulationParams:
    """True parameters of the simulated population; defaults describe an online gift shop.

    With the defaults a customer places about 4.4 repeat orders a year while alive
    (r / alpha = 0.012 per day), about 57% of a cohort is still alive after a year
    ((beta / (beta + 365)) ** s), and the mean order is worth 60 currency units
    (p * gamma / (q - 1)) before channel and age-band multipliers.
    """

    # Pareto/NBD purchase process: lambda ~ Gamma(shape r, rate alpha) [1/day],
    # mu ~ Gamma(shape s, rate beta) [1/day].
    r: float = 0.6
    alpha: float = 50.0
    s: float = 0.7
    beta: float = 300.0
    dropout: bool = True  # False: nobody ever drops out (mu = 0), a plain NBD

    # Gamma-Gamma spend: v ~ Gamma(shape q, rate gamma); order value z ~ Gamma(shape p, rate v).
    p: float = 4.0
    q: float = 5.0
    gamma: float = 60.0

    # Acquisition.
    signup_growth_per_year: float = 0.3  # log growth of the signup rate; 0 = uniform signups
    signup_stop_days: float = 30.0  # no signups in the last days, so every customer has history
    first_order_at_signup: bool = True  # the signup is an order (BTYD's "birth" purchase)

    # Acquisition channel: share, multiplier on lambda, multiplier on mean spend.
    channels: tuple[str, ...] = ("organic", "paid_search", "social", "referral")
    channel_shares: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)
    channel_rate_multipliers: tuple[float, ...] = (1.0, 0.8, 0.6, 1.3)
    channel_spend_multipliers: tuple[float, ...] = (1.0, 0.9, 0.8, 1.15)

    # Other attributes. Regions carry no effect on purpose (a pure-noise attribute); age bands
    # shift mean spend.
    regions: tuple[str, ...] = ("United Kingdom", "Germany", "France", "Netherlands", "Spain",
                                "Ireland")
    region_shares: tuple[float, ...] = (0.55, 0.12, 0.11, 0.08, 0.08, 0.06)
    age_bands: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55+")
    age_band_shares: tuple[float, ...] = (0.15, 0.30, 0.25, 0.18, 0.12)
    age_band_spend_multipliers: tuple[float, ...] = (0.8, 0.95, 1.05, 1.1, 1.1)

    # Seasonality of the purchase intensity (a per-day factor normalized to mean 1).
    seasonality: bool = True
    weekly: tuple[float, ...] = (0.95, 0.9, 0.9, 0.95, 1.05, 1.15, 1.1)  # Monday..Sunday
    yearly_amplitude: float = 0.15  # cosine shape peaking on yearly_peak_day
    yearly_peak_day: int = 335  # day of year (335 = 1 December)
    holiday_boost: float = 0.8  # extra Gaussian bump in the weeks before Christmas
    holiday_day: int = 350
    holiday_width_days: float = 8.0

    # Baskets, categories, products.
    extra_lines_mean: float = 1.5  # lines per order = 1 + Poisson(extra_lines_mean)
    extra_quantity_mean: float = 0.7  # units per line = 1 + Poisson(extra_quantity_mean)
    categories: tuple[str, ...] = CATEGORIES
    category_concentration: float = 0.3  # Dirichlet parameter; small = few favourite categories
    products_per_category: int = 250
    product_zipf_exponent: float = 1.05
    app_share_a: float = 1.0  # per customer P(order via app) ~ Beta(a, b); otherwise "web"
    app_share_b: float = 2.0

    # Returns and cancellations.
    return_prob: float = 0.06  # per order line
    return_delay_min_days: float = 1.0
    return_delay_mean_days: float = 9.0  # mean of the exponential part of the delay

    # Behaviour events.
    events: bool = True  # False: write no events/ (faster, for transaction-only benchmarks)
    extra_views_mean: float = 1.5  # views of other products in a purchase session
    session_minutes_mean: float = 20.0
    browse_sessions_per_order: float = 0.6  # browse-only sessions per order, on average
    browse_extra_views_mean: float = 1.5  # views per browse session = 1 + Poisson(this)
    browse_cart_prob: float = 0.1  # a viewed product in a browse session is carted (abandoned)

    def __post_init__(self) -> None:
        for name in ("r", "alpha", "s", "beta", "p", "q", "gamma", "category_concentration",
                     "product_zipf_exponent", "app_share_a", "app_share_b",
                     "session_minutes_mean", "holiday_width_days"):
            _positive(name, getattr(self, name))
        if self.q <= 1:
            raise ConfigError(f"SimulationParams.q = {self.q} gives an infinite mean spend "
                              "(E[nu] = p * gamma / (q - 1))",
                              "use q > 1 (q > 2 for a finite variance)")
        for name in ("extra_lines_mean", "extra_quantity_mean", "extra_views_mean",
                     "browse_sessions_per_order", "browse_extra_views_mean",
                     "return_delay_min_days", "return_delay_mean_days", "signup_stop_days",
                     "yearly_amplitude", "holiday_boost"):
            _non_negative(name, getattr(self, name))
        for name in ("return_prob", "browse_cart_prob"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"SimulationParams.{name} = {value} is not a probability in [0, 1)",
                                  f"set {name} between 0 and 1")
        if self.yearly_amplitude >= 1:
            raise ConfigError(f"SimulationParams.yearly_amplitude = {self.yearly_amplitude} makes "
                              "the purchase intensity negative in the off season",
                              "use an amplitude below 1")
        if not isinstance(self.products_per_category, int) or self.products_per_category < 1:
            raise ConfigError("SimulationParams.products_per_category = "
                              f"{self.products_per_category!r}", "use a positive integer")
        if len(self.weekly) != 7 or min(self.weekly) <= 0:
            raise ConfigError(f"SimulationParams.weekly = {self.weekly} is not 7 positive factors",
                              "give one positive factor per weekday, Monday first")
        if not 1 <= self.yearly_peak_day <= 366 or not 1 <= self.holiday_day <= 366:
            raise ConfigError("SimulationParams.yearly_peak_day / holiday_day must be a day of the "
                              "year", "use a number from 1 to 366")
        if len(self.categories) < 1 or len(set(self.categories)) != len(self.categories):
            raise ConfigError(f"SimulationParams.categories = {self.categories} is empty or repeats "
                              "a name", "give distinct category names")
        _shares("channel", self.channels, self.channel_shares,
                self.channel_rate_multipliers, self.channel_spend_multipliers)
        _shares("region", self.regions, self.region_shares)
        _shares("age_band", self.age_bands, self.age_band_shares, self.age_band_spend_multipliers)

    @property
    def mean_order_value(self) -> float:
        """E[nu] = p * gamma / (q - 1), currency, before channel and age-band multipliers."""
        return self.p * self.gamma / (self.q - 1)

    def to_dict(self) -> dict:
        """JSON-ready: tuples become lists."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> SimulationParams:
        """Inverse of `to_dict` (e.g. from params.json); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown simulation parameter(s): {', '.join(unknown)}",
                              f"use only: {', '.join(sorted(known))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ConfigError(f"SimulationParams.{name} = {value!r} must be a positive number",
                          f"set {name} > 0")


def _non_negative(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ConfigError(f"SimulationParams.{name} = {value!r} must be a number >= 0",
                          f"set {name} >= 0")


def _shares(what: str, names: tuple, shares: tuple, *multipliers: tuple) -> None:
    """Names, shares (summing to 1) and multipliers (positive) must line up."""
    if len(names) == 0 or len(set(names)) != len(names):
        raise ConfigError(f"SimulationParams {what} names {names} are empty or repeat",
                          f"give distinct {what} names")
    for values in (shares, *multipliers):
        if len(values) != len(names):
            raise ConfigError(f"SimulationParams: {len(names)} {what} names but {len(values)} "
                              f"values in {values}", f"give one value per {what}")
    if min(shares) < 0 or abs(sum(shares) - 1) > 1e-9:
        raise ConfigError(f"SimulationParams {what} shares {shares} do not sum to 1",
                          f"make the {what} shares non-negative and sum to 1")
    for values in multipliers:
        if min(values) <= 0:
            raise ConfigError(f"SimulationParams {what} multipliers {values} must be positive",
                              "use multipliers > 0 (1 = no effect)")
