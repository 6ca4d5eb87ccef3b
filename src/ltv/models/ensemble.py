"""`auto`: a blend of model families with weights learned on earlier windows.

fit:
1. Split the training data in time (`validation_split`): every candidate family is fitted on
   the inner windows and predicts the validation window (origin t - H), which no inner model
   has seen.
2. Greedy forward selection on that window: start from the best single family, add a family
   only if the blend's validation score improves by more than `min_gain`. Blend weights are
   non-negative least squares of the label on the members' predictions, so the blend is
   calibrated in scale as well as in rank.
3. Refit the kept families on all windows (and the snapshot at t) and keep the weights.

The score is gini + spearman + top-10% capture - decile MAPE on the validation window: the
four ranking/calibration numbers the LTV literature reports, on comparable 0..1 scales.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from ltv.evaluation import metrics
from ltv.models.persistence import read_model_dir, write_model_dir
from ltv.models.protocol import LTVModel, TrainingData
from ltv.models.validation import validation_split

DEFAULT_CANDIDATES: dict[str, dict] = {
    "btyd": {"family": "btyd", "transaction_model": "bgnbd"},
    "paretonbd": {"family": "btyd", "transaction_model": "paretonbd"},
    "gbdt": {"family": "gbdt", "objective": "tweedie"},
    "hurdle": {"family": "gbdt", "objective": "hurdle"},
}


def selection_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Higher is better; see the module docstring."""
    mape = metrics.decile_mape(y_true, y_pred)
    return (metrics.normalized_gini(y_true, y_pred) + metrics.spearman(y_true, y_pred)
            + metrics.top_decile_capture(y_true, y_pred) - (0.0 if np.isnan(mape) else mape))


def blend_weights(predictions: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """Non-negative least squares weights (columns of `predictions` are members)."""
    weights, _ = nnls(predictions, y_true)
    if not np.any(weights > 0):  # degenerate (e.g. all-zero labels): fall back to the mean
        weights = np.full(predictions.shape[1], 1.0 / predictions.shape[1])
    return weights


class EnsembleModel(LTVModel):
    family = "ensemble"

    def __init__(self, candidates: tuple[str, ...] = ("btyd", "paretonbd", "gbdt", "hurdle"),
                 min_gain: float = 0.005, alias: str | None = None, seed: int = 0):
        self.candidates = tuple(candidates)
        self.min_gain = min_gain
        self.alias = alias
        self.seed = seed

    @property
    def name(self) -> str:
        return self.alias or "auto"

    # ---- fit --------------------------------------------------------------------------------
    def fit(self, data: TrainingData) -> "EnsembleModel":
        from ltv.models.registry import make_model

        inner, validation = validation_split(data)
        y = validation["label_spend"].to_numpy(dtype=float)
        preds, scores = {}, {}
        for key in self.candidates:
            model = make_model(**DEFAULT_CANDIDATES[key], alias=key).fit(inner)
            preds[key] = model.predict(validation)["ltv"].to_numpy()
            scores[key] = selection_score(y, preds[key])
        chosen, weights, best = self._select(preds, y, scores)
        members = [make_model(**DEFAULT_CANDIDATES[k], alias=k).fit(data) for k in chosen]
        self.validation_scores_ = scores
        self.validation_score_ = best
        self.weights_ = dict(zip(chosen, map(float, weights)))
        self.members_ = members
        self.feature_names_ = sorted({c for m in members for c in m.feature_names_})
        return self

    def _select(self, preds: dict[str, np.ndarray], y: np.ndarray, scores: dict[str, float]):
        order = sorted(scores, key=scores.get, reverse=True)
        chosen = [order[0]]
        weights = blend_weights(preds[order[0]][:, None], y)
        best = selection_score(y, preds[order[0]] * weights[0])
        for key in order[1:]:
            trial = chosen + [key]
            matrix = np.column_stack([preds[k] for k in trial])
            trial_weights = blend_weights(matrix, y)
            score = selection_score(y, matrix @ trial_weights)
            if score > best + self.min_gain and trial_weights[-1] > 0:
                chosen, weights, best = trial, trial_weights, score
        return chosen, weights, best

    # ---- predict ----------------------------------------------------------------------------
    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        self._check_fitted("members_")
        self._check_features(features, self.feature_names_)
        weights = np.array([self.weights_[m.name] for m in self.members_])
        outputs = [m.predict(features) for m in self.members_]
        stack = {col: np.column_stack([o[col].to_numpy() for o in outputs])
                 for col in ("ltv", "ltv_lo", "ltv_hi", "p_active")}
        share = weights / weights.sum()
        return self._frame(features, stack["ltv"] @ weights, stack["ltv_lo"] @ weights,
                           stack["ltv_hi"] @ weights, stack["p_active"] @ share)

    # ---- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        self._check_fitted("members_")

        def write(tmp: Path) -> None:
            for member in self.members_:
                member.save(tmp / "members" / member.name)

        write_model_dir(path, {
            "family": self.family, "class": type(self).__name__, "params": self.get_params(),
            "weights": self.weights_, "members": [m.name for m in self.members_],
            "validation_scores": self.validation_scores_,
            "validation_score": self.validation_score_, "feature_names": self.feature_names_,
        }, write)

    @classmethod
    def load(cls, path: str | Path) -> "EnsembleModel":
        from ltv.models.registry import load_model

        manifest = read_model_dir(path, family=cls.family)
        model = cls(**manifest["params"])
        model.members_ = [load_model(Path(path) / "members" / name) for name in manifest["members"]]
        model.weights_ = manifest["weights"]
        model.validation_scores_ = manifest["validation_scores"]
        model.validation_score_ = manifest["validation_score"]
        model.feature_names_ = manifest["feature_names"]
        return model
