"""Training data for a retrain, and whether the challenger warm-starts from the champion.

Both fits warm-start or neither, so the gate judges the procedure that is deployed: the gate
challenger continues from the champion's stand-in (`reference`), the challenger to deploy
from the champion itself. A warm start needs

- a family that has one (`warm_start_problem`: GBDT, deep) and hyperparameters that shape the
  model equal to the champion's;
- a stand-in that has seen no label of the evaluation window, or the gate challenger would
  inherit those labels through it;
- the feature columns the old model reads. The top categories and event types behind the
  `cat_share_*` and `ev_*` columns are chosen per cutoff, and a few months later the top ten
  categories are often not the same ones (the simulated shop's differ between 2022-09-01 and
  2022-12-01). So a warm start builds its training windows with the categories and event
  types pinned to those its init model was trained with: the population choices
  `build_features` makes at that model's training cutoff (data before it does not change in
  an append-only warehouse; if it did, the column check catches it and the fits are fresh).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from ltv.models.protocol import LTVModel, TrainingData


def training_data(db, at: pd.Timestamp, horizon: int, window_options: dict | None,
                  say: Callable[[str], None],
                  population: dict[str, Any] | None = None) -> TrainingData:
    """`build_training_data` before `at`, with `ltv train`'s windows unless `window_options`
    says otherwise, and the categories / event types of `population` when given."""
    from ltv.models.training_data import build_training_data, training_windows

    say(f"building training windows before {at.date()}"
        + (" (feature columns pinned to the init model's)" if population else ""))
    options = dict(window_options or training_windows(horizon))
    pinned = {k: v for k, v in (population or {}).items() if v is not None}
    return build_training_data(db, at, horizon, **options, **pinned)


def population(db, at: pd.Timestamp) -> dict[str, Any]:
    """{"top_categories", "event_types"} that `build_features` chooses at `at`, to pin them in
    later feature tables. A choice it did not make (no categories or no events before `at`)
    stays None, "choose from the data": pinning an empty list would add the category counts."""
    from ltv.features.build import build_features

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = build_features(db, at, sequence_weeks=0)
    chosen = frame.attrs.get("population") or {}
    return {key: None if chosen.get(key) is None else list(chosen[key])
            for key in ("top_categories", "event_types")}


def prepare(db, *, requested: bool | None, make: Callable[[], LTVModel],
            champion: LTVModel | None, champion_version: int | None,
            champion_cutoff: pd.Timestamp | None, champion_population: dict | None,
            reference, origin: pd.Timestamp,
            cutoff: pd.Timestamp, horizon: int, window_options: dict | None,
            say: Callable[[str], None]) -> tuple[bool, str, TrainingData, TrainingData]:
    """(warm start?, why, data before `origin` for the gate, data before `cutoff` to deploy).

    `champion_population`: the categories / event types its manifest records, when it does
    (recomputed at its training cutoff otherwise)."""
    challenger = make()
    reason = None
    if requested is False:
        reason = "off (--no-warm-start): fresh fits"
    elif champion is None:
        reason = "no champion to start from: fresh fits"
    elif not hasattr(challenger, "warm_start_problem"):
        reason = f"the {challenger.family} family has no warm start: fresh fits"
    elif reference.out_of_sample is not True or reference.trained_before is None:
        reason = ("the champion's stand-in may have seen the window's labels, so a challenger "
                  "continuing from it could not be judged fairly: fresh fits")
    if reason is None:
        gate = training_data(db, origin, horizon, window_options, say,
                             population(db, reference.trained_before))
        final = training_data(db, cutoff, horizon, window_options, say,
                              champion_population or population(db, champion_cutoff))
        problem = (challenger.warm_start_problem(champion, final)
                   or challenger.warm_start_problem(reference.model, gate))
        if problem is None:
            return True, (f"continues from champion version {champion_version} (the gate "
                          f"challenger from its {reference.kind}), with its feature "
                          "columns"), gate, final
        reason = f"{problem}: fresh fits"
    return (False, reason, training_data(db, origin, horizon, window_options, say),
            training_data(db, cutoff, horizon, window_options, say))
