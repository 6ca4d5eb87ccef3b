"""Churn risk: P(no purchase in [cutoff, cutoff + H)), calibrated without peeking.

The classifier. LightGBM (binary log loss) on the stacked training windows of
`ltv.models.training_data`, with the GBDT family's design matrix (`gbdt.inputs.InputSpec`:
numeric features, attr_* categoricals, the cutoff's day of year) and its time-ordered
training (`gbdt.boosting.fit_component`): stage 1 trains on the windows whose labels end by
the latest window's origin o_0 = cutoff - H and stops early on that latest window W_0; the
final booster is refit on all windows with the chosen number of trees.

The calibration (`calibration`: isotonic by default, or platt, or none) is a monotone map
fitted on out-of-sample scores and outcomes from windows whose labels all end by the cutoff,
so it never sees the horizon that is predicted or evaluated. Which scores
(`calibration_rows`):
- "crossfit" (default): every training row, scored by a booster trained on the other
  customers' rows (4 folds by customer, the final number of trees), so the map corrects the
  booster's own distortions averaged over all windows' seasons;
- "latest": W_0 only, scored by the stage-1 booster (the design first tried).
Measured out of time (benchmarks/profiles.py): on Online Retail (cutoff 2011-09-10) the
latest window's churn rate (0.53) is far from the next horizon's (0.43, the Christmas
quarter), and a map fitted on W_0 carries that level over: ECE 0.149 and Brier 0.2245
against 0.061 and 0.2050 for the raw scores, while the crossfit map stays at 0.062 and
0.2060. On Complete Journey the crossfit isotonic map is the best of all (ECE 0.009, Brier
0.0455; raw 0.012, 0.0462; latest-window isotonic 0.027, 0.0466).

Outputs are probabilities of churn (1 - P(active)), where "active" is `label_active` (any
purchase line in the horizon). `base_rate_` is the churn rate of W_0 (the window ending at
the cutoff): the constant forecast a model has to beat.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ltv.errors import ConfigError, NotFittedError, SchemaError
from ltv.evaluation.metrics import auc, brier, calibration_table
from ltv.models.gbdt.boosting import Component, fit_component
from ltv.models.gbdt.inputs import InputSpec
from ltv.models.labels import check_windows, holdout_split
from ltv.models.persistence import read_model_dir, write_model_dir
from ltv.models.protocol import TrainingData
from ltv.models.training_data import fill_optional_columns
from ltv.profiles.calibration import METHODS, Calibrator, fit_calibrator

FAMILY = "churn"
CALIBRATION_ROWS = ("crossfit", "latest")
CROSSFIT_FOLDS = 4
_ACTIVE = Component("active", {"objective": "binary", "metric": "binary_logloss"},
                    lambda f: f["label_active"].to_numpy(dtype=float) > 0)


class ChurnModel:
    """P(no purchase in the horizon) per customer. Hyperparameters are LightGBM's.

    Learned: `booster_`, `inputs_`, `calibrator_`, `best_iteration_`, `base_rate_`,
    `horizon_days_`, `calibration_` (rows, window origin, whether the calibration scores
    were out of sample, their raw Brier) and, after `fit` only (not saved),
    `calibration_points_`: the (raw churn score, churned) arrays the calibrator was fitted on.
    """

    def __init__(self, calibration: str = "isotonic", calibration_rows: str = "crossfit",
                 n_estimators: int = 500,
                 learning_rate: float = 0.03, num_leaves: int = 31,
                 min_child_samples: int = 20, early_stopping_rounds: int = 50,
                 seed: int = 0, num_threads: int = 1):
        self.calibration = calibration
        self.calibration_rows = calibration_rows
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.num_threads = num_threads

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in (
            "calibration", "calibration_rows", "n_estimators", "learning_rate", "num_leaves",
            "min_child_samples", "early_stopping_rounds", "seed", "num_threads")}

    def fit(self, data: TrainingData) -> "ChurnModel":
        if self.calibration not in METHODS:
            raise ConfigError(f"calibration={self.calibration!r} is unknown",
                              f"use one of: {', '.join(METHODS)}")
        if self.calibration_rows not in CALIBRATION_ROWS:
            raise ConfigError(f"calibration_rows={self.calibration_rows!r} is unknown",
                              f"use one of: {', '.join(CALIBRATION_ROWS)}")
        frame = check_windows(data.windows)
        inputs = InputSpec.learn(frame, calendar=True)
        split = holdout_split(frame, data.horizon_days)
        params = {"learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                  "min_data_in_leaf": self.min_child_samples, "feature_fraction": 0.9,
                  "bagging_fraction": 0.8, "bagging_freq": 1, "seed": self.seed,
                  "num_threads": self.num_threads, "deterministic": True,
                  "force_col_wise": True, "verbosity": -1}
        fitted = fit_component(_ACTIVE, inputs.matrix(frame), frame, split, base_params=params,
                               feature_names=inputs.feature_names,
                               categorical=inputs.categorical, n_estimators=self.n_estimators,
                               early_stopping_rounds=self.early_stopping_rounds)
        churned = 1.0 - (frame["label_active"].to_numpy(dtype=float) > 0)
        if self.calibration_rows == "latest":
            rows = split.valid
            raw_churn = 1.0 - fitted.stage1_pred[rows]
            out_of_sample = fitted.out_of_sample
        else:
            rows = np.ones(len(frame), bool)
            raw_churn = 1.0 - _crossfit(inputs, frame, params, fitted.best_iteration)
            out_of_sample = True
        self.calibrator_ = fit_calibrator(raw_churn, churned[rows], self.calibration)
        self.calibration_points_ = (raw_churn, churned[rows])
        self.booster_ = fitted.booster
        self.inputs_ = inputs
        self.best_iteration_ = int(fitted.best_iteration)
        self.base_rate_ = float(churned[split.valid].mean())
        self.horizon_days_ = int(data.horizon_days)
        cutoffs = pd.to_datetime(frame.loc[rows, "cutoff"])
        self.calibration_ = {
            "rows": int(rows.sum()), "on": self.calibration_rows, "split": split.how,
            "windows": [str(cutoffs.min()), str(cutoffs.max())],
            "out_of_sample": bool(out_of_sample),
            "brier_raw": brier(churned[rows], np.clip(raw_churn, 0, 1)),
        }
        return self

    def with_calibration(self, method: str) -> "ChurnModel":
        """A copy sharing the booster, with a `method` calibrator fitted on the same points
        (what comparing calibration methods needs, without boosting again)."""
        if not hasattr(self, "calibration_points_"):
            raise NotFittedError("with_calibration needs a model fitted in this session",
                                 "call .fit(training_data) first (loaded models keep only "
                                 "their calibrator)")
        other = type(self)(**{**self.get_params(), "calibration": method})
        other.__dict__.update({k: v for k, v in self.__dict__.items() if k.endswith("_")})
        other.calibrator_ = fit_calibrator(*self.calibration_points_, method)
        return other

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """customer_id, churn_risk (calibrated), churn_raw (the booster's 1 - P(active)),
        one row per feature row, in order."""
        raw = self.predict_raw(features)
        return pd.DataFrame({"customer_id": features["customer_id"].astype(str).to_numpy(),
                             "churn_risk": np.clip(self.calibrator_.transform(raw), 0.0, 1.0),
                             "churn_raw": raw})

    def predict_raw(self, features: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        if len(features) == 0:
            return np.empty(0)
        features = fill_optional_columns(features, self.inputs_.required_columns)
        missing = [c for c in self.inputs_.required_columns if c not in features.columns]
        if missing:
            raise SchemaError(f"{len(missing)} feature column(s) the churn model was trained "
                              f"on are missing", "build the features with the same options as "
                              "at training time", table="features", column=missing[0])
        p_active = self.booster_.predict(self.inputs_.matrix(features),
                                         num_threads=self.num_threads)
        return np.clip(1.0 - p_active, 0.0, 1.0)

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        self._check_fitted()
        meta = {"family": FAMILY, "class": type(self).__name__, "params": self.get_params(),
                "learned": {"inputs": self.inputs_.to_dict(),
                            "calibrator": self.calibrator_.to_dict(),
                            "best_iteration": self.best_iteration_,
                            "base_rate": self.base_rate_, "horizon_days": self.horizon_days_,
                            "calibration": self.calibration_}}
        write_model_dir(path, meta, lambda folder: self.booster_.save_model(
            str(folder / "booster.txt")))

    @classmethod
    def load(cls, path: str | Path) -> "ChurnModel":
        manifest = read_model_dir(path, family=FAMILY)
        learned = manifest["learned"]
        model = cls(**manifest["params"])
        model.inputs_ = InputSpec.from_dict(learned["inputs"])
        model.calibrator_ = Calibrator.from_dict(learned["calibrator"])
        model.booster_ = lgb.Booster(model_file=str(Path(path) / "booster.txt"))
        model.best_iteration_ = int(learned["best_iteration"])
        model.base_rate_ = float(learned["base_rate"])
        model.horizon_days_ = int(learned["horizon_days"])
        model.calibration_ = learned["calibration"]
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("ChurnModel is not fitted yet",
                                 "call .fit(training_data) first, or ChurnModel.load(path)")


def _crossfit(inputs: InputSpec, frame: pd.DataFrame, params: dict, rounds: int) -> np.ndarray:
    """Out-of-fold P(active) for every training row: customers are split into
    CROSSFIT_FOLDS groups by a hash of their id (all of a customer's windows in one group),
    and each group is scored by a booster trained on the others with the final model's
    number of trees."""
    X = inputs.matrix(frame)
    y = frame["label_active"].to_numpy(dtype=float) > 0
    ids = frame["customer_id"].astype(str)
    fold = ids.map(lambda s: zlib.crc32(s.encode()) % CROSSFIT_FOLDS).to_numpy()
    out = np.empty(len(frame))
    for k in range(CROSSFIT_FOLDS):
        held = fold == k
        if not held.any():
            continue
        train = lgb.Dataset(X[~held], label=y[~held].astype(float),
                            feature_name=inputs.feature_names,
                            categorical_feature=inputs.categorical, params={"verbosity": -1})
        booster = lgb.train({**params, "objective": "binary"}, train, num_boost_round=rounds)
        out[held] = booster.predict(X[held])
    return out


def reliability(churned, churn_risk, bins: int = 10) -> tuple[pd.DataFrame, float]:
    """The reliability curve (equal-width bins of the forecast: mean forecast vs observed
    churn rate, with counts) and its expected calibration error, the count-weighted mean of
    |mean forecast - observed rate| over the bins (0 is perfect)."""
    table = calibration_table(churned, churn_risk, bins)
    ece = float(np.sum(table["n"] * (table["mean_pred"] - table["observed_rate"]).abs())
                / table["n"].sum())
    return table.rename(columns={"observed_rate": "observed"}), ece


def churn_scores(churned, churn_risk) -> dict:
    """Brier, AUC (churn risk against churn) and expected calibration error of a forecast."""
    churned = np.asarray(churned, dtype=float)
    risk = np.asarray(churn_risk, dtype=float)
    return {"n": int(churned.size), "churn_rate": float(churned.mean()),
            "mean_risk": float(risk.mean()), "brier": brier(churned, risk),
            "auc": auc(churned, risk), "ece": reliability(churned, risk)[1]}
