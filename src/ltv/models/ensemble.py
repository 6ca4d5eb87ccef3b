"""`auto`: a blend of model families with weights learned on earlier windows.

fit:
1. Validation origins in time (`validation_splits`): the latest labeled windows before the
   cutoff. For each origin, every candidate is fitted on the windows that end by it and
   predicts its window, which no inner model has seen.
2. Forward selection and weights on those windows (`blend`): the best single candidate
   first; another is added only if the blend's mean score over the origins improves by
   more than `min_gain`, and in at least 90% of paired bootstrap resamples of the
   validation customers (a gain that is noise does not buy a member). Weights are a convex
   mix, chosen on each member's ranking and spread (its level is set by its own
   calibration; see `blend` for why).
3. Refit the kept candidates on all windows (and the snapshot at t) and keep the weights.

Choices are made on windows before the cutoff only, so `auto` is as honest as any member,
and with the best single member always available it is never worse than that member on the
validation windows.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ltv.models.blend import Window, forward_select, selection_score
from ltv.models.persistence import read_model_dir, write_model_dir
from ltv.models.protocol import LTVModel, TrainingData
from ltv.models.validation import validation_splits

DEFAULT_CANDIDATES: dict[str, dict] = {
    "btyd": {"family": "btyd", "transaction_model": "bgnbd"},
    "paretonbd": {"family": "btyd", "transaction_model": "paretonbd"},
    "gbdt": {"family": "gbdt", "objective": "tweedie"},
    "hurdle": {"family": "gbdt", "objective": "hurdle"},
    "deep": {"family": "deep"},
}


def available(candidates: tuple[str, ...]) -> list[str]:
    """The candidates whose libraries are installed; the deep one needs TensorFlow."""
    if "deep" in candidates and importlib.util.find_spec("keras") is None:
        warnings.warn("TensorFlow is not installed: auto blends without the deep family "
                      "(pip install 'ltv[deep]' to include it)", stacklevel=3)
        candidates = tuple(c for c in candidates if c != "deep")
        if not candidates:
            from ltv.models.deep.model import require_tensorflow

            require_tensorflow()
    return list(candidates)


class EnsembleModel(LTVModel):
    family = "ensemble"

    def __init__(self, candidates: tuple[str, ...] = tuple(DEFAULT_CANDIDATES),
                 min_gain: float = 0.005, validation_origins: int = 3, max_members: int = 3,
                 alias: str | None = None, seed: int = 0):
        self.candidates = tuple(candidates)
        self.min_gain = min_gain
        self.validation_origins = validation_origins
        self.max_members = max_members
        self.alias = alias
        self.seed = seed

    @property
    def name(self) -> str:
        return self.alias or "auto"

    # ---- fit --------------------------------------------------------------------------------
    def fit(self, data: TrainingData) -> "EnsembleModel":
        from ltv.models.registry import make_model

        splits = validation_splits(data, self.validation_origins)
        names = available(self.candidates)
        windows, per_origin = [], {k: [] for k in names}
        for inner, validation in splits:
            y = validation["label_spend"].to_numpy(dtype=float)
            columns = []
            for key in names:
                model = make_model(**DEFAULT_CANDIDATES[key], alias=key).fit(inner)
                columns.append(model.predict(validation)["ltv"].to_numpy())
            windows.append(Window(np.column_stack(columns), y))
        for window in windows:
            for i, key in enumerate(names):
                per_origin[key].append(selection_score(window.y, window.predictions[:, i]))
        blend = forward_select(windows, names, self.min_gain, self.max_members)
        members = [make_model(**DEFAULT_CANDIDATES[k], alias=k).fit(data) for k in blend.members]
        self.validation_origins_ = [str(inner.cutoff.date()) for inner, _ in splits]
        self.validation_scores_ = {k: float(np.mean(v)) for k, v in per_origin.items()}
        self.validation_score_ = blend.score
        self.weights_ = dict(zip(blend.members, map(float, blend.weights)))
        self.members_ = members
        self.feature_names_ = sorted({c for m in members for c in m.feature_names_})
        return self

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
            "weights": self.weights_,
            "members": [m.name for m in self.members_],
            "validation_origins": self.validation_origins_,
            "validation_scores": self.validation_scores_,
            "validation_score": self.validation_score_, "feature_names": self.feature_names_,
        }, write)

    @classmethod
    def load(cls, path: str | Path, load_member=None) -> "EnsembleModel":
        """`load_member(member name, member folder)` loads each member (default: the family's
        own load; the TF-free runtime passes one that runs deep members in LiteRT)."""
        if load_member is None:
            from ltv.models.registry import load_model

            def load_member(name: str, folder: Path) -> LTVModel:
                return load_model(folder)

        manifest = read_model_dir(path, family=cls.family)
        model = cls(**manifest["params"])
        model.members_ = [load_member(name, Path(path) / "members" / name)
                          for name in manifest["members"]]
        model.weights_ = manifest["weights"]
        model.validation_origins_ = manifest["validation_origins"]
        model.validation_scores_ = manifest["validation_scores"]
        model.validation_score_ = manifest["validation_score"]
        model.feature_names_ = manifest["feature_names"]
        return model
