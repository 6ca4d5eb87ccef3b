"""Point-in-time (customer x category) tables for the interest model: features and labels.

As of a cutoff t, for every customer with a purchase line or an event before t (new
customers are cold start's business) and every category c of the layout:

- label (optional): 1 when the customer has label activity in c in [t, t + horizon);
  label activity is a purchase line (label_from="transactions") or an event of
  `label_event_types` (label_from="events": browsing counts as interest).
- features, all from rows with ts < t (in each trailing window w and over all history):
    tx_n_<w> baskets with c; tx_share_<w> that / the customer's baskets; tx_spend_share_<w>
    share of the customer's spend; tx_recency / tx_age: (t - last / first purchase in c)
    in horizons (NaN: never);
    evt_<type>_<w> events of each type in c; ev_share_<w> share of the customer's events;
    ev_recency in horizons;
    cust_*: the customer's baskets, spend, events per window, recencies, categories used;
    cat_prior: share of the population with label activity in c in [t - horizon, t)
    (smoothed (k + 1) / (n + 2)): the category's current popularity;
    base_share: the baseline, (units in c + ALPHA * cat_prior) / (units + ALPHA), units being
    label activity over all history (baskets or events); recent_units: units in c in
    [t - horizon, t); recent_count (a second baseline, not a model input): recent_units,
    ties broken by the smoothed share (which it adds, scaled below 1);
    mix_<c'>: the customer's unsmoothed share of each category c' (cross-category taste).
Recencies are in horizons so one set of trees reads days (Complete Journey) and minutes
(REES46) alike. Everything a column's existence depends on (categories, event types,
whether purchases exist) is fixed in the `Layout`, chosen at fit from rows before its cutoff.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ltv.features.names import unique_slugs
from ltv.profiles.interest_sources import (InterestError, Sources, duration_label, sql_ts)
from ltv.schema import sql_string

ALPHA = 1.0  # pseudo-units of the popularity prior in the baseline's backoff
LABEL_FROM = ("transactions", "events")


@dataclass(frozen=True)
class Layout:
    """The columns and labels of a fitted model; durations in seconds (JSON-friendly)."""

    categories: tuple[str, ...]
    event_types: tuple[str, ...]
    has_tx: bool
    label_from: str
    label_event_types: tuple[str, ...] | None
    horizon_s: float
    windows_s: tuple[float, ...]
    category_depth: int | None

    @property
    def horizon(self) -> pd.Timedelta:
        return pd.Timedelta(seconds=self.horizon_s)

    @property
    def windows(self) -> tuple[pd.Timedelta, ...]:
        return tuple(pd.Timedelta(seconds=s) for s in self.windows_s)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        d = dict(d)
        for key in ("categories", "event_types", "windows_s"):
            d[key] = tuple(d[key])
        if d["label_event_types"] is not None:
            d["label_event_types"] = tuple(d["label_event_types"])
        return cls(**d)


@dataclass
class PairTable:
    """Customers (sorted ids) x categories; every feature is an (n_customers, n_categories)
    float array; `labels` is 0/1 of the same shape (None without labels)."""

    cutoff: pd.Timestamp
    customers: np.ndarray
    features: dict[str, np.ndarray]
    labels: np.ndarray | None


def label_activity(src: Sources, layout: Layout) -> tuple[str, str]:
    """(SELECT of customer_id, ts, cat, unit counting expression) of the label source."""
    if layout.label_from == "transactions":
        if src.tx is None:
            raise InterestError("label_from='transactions' but the warehouse has no purchase "
                                "line", "ingest transactions, or use label_from='events'")
        return f"SELECT customer_id, ts, cat, basket FROM {src.tx}", "count(DISTINCT basket)"
    if src.ev is None:
        raise InterestError("label_from='events' but the warehouse has no event",
                            "ingest events (`ltv ingest ... --table events`), or use "
                            "label_from='transactions'")
    where = ""
    if layout.label_event_types:
        where = " WHERE event_type IN (" + ", ".join(
            sql_string(t) for t in layout.label_event_types) + ")"
    return f"SELECT customer_id, ts, cat FROM {src.ev}{where}", "count(*)"


def top_categories(src: Sources, layout: Layout, cutoff: pd.Timestamp, n: int) -> list[str]:
    """The n categories with the most customers with label activity before the cutoff."""
    acts, _ = label_activity(src, layout)
    rows = src.con.execute(f"""
        SELECT cat FROM ({acts}) WHERE ts < {sql_ts(cutoff)} AND cat IS NOT NULL
        GROUP BY cat ORDER BY count(DISTINCT customer_id) DESC, cat LIMIT {int(n)}""").fetchall()
    return [r[0] for r in rows]


def top_event_types(src: Sources, cutoff: pd.Timestamp, n: int) -> list[str]:
    if src.ev is None:
        return []
    return [r[0] for r in src.con.execute(f"""
        SELECT event_type FROM {src.ev} WHERE ts < {sql_ts(cutoff)} GROUP BY event_type
        ORDER BY count(*) DESC, event_type LIMIT {int(n)}""").fetchall()]


def feature_names(layout: Layout, *, pooled: bool) -> list[str]:
    """The model's input columns, in order (cat_index / cat_prior only for the pooled model,
    where they vary between rows)."""
    wl = [duration_label(w) for w in layout.windows] + ["all"]
    names = []
    if layout.has_tx:
        names += [f"tx_n_{w}" for w in wl] + [f"tx_share_{w}" for w in wl]
        names += [f"tx_spend_share_{w}" for w in wl] + ["tx_recency", "tx_age"]
        names += [f"cust_tx_n_{w}" for w in wl] + ["cust_spend_all", "cust_tx_recency"]
    if layout.event_types:
        for slug in unique_slugs(list(layout.event_types), "evt_"):
            names += [f"{slug}_{w}" for w in wl]
        names += [f"ev_share_{w}" for w in wl] + ["ev_recency"]
        names += [f"cust_ev_{w}" for w in wl] + ["cust_ev_recency"]
    names += ["cust_n_categories", "base_share", "recent_units"]
    names += unique_slugs(list(layout.categories), "mix_")
    if pooled:
        names += ["cat_prior", "cat_index"]
    return names


def build_pairs(src: Sources, layout: Layout, cutoff: pd.Timestamp, *,
                labels: bool) -> PairTable:
    """The pair table as of `cutoff` (see the module docstring)."""
    cats = list(layout.categories)
    cut = sql_ts(cutoff)
    in_cats = "(" + ", ".join(sql_string(c) for c in cats) + ")"
    since = [sql_ts(cutoff - w) for w in layout.windows]
    wl = [duration_label(w) for w in layout.windows] + ["all"]
    h_us = layout.horizon.total_seconds() * 1e6
    tables = {}  # name -> long frame with customer_id (and cat)
    if layout.has_tx and src.tx is not None:
        def tx_aggs():
            a = [f"count(DISTINCT basket) FILTER (WHERE ts >= {s}) AS n_{w}"
                 for s, w in zip(since, wl)]
            a += [f"coalesce(sum(amount) FILTER (WHERE ts >= {s}), 0) AS spend_{w}"
                  for s, w in zip(since, wl)]
            a += ["count(DISTINCT basket) AS n_all", "sum(amount) AS spend_all",
                  f"({cutoff_us(cutoff)} - epoch_us(max(ts))) / {h_us} AS recency",
                  f"({cutoff_us(cutoff)} - epoch_us(min(ts))) / {h_us} AS age"]
            return ", ".join(a)
        tables["tx_pair"] = src.query(
            f"SELECT customer_id, cat, {tx_aggs()} FROM {src.tx} "
            f"WHERE ts < {cut} AND cat IN {in_cats} GROUP BY customer_id, cat")
        tables["tx_cust"] = src.query(
            f"SELECT customer_id, {tx_aggs()} FROM {src.tx} WHERE ts < {cut} "
            "GROUP BY customer_id")
    slugs = unique_slugs(list(layout.event_types), "evt_")
    if layout.event_types and src.ev is not None:
        a = [f"count(*) FILTER (WHERE ts >= {s}) AS any_{w}" for s, w in zip(since, wl)]
        a += ["count(*) AS any_all",
              f"({cutoff_us(cutoff)} - epoch_us(max(ts))) / {h_us} AS recency"]
        per_type = [f"count(*) FILTER (WHERE event_type = {sql_string(t)}"
                    f"{f' AND ts >= {s}' if s else ''}) AS {slug}_{w}"
                    for t, slug in zip(layout.event_types, slugs)
                    for s, w in zip(since + [None], wl)]
        tables["ev_pair"] = src.query(
            f"SELECT customer_id, cat, {', '.join(a + per_type)} FROM {src.ev} "
            f"WHERE ts < {cut} AND cat IN {in_cats} GROUP BY customer_id, cat")
        tables["ev_cust"] = src.query(
            f"SELECT customer_id, {', '.join(a)} FROM {src.ev} WHERE ts < {cut} "
            "GROUP BY customer_id")
    acts, units = label_activity(src, layout)
    tables["units_pair"] = src.query(
        f"SELECT customer_id, cat, {units} AS units FROM ({acts}) WHERE ts < {cut} "
        f"AND cat IN {in_cats} GROUP BY customer_id, cat")
    tables["units_cust"] = src.query(
        f"SELECT customer_id, {units} AS units FROM ({acts}) WHERE ts < {cut} GROUP BY ALL")
    tables["recent"] = src.query(
        f"SELECT customer_id, cat, {units} AS units FROM ({acts}) WHERE ts < {cut} "
        f"AND ts >= {sql_ts(cutoff - layout.horizon)} AND cat IN {in_cats} GROUP BY ALL")
    if labels:
        tables["label"] = src.query(
            f"SELECT DISTINCT customer_id, cat FROM ({acts}) WHERE ts >= {cut} "
            f"AND ts < {sql_ts(cutoff + layout.horizon)} AND cat IN {in_cats}")
    ids = sorted(set().union(*(set(tables[k]["customer_id"]) for k in ("tx_cust", "ev_cust")
                               if k in tables)))
    grid = _Grid(np.asarray(ids, dtype=object), cats)
    feats: dict[str, np.ndarray] = {}
    if "tx_pair" in tables:
        pair, cust = tables["tx_pair"], tables["tx_cust"]
        for w in wl:
            n_pair, n_cust = grid.pair(pair, f"n_{w}"), grid.cust(cust, f"n_{w}")
            feats[f"tx_n_{w}"] = n_pair
            feats[f"tx_share_{w}"] = _ratio(n_pair, n_cust)
            feats[f"tx_spend_share_{w}"] = _ratio(grid.pair(pair, f"spend_{w}"),
                                                  grid.cust(cust, f"spend_{w}"))
            feats[f"cust_tx_n_{w}"] = grid.cust(cust, f"n_{w}")
        feats["tx_recency"] = grid.pair(pair, "recency", np.nan)
        feats["tx_age"] = grid.pair(pair, "age", np.nan)
        feats["cust_spend_all"] = grid.cust(cust, "spend_all")
        feats["cust_tx_recency"] = grid.cust(cust, "recency", np.nan)
    elif layout.has_tx:  # fitted with purchases, none before this cutoff: all empty
        for name in feature_names(layout, pooled=False):
            if name.startswith(("tx_", "cust_tx_", "cust_spend")):
                fill = np.nan if name.endswith(("recency", "age")) else 0.0
                feats[name] = grid.full(fill)
    if layout.event_types:
        pair, cust = tables.get("ev_pair"), tables.get("ev_cust")
        for w in wl:
            for slug in slugs:
                feats[f"{slug}_{w}"] = grid.pair(pair, f"{slug}_{w}")
            any_pair = grid.pair(pair, f"any_{w}")
            feats[f"ev_share_{w}"] = _ratio(any_pair, grid.cust(cust, f"any_{w}"))
            feats[f"cust_ev_{w}"] = grid.cust(cust, f"any_{w}")
        feats["ev_recency"] = grid.pair(pair, "recency", np.nan)
        feats["cust_ev_recency"] = grid.cust(cust, "recency", np.nan)
    units_pair = grid.pair(tables["units_pair"], "units")
    units_cust = grid.cust(tables["units_cust"], "units")
    recent = grid.pair(tables["recent"], "units")
    prior = ((recent > 0).sum(axis=0) + 1.0) / (len(ids) + 2.0)  # (L,)
    feats["recent_units"] = recent
    # Ranks by recent units, ties (most often: none) broken by the smoothed share, < 1.
    feats["recent_count"] = recent + (units_pair + ALPHA * prior) / (units_cust + ALPHA + 1.0)
    feats["cust_n_categories"] = grid.broadcast((units_pair > 0).sum(axis=1).astype(float))
    feats["base_share"] = (units_pair + ALPHA * prior) / (units_cust + ALPHA)
    mix = _ratio(units_pair, units_cust)
    for j, name in enumerate(unique_slugs(cats, "mix_")):
        feats[name] = grid.broadcast(mix[:, j])
    feats["cat_prior"] = np.broadcast_to(prior, grid.shape).copy()
    feats["cat_index"] = np.broadcast_to(np.arange(len(cats), dtype=float), grid.shape).copy()
    lab = grid.indicator(tables["label"]) if labels else None
    return PairTable(pd.Timestamp(cutoff), grid.ids, feats, lab)


def cutoff_us(cutoff: pd.Timestamp) -> int:
    return int((pd.Timestamp(cutoff) - pd.Timestamp("1970-01-01")) // pd.Timedelta(microseconds=1))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (a customer with no activity has no share)."""
    den = np.broadcast_to(den, num.shape)
    out = np.zeros(num.shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


class _Grid:
    """Scatters long (customer_id[, cat]) frames into (n_customers, n_categories) arrays."""

    def __init__(self, ids: np.ndarray, cats: list[str]):
        self.ids = ids
        self.cats = cats
        self.shape = (len(ids), len(cats))
        self._row = pd.Index(ids)
        self._col = pd.Index(cats)

    def full(self, fill: float) -> np.ndarray:
        return np.full(self.shape, fill)

    def broadcast(self, per_customer: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(per_customer, float)[:, None], self.shape[1], axis=1)

    def pair(self, frame: pd.DataFrame | None, col: str, fill: float = 0.0) -> np.ndarray:
        out = self.full(fill)
        if frame is not None and len(frame):
            r = self._row.get_indexer(frame["customer_id"])
            c = self._col.get_indexer(frame["cat"])
            ok = (r >= 0) & (c >= 0)
            out[r[ok], c[ok]] = frame[col].to_numpy(dtype=float)[ok]
        return out

    def cust(self, frame: pd.DataFrame | None, col: str, fill: float = 0.0) -> np.ndarray:
        out = np.full(self.shape[0], fill)
        if frame is not None and len(frame):
            r = self._row.get_indexer(frame["customer_id"])
            ok = r >= 0
            out[r[ok]] = frame[col].to_numpy(dtype=float)[ok]
        return self.broadcast(out)

    def indicator(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.zeros(self.shape)
        if len(frame):
            r = self._row.get_indexer(frame["customer_id"])
            c = self._col.get_indexer(frame["cat"])
            ok = (r >= 0) & (c >= 0)
            out[r[ok], c[ok]] = 1.0
        return out
