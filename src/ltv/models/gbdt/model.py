"""`GBDTModel`: LightGBM on the point-in-time feature table, one row per customer and window.

How it learns (details in the modules named):
- inputs       numeric features, attr_* categoricals (unseen levels -> missing), the cutoff's
               day of year (point-in-time safe seasonality); no raw sequences;
- boosting     number of trees chosen by early stopping on the latest window (trained on the
               windows labeled by its origin), then a refit on all windows with that number
               (one window: a customer-hash split);
- objectives   "tweedie" (one regressor on spend clipped at 0) or "hurdle" (P(spend > 0) x
               E[spend | spend > 0], gamma); p_active from a classifier on label_active;
- intervals    split conformal on the validation window, or two quantile regressors;
- warm start   `fit(data, init_model=champion)` continues boosting from a fitted model's
               boosters on the new windows (its input spec and label unit are kept, so its
               trees still mean the same); `warm_start_problem` says when that is impossible.

Money is in the currency of the transactions, over the training horizon (`horizon_days_`).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from ltv.errors import ConfigError
from ltv.models.gbdt import intervals as iv
from ltv.models.gbdt.boosting import fit_component
from ltv.models.gbdt.inputs import InputSpec
from ltv.models.gbdt.objectives import OBJECTIVES, combine, components, to_money
from ltv.models.gbdt.single_row import SingleRowPredictor
from ltv.models.labels import (balance_factor, check_windows, clipped_spend, holdout_split,
                               label_scale)
from ltv.models.persistence import read_model_dir, write_model_dir
from ltv.models.protocol import LTVModel, TrainingData
from ltv.models.warm_start import column_change, family_mismatch

class GBDTModel(LTVModel):
    """Gradient-boosted trees (LightGBM) predicting net spend over the horizon.

    Learned attributes:
    - `boosters_`: name -> lightgbm.Booster, refit on all windows;
    - `feature_names_`: the feature-table columns predict reads (the boosters see the same,
      with `cutoff` turned into `calendar_day_of_year`: `inputs_.feature_names`);
    - `categories_`: attr_* column -> levels seen at fit;
    - `best_iteration_`: name -> trees chosen on the validation rows;
    - `conformal_q_`, `conformal_scale_`: see `intervals` (None with quantile intervals);
    - `balance_factor_`, `label_scale_`: see `objectives`;
    - `feature_importance_`: share of total gain, a Series summing to 1, over the boosters
      that make `ltv`, indexed by `inputs_.feature_names`, largest first;
    - `validation_`: out-of-sample diagnostics of the stage-1 models on the validation rows
      (split rule, rows, mean prediction and label, interval coverage);
    - `horizon_days_`, `inputs_` (the InputSpec);
    - `warm_start_`: None for a fresh fit, else {"trees_before": name -> trees of the model it
      continued from}.
    """

    family = "gbdt"

    def __init__(self, objective: str = "tweedie", tweedie_variance_power: float = 1.5,
                 n_estimators: int = 500, learning_rate: float = 0.03, num_leaves: int = 31,
                 min_child_samples: int = 20, feature_fraction: float = 0.9,
                 bagging_fraction: float = 0.8, bagging_freq: int = 1,
                 early_stopping_rounds: int = 50, interval: str = "conformal",
                 interval_level: float = 0.8, calendar_features: bool = True,
                 alias: str | None = None, seed: int = 0, num_threads: int = 1):
        self.objective = objective
        self.tweedie_variance_power = tweedie_variance_power
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.bagging_freq = bagging_freq
        self.early_stopping_rounds = early_stopping_rounds
        self.interval = interval
        self.interval_level = interval_level
        self.calendar_features = calendar_features
        self.alias = alias
        self.seed = seed
        # 1 thread by default: on the 2-core target box, 2 threads were 2.6x slower (16 s vs
        # 41 s for one fit on 22k rows x 117 columns, idle machine), from OpenMP contention.
        self.num_threads = num_threads

    # ---- fit ------------------------------------------------------------------------------
    def fit(self, data: TrainingData, init_model: "GBDTModel | None" = None) -> "GBDTModel":
        """Fit on `data`; with `init_model` (a fitted GBDTModel), continue boosting from its
        boosters instead of starting from nothing: up to `n_estimators` trees are added,
        as many as early stopping on the latest window keeps (at least one)."""
        self._check_params()
        frame = check_windows(data.windows)
        if init_model is not None:
            problem = self.warm_start_problem(init_model, data)
            if problem:
                raise ConfigError(f"cannot warm-start from the given GBDT model: {problem}",
                                  "fit without init_model (a fresh fit)")
            # The old trees read this exact matrix and predict spend in this unit.
            inputs, scale = init_model.inputs_, init_model.label_scale_
        else:
            inputs, scale = InputSpec.learn(frame, self.calendar_features), label_scale(frame)
        X = inputs.matrix(frame)
        split = holdout_split(frame, data.horizon_days)
        unit_free = frame.assign(label_spend=frame["label_spend"] / scale)
        fitted = {}
        for comp in components(self.objective, tweedie_variance_power=self.tweedie_variance_power,
                               interval=self.interval, interval_level=self.interval_level):
            fitted[comp.name] = fit_component(
                comp, X, unit_free, split, base_params=self._lgb_params(),
                feature_names=inputs.feature_names, categorical=inputs.categorical,
                n_estimators=self.n_estimators, early_stopping_rounds=self.early_stopping_rounds,
                init_model=None if init_model is None else init_model.boosters_[comp.name])
        learned = self._calibrate(frame, split, fitted, scale)
        # Learned state is assigned only now, so a failed fit leaves an earlier fit intact.
        self.inputs_ = inputs
        self.feature_names_ = inputs.required_columns
        self.categories_ = dict(inputs.categories)
        self.boosters_ = {k: f.booster for k, f in fitted.items()}
        self.best_iteration_ = {k: f.best_iteration for k, f in fitted.items()}
        self.label_scale_ = scale
        self.horizon_days_ = int(data.horizon_days)
        for name, value in learned.items():
            setattr(self, name, value)
        self.feature_importance_ = self._importance()
        self.warm_start_ = None if init_model is None else {"trees_before": {
            k: int(b.current_iteration()) for k, b in init_model.boosters_.items()}}
        return self

    def warm_start_problem(self, champion: Any, data: TrainingData) -> str | None:
        """Why this model cannot continue boosting from `champion` on `data`, or None.

        Continuing needs the same boosters (objective, interval), the same design matrix
        (calendar feature, feature columns: the top categories of a new cutoff can differ)
        and a fitted champion. Tree shape parameters may differ.
        """
        mismatch = family_mismatch(champion, self.family)
        if mismatch:
            return mismatch
        for name in ("objective", "tweedie_variance_power", "interval", "calendar_features"):
            if getattr(self, name) != getattr(champion, name):
                return (f"{name} differs (champion {getattr(champion, name)!r}, "
                        f"challenger {getattr(self, name)!r})")
        if self.interval == "quantile" and self.interval_level != champion.interval_level:
            return "interval_level of the quantile boosters differs"
        new = InputSpec.learn(check_windows(data.windows), self.calendar_features)
        old = champion.inputs_
        return column_change(old.numeric + old.categorical, new.numeric + new.categorical)

    def _calibrate(self, frame: pd.DataFrame, split, fitted: dict, scale: float) -> dict:
        """Balance factors, conformal quantile and validation diagnostics (see `objectives`
        and `intervals`): everything learned from predictions rather than by boosting."""
        stage1_preds = to_money({k: f.stage1_pred for k, f in fitted.items()}, scale)
        stage1, _ = combine(self.objective, stage1_preds)
        refit, _ = combine(self.objective,
                           to_money({k: f.refit_pred for k, f in fitted.items()}, scale))
        target = clipped_spend(frame)
        # The stage-1 models get their own factor, from the rows they were trained on.
        valid_ltv = stage1[split.valid] * balance_factor(target[split.train],
                                                         stage1[split.train])
        y_valid = frame.loc[split.valid, "label_spend"].to_numpy(dtype=float)
        q = q_scale = None
        if self.interval == "conformal":
            q_scale = iv.conformal_scale(valid_ltv)
            q = iv.conformal_quantile(iv.conformal_scores(y_valid, valid_ltv, q_scale),
                                      self.interval_level)
        lo, hi = self._bounds(valid_ltv, {k: v[split.valid] for k, v in stage1_preds.items()},
                              q, q_scale)
        lo, hi = np.minimum(lo, valid_ltv), np.maximum(hi, valid_ltv)
        return {
            "balance_factor_": balance_factor(target, refit),
            "conformal_q_": q, "conformal_scale_": q_scale,
            "validation_": {
                "split": split.how, "rows": int(split.valid.sum()),
                "train_rows": int(split.train.sum()),
                "out_of_sample": all(f.out_of_sample for f in fitted.values()),
                "mean_pred": float(valid_ltv.mean()), "mean_label": float(y_valid.mean()),
                "coverage": float(np.mean((y_valid >= lo) & (y_valid <= hi))),
            },
        }

    def _lgb_params(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_child_samples,
                "feature_fraction": self.feature_fraction,
                "bagging_fraction": self.bagging_fraction, "bagging_freq": self.bagging_freq,
                "seed": self.seed, "num_threads": self.num_threads, "deterministic": True,
                "force_col_wise": True, "verbosity": -1}

    def _importance(self) -> pd.Series:
        names = ["value"] if self.objective == "tweedie" else ["positive", "amount"]
        columns = self.inputs_.feature_names
        total = pd.Series(0.0, index=columns)
        for name in names:
            gain = self.boosters_[name].feature_importance(importance_type="gain")
            if gain.sum() > 0:
                total += pd.Series(gain / gain.sum(), index=columns)
        total = total / max(total.sum(), 1e-300)
        return total.sort_values(ascending=False, kind="stable").rename("gain_share")

    # ---- predict --------------------------------------------------------------------------
    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        self._check_fitted()
        self._check_features(features, self.inputs_.required_columns)
        if len(features) == 0:
            empty = np.empty(0)
            return self._frame(features, empty, empty, empty, empty)
        ltv, lo, hi, p_active = self._predict_matrix(self.inputs_.matrix(features))
        return self._frame(features, ltv, lo, hi, p_active)

    def predict_columns(self, columns: dict[str, Sequence]) -> dict[str, np.ndarray]:
        """`predict` of a feature table given as {column: values} (at least customer_id and
        the model's columns), as {prediction column: array}: the server's path, which skips
        pandas (~2 ms per call for one row). Same numbers as `predict` (tested)."""
        self._check_fitted()
        self._check_features(columns, self.inputs_.required_columns)
        ids = np.asarray(columns["customer_id"], dtype=object).astype(str)
        if len(ids) == 0:
            empty = np.empty(0)
            return self._arrays(ids, empty, empty, empty, empty)
        return self._arrays(ids, *self._predict_matrix(self.inputs_.matrix_from_columns(columns)))

    def _predict_matrix(self, X: np.ndarray):
        if len(X) == 1:  # one customer (the server's common case): the fast C API
            raw = {name: np.array([fast.predict(X[0])])
                   for name, fast in self._single_row().items()}
        else:
            threads = prediction_threads(len(X), self.num_threads)
            raw = {name: b.predict(X, num_threads=threads) for name, b in self.boosters_.items()}
        preds = to_money(raw, self.label_scale_)
        ltv, p_active = combine(self.objective, preds)
        ltv = ltv * self.balance_factor_
        lo, hi = self._bounds(ltv, preds, self.conformal_q_, self.conformal_scale_)
        return ltv, lo, hi, p_active

    def _single_row(self) -> dict[str, SingleRowPredictor]:
        # Built on first use and kept out of the saved state (not a learned `_` attribute).
        fast = self.__dict__.get("_single_row_predictors")
        if fast is None or fast[0] is not self.boosters_:
            fast = (self.boosters_, {name: SingleRowPredictor(b)
                                     for name, b in self.boosters_.items()})
            self.__dict__["_single_row_predictors"] = fast
        return fast[1]

    def _bounds(self, ltv: np.ndarray, preds: dict[str, np.ndarray], q: float | None,
                q_scale: float | None) -> tuple[np.ndarray, np.ndarray]:
        if self.interval == "quantile":
            return iv.quantile_bounds(preds["q_lo"], preds["q_hi"])
        return iv.conformal_bounds(ltv, q, q_scale)

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        self._check_fitted()
        learned = {
            "inputs": self.inputs_.to_dict(), "boosters": list(self.boosters_),
            "best_iteration": self.best_iteration_, "conformal_q": self.conformal_q_,
            "conformal_scale": self.conformal_scale_, "balance_factor": self.balance_factor_,
            "label_scale": self.label_scale_,
            "horizon_days": self.horizon_days_,
            "validation": self.validation_,
            "feature_importance": [[k, float(v)] for k, v in self.feature_importance_.items()],
            "warm_start": getattr(self, "warm_start_", None),
        }
        meta = {"family": self.family, "class": type(self).__name__,
                "params": self.get_params(), "learned": learned}

        def write(folder: Path) -> None:
            for name, booster in self.boosters_.items():
                booster.save_model(str(folder / f"{name}.txt"))

        write_model_dir(path, meta, write)

    @classmethod
    def load(cls, path: str | Path) -> "GBDTModel":
        manifest = read_model_dir(path, family=cls.family)
        learned = manifest["learned"]
        model = cls(**manifest["params"])
        model.inputs_ = InputSpec.from_dict(learned["inputs"])
        model.feature_names_ = model.inputs_.required_columns
        model.categories_ = dict(model.inputs_.categories)
        model.boosters_ = {name: lgb.Booster(model_file=str(Path(path) / f"{name}.txt"))
                           for name in learned["boosters"]}
        model.best_iteration_ = {k: int(v) for k, v in learned["best_iteration"].items()}
        model.conformal_q_ = learned["conformal_q"]
        model.conformal_scale_ = learned["conformal_scale"]
        model.balance_factor_ = learned["balance_factor"]
        model.label_scale_ = learned["label_scale"]
        model.horizon_days_ = learned["horizon_days"]
        model.validation_ = learned["validation"]
        pairs = learned["feature_importance"]
        model.feature_importance_ = pd.Series([v for _, v in pairs], index=[k for k, _ in pairs],
                                              name="gain_share", dtype=float)
        model.warm_start_ = learned.get("warm_start")  # absent in models saved before it
        return model

    # ---- checks ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        _one_of("objective", self.objective, OBJECTIVES)
        _one_of("interval", self.interval, iv.INTERVALS)
        if not 1.0 < self.tweedie_variance_power < 2.0:
            raise ConfigError(f"tweedie_variance_power={self.tweedie_variance_power!r} is not "
                              "in (1, 2)", "use e.g. 1.5 (1: Poisson-like, 2: gamma-like)")
        if not 0.0 < self.interval_level < 1.0:
            raise ConfigError(f"interval_level={self.interval_level!r} is not in (0, 1)",
                              "use e.g. 0.8 for an 80% interval")
        for name in ("n_estimators", "num_leaves", "min_child_samples",
                     "early_stopping_rounds", "num_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}={value!r} is not a positive integer",
                                  f"pass e.g. {name}={self._default(name)}")
        for name in ("learning_rate", "feature_fraction", "bagging_fraction"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 < value <= 1.0):
                raise ConfigError(f"{name}={value!r} is not in (0, 1]",
                                  f"pass e.g. {name}={self._default(name)}")

    @classmethod
    def _default(cls, name: str):
        return inspect.signature(cls.__init__).parameters[name].default


# Below this many rows a prediction runs on `num_threads` (1 by default): starting an OpenMP
# team costs more than it saves there (one row: 0.24 ms on 2 threads, 0.05 ms on one, on this
# 2-core box), and the server scores small batches on its event loop. A batch job of this size
# or more uses every core: the rows are independent, so the numbers are the same.
PARALLEL_PREDICT_ROWS = 20_000


def prediction_threads(rows: int, num_threads: int) -> int:
    if rows < PARALLEL_PREDICT_ROWS:
        return num_threads
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(num_threads, usable or 1)


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is unknown",
                          f"use one of: {', '.join(repr(a) for a in allowed)}")
