"""Training one LightGBM booster the way every GBDT component is trained.

Choosing the number of trees, by time. The rows come from several stacked windows (see
`ltv.models.training_data`). The LATEST window (largest `cutoff`) is held out: each booster
is trained on the earlier windows whose labels end by its origin (`labels.holdout_split`: a
gap of one horizon, so no transaction is a label on both sides; every earlier window when
none ends that early) with early stopping on it, which picks the number of
trees on data later than everything it learned from, as prediction will be. Then the
booster is trained again on ALL windows (the latest one is the most relevant to the future)
with exactly that number of trees; it gets no second early stopping, as nothing later is
left to stop on. The stage-1 booster's predictions on the held-out window are kept: they are
genuinely out of sample and calibrate the conformal intervals.

With a single window there is no "later" to hold out: customers are split by a
deterministic hash of their id (crc32 % 5 == 0, about 20% of them, the same on every run and
machine) into validation, and the refit again uses everyone.

Warm start (`init_model`): both stages continue boosting from an earlier booster (LightGBM's
`init_model`, which keeps its trees and adds new ones on top of its raw scores). Early
stopping then chooses how many trees to ADD, at least one; `best_iteration` counts all trees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.models.labels import Split

@dataclass(frozen=True)
class Component:
    """One booster: its LightGBM objective, its target and the rows it learns from.

    `target(frame)` gives one label per row; `rows(frame)` (None: all rows) selects the rows
    it trains and validates on (the hurdle's amount model only sees spenders).
    """

    name: str
    params: dict[str, Any]
    target: Callable[[pd.DataFrame], np.ndarray]
    rows: Callable[[pd.DataFrame], np.ndarray] | None = None


@dataclass
class Fitted:
    booster: lgb.Booster  # refit on all rows
    best_iteration: int  # trees chosen on the validation rows
    stage1_pred: np.ndarray  # stage-1 predictions on every row (out of sample on `valid`)
    refit_pred: np.ndarray  # the refit booster's predictions on every row (in sample)
    out_of_sample: bool = True  # False: nothing to hold out, stage1_pred is the refit's


def fit_component(component: Component, X: np.ndarray, frame: pd.DataFrame, split: Split, *,
                  base_params: dict[str, Any], feature_names: list[str],
                  categorical: list[str], n_estimators: int,
                  early_stopping_rounds: int, init_model: lgb.Booster | None = None) -> Fitted:
    """Stage 1 (earlier rows, early stopping on the validation rows), then the refit.

    Predictions are returned for every row of X (not only the component's rows): combining
    components needs each one's prediction for every customer. With `init_model`, both stages
    continue from its trees (at most `n_estimators` new ones); it is not modified.
    """
    # float32 like the features (see inputs): run-to-run last-digit noise must not matter.
    y = np.asarray(component.target(frame), dtype=np.float32).astype(float)
    rows = np.ones(len(frame), bool) if component.rows is None else \
        np.asarray(component.rows(frame), bool)
    params = {**base_params, **component.params}
    train, valid = split.train & rows, split.valid & rows
    if not rows.any():
        raise LTVError(f"the '{component.name}' model has no training row (e.g. no customer "
                       "spent anything in any training window)",
                       "use more customers or more windows, or objective='tweedie'")

    def dataset(mask, reference=None):
        return lgb.Dataset(X[mask], label=y[mask], feature_name=feature_names,
                           categorical_feature=categorical, reference=reference,
                           params={"verbosity": -1}, free_raw_data=True)

    start = init_model.current_iteration() if init_model is not None else 0
    best, stage1_pred = start + n_estimators, None
    if train.any() and valid.any():
        train_set = dataset(train)
        stage1 = lgb.train(params, train_set, num_boost_round=n_estimators,
                           valid_sets=[dataset(valid, train_set)], valid_names=["valid"],
                           init_model=init_model,
                           callbacks=[lgb.early_stopping(early_stopping_rounds,
                                                         first_metric_only=True,
                                                         verbose=False)])
        # best_iteration counts the init model's trees too (LightGBM numbers them on).
        best = max(start + 1, int(stage1.best_iteration or start + n_estimators))
        stage1_pred = stage1.predict(X, num_iteration=best)
    booster = lgb.train(params, dataset(rows), num_boost_round=best - start,
                        init_model=init_model)
    refit_pred = booster.predict(X)
    if stage1_pred is None:
        # No row of this component on one side of the split (e.g. no spender in the
        # validation window): all trees are kept and the in-sample fit stands in.
        return Fitted(booster, best, refit_pred, refit_pred, out_of_sample=False)
    return Fitted(booster, best, np.asarray(stage1_pred, float), refit_pred)
