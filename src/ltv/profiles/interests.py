"""`InterestModel`: which categories will a customer buy (or browse) in the next period?

A multi-label model over the warehouse. As of a cutoff t it gives, for every customer seen
before t, one probability per category c: P(the customer has label activity in c in
[t, t + horizon)). Label activity is a purchase line in c (label_from="transactions") or an
event in c (label_from="events", types `label_event_types`, default all: browsing counts);
"auto" takes events where any event before the cutoff has a category, else purchases.
Features are `ltv.profiles.interest_data`'s, all from rows with ts < t.

Fitting at cutoff T, with H the horizon and origins o_i = T - i*H (i = 1..n_windows):
features at o_i, labels in [o_i, o_i + H): every label ends by T, so fit(db, T) reads no row
at or after T. The latest origin is the validation window (the earlier ones train); with
n_windows=1 a fixed 20% of customers (crc32 of the id) validate instead. On it, each
candidate (see `interest_boosting`: LightGBM pooled over (customer, category) rows, LightGBM
per category, or a baseline with a logistic calibration) is fitted on the earlier windows
(the boosters pick their trees by early stopping) and scored; `strategy="auto"` keeps the
candidate with the best mean of macro AUC and precision@3 there, so on a log too small to
learn from (Taobao's 43 users) a baseline can win. The winner is refit on all windows.

Baselines (also scored by `evaluate`): `history_share`, the customer's own share of
past label activity in c backed off to the category's popularity; `recent_count`, their
label activity in c in the last horizon (ties broken by that share); and `popularity`, the
category's share of customers active in it in the last horizon, the same for everyone.
"""

from __future__ import annotations

import inspect
import zlib
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from ltv.errors import ConfigError, NotFittedError
from ltv.features.names import unique_slugs
from ltv.models.persistence import read_model_dir, write_model_dir
from ltv.profiles import interest_boosting as ib
from ltv.profiles.interest_data import (LABEL_FROM, Layout, PairTable, build_pairs,
                                        feature_names, top_categories, top_event_types)
from ltv.profiles.interest_sources import (InterestError, Sources, cutoff_of, parse_duration,
                                           sql_ts)
from ltv.profiles.ranking_metrics import interest_metrics

SELECT_K = 3  # precision@k used (with macro AUC) to pick the strategy
# baseline name -> the pair-table column that is its score
BASELINES = {"history_share": "base_share", "recent_count": "recent_count",
             "popularity": "cat_prior"}


class InterestModel:
    """Category-interest model (see the module docstring).

    Learned attributes: `layout_` (categories, event types, durations), `strategy_`,
    `fitted_` (boosters), `feature_names_`, `columns_` (category -> interest_<slug>),
    `validation_` (metrics per candidate and baseline on the validation window),
    `fit_cutoff_`.
    """

    family = "interests"

    def __init__(self, horizon: Any = 91, top_k_categories: int = 30, windows: Any = None,
                 n_windows: int = 2, strategy: str = "auto", label_from: str = "auto",
                 label_event_types: list[str] | None = None,
                 category_depth: int | None = None, max_event_types: int = 4, top_k: int = 3,
                 n_estimators: int = 400, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 20, feature_fraction: float = 0.8,
                 early_stopping_rounds: int = 30, seed: int = 0, num_threads: int = 1):
        self.horizon = horizon  # days (number) or a pandas duration ("50min")
        self.top_k_categories = top_k_categories
        self.windows = windows  # trailing windows; None: H/4, H, 2H, 4H
        self.n_windows = n_windows
        self.strategy = strategy
        self.label_from = label_from
        self.label_event_types = label_event_types
        self.category_depth = category_depth
        self.max_event_types = max_event_types
        self.top_k = top_k  # categories in `top_interests`
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.num_threads = num_threads

    def get_params(self) -> dict[str, Any]:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    # ---- fit ------------------------------------------------------------------------------
    def fit(self, db, cutoff) -> "InterestModel":
        """Learn from windows ending by `cutoff` (see the module docstring); returns self."""
        horizon, windows = self._check_params()
        cut = cutoff_of(cutoff)
        with Sources(db, self.category_depth) as src:
            layout = self._layout(src, cut, horizon, windows)
            origins = [cut - i * horizon for i in range(1, self.n_windows + 1)]
            tables = [build_pairs(src, layout, o, labels=True) for o in origins]
        for origin, table in zip(origins, tables):
            if len(table.customers) == 0:
                raise InterestError(
                    f"no customer has activity before the training origin {origin} "
                    f"(cutoff {cut} - {self.n_windows} x horizon {horizon})",
                    "use a later cutoff, a shorter horizon or fewer n_windows")
        train, valid, how = _split(tables)
        chosen, validation = self._select(layout, train, valid)
        names = feature_names(layout, pooled=chosen.strategy == "pooled")
        fitted = ib.refit(chosen, tables, names, self._lgb_params())
        validation["split"] = how
        # Learned state only now, so a failed fit leaves an earlier one intact.
        self.layout_ = layout
        self.strategy_ = chosen.strategy
        self.fitted_ = fitted
        self.feature_names_ = names
        self.columns_ = dict(zip(layout.categories,
                                 unique_slugs(list(layout.categories), "interest_")))
        self.validation_ = validation
        self.fit_cutoff_ = cut
        return self

    def _layout(self, src: Sources, cut, horizon, windows) -> Layout:
        has_tx = src.tx is not None and src.con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {src.tx} WHERE ts < {sql_ts(cut)} "
            "AND cat IS NOT NULL LIMIT 1)").fetchone()[0] > 0
        label_from = self.label_from
        if label_from == "auto":  # browsing is the richer signal of interest where it exists
            has_ev = src.ev is not None and src.con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {src.ev} WHERE ts < {sql_ts(cut)} "
                "AND cat IS NOT NULL LIMIT 1)").fetchone()[0] > 0
            label_from = "events" if has_ev else "transactions"
        types = tuple(self.label_event_types) if self.label_event_types else None
        draft = Layout((), (), has_tx, label_from, types, horizon.total_seconds(),
                       tuple(w.total_seconds() for w in windows), self.category_depth)
        cats = top_categories(src, draft, cut, self.top_k_categories)
        if not cats:
            raise InterestError(f"no {label_from} row before the cutoff {cut} has a category",
                                "ingest categories (a category column, or products with "
                                "one), or use a later cutoff")
        return Layout(tuple(cats), tuple(top_event_types(src, cut, self.max_event_types)),
                      has_tx, label_from, types, draft.horizon_s, draft.windows_s,
                      self.category_depth)

    def _select(self, layout: Layout, train, valid) -> tuple[ib.Fitted, dict]:
        candidates = ib.STRATEGIES if self.strategy == "auto" else (self.strategy,)
        y_valid = np.concatenate([t.labels for t in valid])
        cats = list(layout.categories)
        scores = {name: np.concatenate([t.features[col] for t in valid])
                  for name, col in BASELINES.items()}
        fits = {}
        # A calibrated baseline candidate replaces the raw baseline's scores: it ranks the
        # same, so its metrics are the same.
        for strategy in candidates:
            names = feature_names(layout, pooled=strategy == "pooled")
            fits[strategy], scores[strategy] = ib.fit_stage1(
                strategy, train, valid, names, self._lgb_params(), self.n_estimators,
                self.early_stopping_rounds)
        metrics = {name: interest_metrics(y_valid, p, cats) for name, p in scores.items()}
        best = max(candidates, key=lambda s: _selection_score(metrics[s]))
        return fits[best], {"metrics": metrics, "chosen": best,
                            "score": {s: _selection_score(metrics[s]) for s in candidates},
                            "trees": {str(k): v for k, v in fits[best].best_iteration.items()}}

    # ---- predict --------------------------------------------------------------------------
    def predict(self, db, cutoff) -> pd.DataFrame:
        """One row per customer with activity before `cutoff`, sorted by customer_id:
        customer_id, interest_<slug> per category (probability of label activity in c in
        [cutoff, cutoff + horizon)), top_interests (the `top_k` most likely categories,
        most likely first, joined by '|')."""
        table = self._pairs(db, cutoff, labels=False)
        return self._frame(table.customers, self._scores(table))

    def evaluate(self, db, cutoff, ks=(1, 3, 5)) -> dict[str, Any]:
        """Metrics (`ranking_metrics.interest_metrics`) of the model and both baselines on
        the labels of [cutoff, cutoff + horizon), over the customers seen before cutoff.
        A horizon that runs past the end of the data counts only what was recorded: pick
        a cutoff at least one horizon before the last row."""
        table = self._pairs(db, cutoff, labels=True)
        cats = list(self.layout_.categories)
        scores = {"model": self._scores(table),
                  **{name: table.features[col] for name, col in BASELINES.items()}}
        return {"cutoff": str(table.cutoff), "horizon": str(self.layout_.horizon),
                "strategy": self.strategy_,
                **{name: interest_metrics(table.labels, p, cats, ks)
                   for name, p in scores.items()}}

    def _pairs(self, db, cutoff, labels: bool) -> PairTable:
        self._check_fitted()
        with Sources(db, self.layout_.category_depth) as src:
            return build_pairs(src, self.layout_, cutoff_of(cutoff), labels=labels)

    def _scores(self, table: PairTable) -> np.ndarray:
        return self.fitted_.predict(table, self.feature_names_, self.num_threads)

    def _frame(self, ids: np.ndarray, probs: np.ndarray) -> pd.DataFrame:
        cats = list(self.layout_.categories)
        frame = pd.DataFrame(probs, columns=[self.columns_[c] for c in cats])
        frame.insert(0, "customer_id", pd.Series(ids, dtype=object).astype(str))
        k = min(self.top_k, len(cats))
        # Stable sort of -p: equal probabilities keep the category order (most popular first).
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        names = np.asarray(cats, dtype=object)
        frame["top_interests"] = ["|".join(row) for row in names[order]] if len(ids) else []
        return frame

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted model to a folder, atomically and checksummed."""
        self._check_fitted()
        f = self.fitted_
        learned = {
            "layout": self.layout_.to_dict(), "strategy": self.strategy_,
            "feature_names": self.feature_names_, "validation": self.validation_,
            "fit_cutoff": str(self.fit_cutoff_),
            "boosters": [_key(j) for j in f.boosters],
            "best_iteration": {_key(j): v for j, v in f.best_iteration.items()},
            "constants": {str(j): v for j, v in f.constants.items()},
            "calibration": f.calibration,
        }
        # Durations given as Timedelta are written as strings, which parse_duration reads back.
        meta = {"family": self.family, "class": type(self).__name__, "params": self.get_params(),
                "learned": learned}

        def write(folder: Path) -> None:
            for j, booster in f.boosters.items():
                booster.save_model(str(folder / f"booster_{_key(j)}.txt"))

        write_model_dir(path, meta, write)

    @classmethod
    def load(cls, path: str | Path) -> "InterestModel":
        manifest = read_model_dir(path, family=cls.family)
        learned = manifest["learned"]
        model = cls(**manifest["params"])
        model.layout_ = Layout.from_dict(learned["layout"])
        model.strategy_ = learned["strategy"]
        model.feature_names_ = list(learned["feature_names"])
        model.fitted_ = ib.Fitted(
            learned["strategy"],
            {_unkey(k): lgb.Booster(model_file=str(Path(path) / f"booster_{k}.txt"))
             for k in learned["boosters"]},
            {int(k): float(v) for k, v in learned["constants"].items()},
            {_unkey(k): int(v) for k, v in learned["best_iteration"].items()},
            None if learned["calibration"] is None else tuple(learned["calibration"]))
        model.columns_ = dict(zip(model.layout_.categories,
                                  unique_slugs(list(model.layout_.categories), "interest_")))
        model.validation_ = learned["validation"]
        model.fit_cutoff_ = pd.Timestamp(learned["fit_cutoff"])
        return model

    # ---- checks ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "fitted_"):
            raise NotFittedError("this InterestModel is not fitted yet",
                                 "call fit(db, cutoff) first, or InterestModel.load(path)")

    def _check_params(self) -> tuple[pd.Timedelta, list[pd.Timedelta]]:
        horizon = parse_duration(self.horizon, "horizon")
        if self.windows is None:
            windows = [horizon / 4, horizon, 2 * horizon, 4 * horizon]
        else:
            windows = sorted({parse_duration(w, "windows") for w in self.windows})
        if self.strategy not in ("auto",) + ib.STRATEGIES:
            raise ConfigError(f"strategy={self.strategy!r} is unknown",
                              "use one of: " + ", ".join(("auto",) + ib.STRATEGIES))
        if self.label_from not in ("auto",) + LABEL_FROM:
            raise ConfigError(f"label_from={self.label_from!r} is unknown",
                              "use 'auto', 'transactions' or 'events'")
        for name in ("top_k_categories", "n_windows", "max_event_types", "top_k",
                     "n_estimators", "num_leaves", "min_child_samples",
                     "early_stopping_rounds", "num_threads"):
            _positive_int(name, getattr(self, name))
        if self.category_depth is not None:
            _positive_int("category_depth", self.category_depth)
        for name in ("learning_rate", "feature_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 < value <= 1:
                raise ConfigError(f"{name}={value!r} is not in (0, 1]",
                                  f"pass e.g. {name}=0.05" if name == "learning_rate"
                                  else f"pass e.g. {name}=0.8")
        return horizon, windows

    def _lgb_params(self) -> dict[str, Any]:
        return {"objective": "binary", "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_child_samples,
                "feature_fraction": self.feature_fraction, "seed": self.seed,
                "num_threads": self.num_threads, "deterministic": True,
                "force_col_wise": True, "verbosity": -1}


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name}={value!r} is not a positive integer",
                          f"pass a whole number >= 1 for {name}")


def _selection_score(m: dict) -> float:
    return float(np.nanmean([m["macro_auc"], m.get(f"precision@{SELECT_K}", m["micro_auc"])]))


def _key(j: int | None) -> str:
    return "pooled" if j is None else str(j)


def _unkey(k: str) -> int | None:
    return None if k == "pooled" else int(k)


def _split(tables: list[PairTable]) -> tuple[list[PairTable], list[PairTable], str]:
    """(train, valid, how): the latest window validates; with one window, 20% of customers."""
    if len(tables) > 1:
        return tables[1:], tables[:1], f"latest window ({tables[0].cutoff}) validates"
    t = tables[0]
    bucket = np.array([zlib.crc32(str(c).encode()) % 5 for c in t.customers])
    valid = bucket == 0
    if valid.all() or not valid.any():
        raise InterestError(f"{len(t.customers)} customers are too few to hold 20% out for "
                            "validation with one window", "use n_windows=2 or more")
    return [_subset(t, ~valid)], [_subset(t, valid)], "customer hash (crc32 % 5 == 0)"


def _subset(t: PairTable, rows: np.ndarray) -> PairTable:
    return PairTable(t.cutoff, t.customers[rows], {k: v[rows] for k, v in t.features.items()},
                     None if t.labels is None else t.labels[rows])
