"""LightGBM for the interest model: one pooled classifier, or one classifier per category.

- pooled: one binary classifier over all (customer, category) rows, the category given as a
  LightGBM categorical (`cat_index`) plus its current popularity (`cat_prior`). Rare
  categories borrow strength from the common ones ("bought it recently and often" means
  the same in every department).
- per_label: one binary classifier per category over customers. Each fits its own
  category's shape, but a rare category has few positives to learn from. A category with
  one class in the training rows gets a constant (the smoothed rate (k + 1) / (n + 2)).

Both are trained the way `ltv.models.gbdt.boosting` trains: stage 1 on the earlier rows
with early stopping (binary log loss) on the validation rows, which picks the number of
trees and gives out-of-sample validation scores; then a refit on all rows with that number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
from scipy.special import expit

from ltv.profiles.interest_data import PairTable

# The baselines as strategies too, so that where there is too little to learn from
# (a tiny log) the validation window can pick one: baseline -> (its column, a transform that
# makes a 1-D logistic calibration reasonable). The calibration is strictly increasing, so
# the strategy ranks exactly as the baseline does and only adds probabilities.
CALIBRATED = {"history_share": ("base_share", lambda x: np.log(x) - np.log1p(-x)),
              "recent_count": ("recent_count", np.log1p)}
STRATEGIES = ("pooled", "per_label", *CALIBRATED)


def stack(tables: list[PairTable], names: list[str],
          label: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(X, y) over the tables. label=None: every (customer, category) row, customer-major
    (row i * L + j is customer i, category j); label=j: one row per customer, category j."""
    xs, ys = [], []
    for t in tables:
        if label is None:
            xs.append(np.column_stack([t.features[n].ravel() for n in names]))
            ys.append(None if t.labels is None else t.labels.ravel())
        else:
            xs.append(np.column_stack([t.features[n][:, label] for n in names]))
            ys.append(None if t.labels is None else t.labels[:, label])
    X = np.concatenate(xs).astype(np.float32) if xs else np.empty((0, len(names)), np.float32)
    y = None if any(v is None for v in ys) else np.concatenate(ys)
    return X, y


@dataclass
class Fitted:
    """A fitted strategy: boosters by label (one key None for pooled) or constants."""

    strategy: str
    boosters: dict[int | None, lgb.Booster] = field(default_factory=dict)
    constants: dict[int, float] = field(default_factory=dict)
    best_iteration: dict[int | None, int] = field(default_factory=dict)
    calibration: tuple[float, float] | None = None  # (intercept, slope) of a baseline

    def predict(self, table: PairTable, names: list[str], num_threads: int,
                at_best: bool = False) -> np.ndarray:
        """(n_customers, n_categories) probabilities; at_best: stage-1 boosters, cut to the
        trees early stopping chose."""
        n, n_labels = table.features[names[0]].shape
        if n == 0:
            return np.zeros((0, n_labels))
        if self.strategy in CALIBRATED:
            a, b = self.calibration
            return _sigmoid(a + b * _baseline_x(self.strategy, table))
        if self.strategy == "pooled":
            X, _ = stack([table], names)
            return self._booster(None, X, num_threads, at_best).reshape(n, n_labels)
        out = np.empty((n, n_labels))
        for j in range(n_labels):
            if j in self.constants:
                out[:, j] = self.constants[j]
            else:
                X, _ = stack([table], names, label=j)
                out[:, j] = self._booster(j, X, num_threads, at_best)
        return out

    def _booster(self, j: int | None, X: np.ndarray, num_threads: int,
                 at_best: bool) -> np.ndarray:
        best = self.best_iteration[j] if at_best else None
        return self.boosters[j].predict(X, num_iteration=best, num_threads=num_threads)


def _train(params: dict[str, Any], X, y, rounds: int, categorical: list[str],
           names: list[str], valid=None, early_stopping: int = 0) -> lgb.Booster:
    data = lgb.Dataset(X, y, feature_name=names, categorical_feature=categorical,
                       free_raw_data=False)
    if valid is None:
        return lgb.train(params, data, num_boost_round=rounds)
    vdata = lgb.Dataset(valid[0], valid[1], reference=data, feature_name=names,
                        categorical_feature=categorical)
    return lgb.train(params, data, num_boost_round=rounds, valid_sets=[vdata],
                     callbacks=[lgb.early_stopping(early_stopping, verbose=False)])


def fit_stage1(strategy: str, train: list[PairTable], valid: list[PairTable],
               names: list[str], params: dict[str, Any], n_estimators: int,
               early_stopping: int) -> tuple[Fitted, np.ndarray]:
    """Fit on `train` with early stopping on `valid`; return the fit and its validation
    predictions ((n_valid_customers, n_categories), stacked over the valid tables)."""
    if strategy in CALIBRATED:
        fitted = _calibrate(strategy, train)
        return fitted, np.concatenate([fitted.predict(t, names, 1) for t in valid])
    fitted = Fitted(strategy)
    categorical = ["cat_index"] if strategy == "pooled" else []
    labels = [None] if strategy == "pooled" else range(train[0].labels.shape[1])
    for j in labels:
        X, y = stack(train, names, label=j)
        Xv, yv = stack(valid, names, label=j)
        if j is not None and y.min() == y.max():
            fitted.constants[j] = (y.sum() + 1.0) / (y.size + 2.0)
            continue
        booster = _train(params, X, y, n_estimators, categorical, names, (Xv, yv),
                         early_stopping)
        fitted.best_iteration[j] = max(1, int(booster.best_iteration or n_estimators))
        fitted.boosters[j] = booster
    preds = np.concatenate([fitted.predict(t, names, params["num_threads"], at_best=True)
                            for t in valid])
    return fitted, preds


def refit(stage1: Fitted, tables: list[PairTable], names: list[str],
          params: dict[str, Any]) -> Fitted:
    """Train again on every table with the trees stage 1 chose (constants: recomputed)."""
    if stage1.strategy in CALIBRATED:
        return _calibrate(stage1.strategy, tables)
    out = Fitted(stage1.strategy)
    categorical = ["cat_index"] if stage1.strategy == "pooled" else []
    labels = [None] if stage1.strategy == "pooled" else range(tables[0].labels.shape[1])
    for j in labels:
        X, y = stack(tables, names, label=j)
        if j is not None and (j in stage1.constants or y.min() == y.max()):
            out.constants[j] = (y.sum() + 1.0) / (y.size + 2.0)
            continue
        out.best_iteration[j] = stage1.best_iteration[j]
        out.boosters[j] = _train(params, X, y, stage1.best_iteration[j], categorical, names)
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return expit(z)  # 1 / (1 + exp(-z)): no overflow, and no ties from rounding near 0


def _baseline_x(strategy: str, table: PairTable) -> np.ndarray:
    column, transform = CALIBRATED[strategy]
    x = table.features[column]
    if column == "base_share":  # in (0, 1) by construction (the prior is smoothed)
        x = np.clip(x, 1e-9, 1 - 1e-9)
    return transform(x)


def _calibrate(strategy: str, tables: list[PairTable]) -> Fitted:
    """Logistic regression of the labels on the transformed baseline score (Newton, with a
    small ridge so that separable data cannot send it to infinity). A slope that comes out
    <= 0 (the baseline ranks backwards here) is set to a tiny positive one: the strategy
    promises the baseline's ranking."""
    x = np.concatenate([_baseline_x(strategy, t).ravel() for t in tables])
    y = np.concatenate([t.labels.ravel() for t in tables])
    X = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    ridge = np.diag([0.0, 1e-6 * len(x)])
    for _ in range(50):
        p = _sigmoid(X @ beta)
        grad = X.T @ (y - p) - ridge @ beta
        hess = (X * (p * (1 - p))[:, None]).T @ X + ridge + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    if beta[1] <= 0:
        beta[1] = 1e-6
        beta[0] = float(np.log((y.sum() + 1) / (len(y) - y.sum() + 1)))
    return Fitted(strategy, calibration=(float(beta[0]), float(beta[1])))
