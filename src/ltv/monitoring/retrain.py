"""`retrain`: fit a challenger on fresh data, gate it against the champion, record the decision.

With cutoff t and horizon H (the champion's), the origin o = t - H opens the last fully
observed window [o, t). In order:

1. Take the retrain lock (`decisions.retrain_lock`): one retrain per model at a time.
2. Refuse a stale warehouse: its last transaction before t must be within
   `max_data_lag_days` of t, or the window would count missing data as "no spend".
3. Choose the champion's stand-in on the window (`reference`): the champion itself when it
   was trained by o, else a replica of its hyperparameters as stale at o as the champion is
   at t. Either way it has seen no label of the window.
4. The gate challenger: the challenger's procedure applied as of o: its spec fitted on the
   training windows before o, continuing from the stand-in when warm-starting. It must not
   be the model to deploy: that one has trained on the window's labels.
5. Both predict the customers seen before o from features as of o and are scored on their
   actual spend in [o, t) (`gate.judge`: margin on the primary metric, paired bootstrap,
   guards).
6. The challenger to deploy: the same procedure applied as of t (windows before t,
   continuing from the champion itself when warm-starting). It is published as a new
   version whatever the verdict, so it can be inspected; its manifest's backtest is the gate
   challenger's scores (what `ltv train` records too: the spec fitted at t - H, scored on
   [t - H, t)).
7. Promote it only on a "promote" verdict (and only if the champion did not change during
   the run); append the decision to `<registry>/<name>/decisions.jsonl` either way.

Warm start (`warm_start=None`: on when possible): GBDT continues boosting from the champion's
trees, deep starts from its weights for a few epochs (see those families' `fit(...,
init_model=)`); `warm` says when it is possible and pins the feature columns. Otherwise both
fits are fresh and the decision says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ltv.errors import LTVError
from ltv.models.protocol import LTVModel, TrainingData
from ltv.monitoring.decisions import append_decision, retrain_lock
from ltv.monitoring.gate import GateConfig, GateResult, judge, scores
from ltv.monitoring.reference import Reference, champion_cutoff, choose_reference, clone
from ltv.monitoring.warm import prepare, training_data
from ltv.registry import Registry
from ltv.registry.manifest import utc_now

DEFAULT_HORIZON = 90


@dataclass
class RetrainResult:
    decision: dict[str, Any]  # the line appended to decisions.jsonl (nan where it has null)
    promoted: bool
    challenger_version: int
    champion_version: int | None  # the champion before the retrain

    def to_json(self) -> str:
        """The decision as one line of strict JSON (undefined metrics are null)."""
        import json

        from ltv.registry.manifest import check_metadata

        return json.dumps(check_metadata(self.decision), sort_keys=True, allow_nan=False)


@dataclass
class _Plan:
    """What the run works with, resolved from the registry and the arguments."""

    champion: LTVModel | None
    champion_version: int | None
    manifest: dict[str, Any] | None
    make: Callable[[], LTVModel]  # a fresh, unfitted challenger
    label: str  # the challenger spec, as training.json's "models"
    horizon: int
    cutoff: pd.Timestamp
    origin: pd.Timestamp


def retrain(registry: str | Path, name: str, db: str | Path, cutoff, *,
            models: str | LTVModel | None = None, horizon_days: int | None = None,
            gate: GateConfig | None = None, warm_start: bool | None = None,
            window_options: dict[str, int] | None = None, max_data_lag_days: int = 7,
            progress: Callable[[str], None] | None = None) -> RetrainResult:
    """Retrain `name` in `registry` on the warehouse `db` as of `cutoff` (see the module
    docstring). `models`: the challenger spec (`--models` text, or an unfitted model whose
    hyperparameters are used); None repeats the champion's hyperparameters. `window_options`:
    `build_training_data`'s stride_days / max_windows (default `training_windows(H)`, as
    `ltv train`). `progress(message)` is called before each long step."""
    gate = gate or GateConfig()
    say = progress or (lambda message: None)
    reg = Registry(registry)
    with retrain_lock(reg.root, name):
        plan = _plan(reg, name, cutoff, models, horizon_days)
        _check_fresh(db, plan.cutoff, max_data_lag_days)
        say(f"choosing the champion's stand-in on [{plan.origin.date()}, {plan.cutoff.date()})")
        reference = choose_reference(plan.champion, plan.manifest, plan.cutoff, plan.origin,
                                     _fitter(db, plan.horizon, window_options, say))
        warm, warm_reason, gate_data, final_data = prepare(
            db, requested=warm_start, make=plan.make, champion=plan.champion,
            champion_version=plan.champion_version,
            champion_cutoff=champion_cutoff(plan.manifest),
            champion_population=(plan.manifest or {}).get("population"), reference=reference,
            origin=plan.origin, cutoff=plan.cutoff, horizon=plan.horizon,
            window_options=window_options, say=say)
        say(f"fitting the gate challenger before {plan.origin.date()}")
        challenger = _fit(plan.make(), gate_data, reference.model if warm else None)
        verdict, evaluation = _evaluate(db, plan, reference, challenger, gate_data, gate)
        say(f"fitting the challenger to deploy before {plan.cutoff.date()}")
        final = _fit(plan.make(), final_data, plan.champion if warm else None)
        summary = {"champion_version": plan.champion_version, "warm_start": warm,
                   "verdict": "promoted" if verdict.promote else "kept"}
        version = _publish(reg, name, db, final, final_data, plan,
                           {"origin": str(plan.origin.date()), "horizon_days": plan.horizon,
                            "customers": evaluation["customers"],
                            "metrics": verdict.challenger}, summary)
        promoted, reason = verdict.promote, verdict.reason
        if promoted and reg.champion(name) != plan.champion_version:
            promoted, reason = False, (f"kept the champion: it changed to version "
                                       f"{reg.champion(name)} during the retrain; {reason}")
        if promoted:
            reg.promote(name, version)
        record = {
            "name": name, "cutoff": str(plan.cutoff), "horizon_days": plan.horizon,
            "verdict": "promoted" if promoted else "kept", "reason": reason,
            "champion_before": plan.champion_version, "champion_after": reg.champion(name),
            "champion": {"version": plan.champion_version,
                         "cutoff": (plan.manifest or {}).get("cutoff"),
                         "metrics": verdict.champion},
            "challenger": {"version": version, "models": plan.label,
                           "warm_start": {"used": warm, "reason": warm_reason},
                           "metrics": verdict.challenger},
            "evaluation": evaluation, "gate": gate.to_dict(),
            "improvement": verdict.improvement, "bootstrap": verdict.bootstrap,
            "decided_at": utc_now(),
        }
        append_decision(reg.root, name, record)
        return RetrainResult(record, promoted, version, plan.champion_version)


def _plan(reg: Registry, name: str, cutoff, models, horizon_days) -> _Plan:
    from ltv.features.params import parse_cutoff
    from ltv.models.selection import model_for, parse_families

    if isinstance(models, str):
        parse_families(models)  # a typo fails before any work
    version = reg.champion(name)
    champion = manifest = None
    if version is not None:
        manifest = reg.manifest(name, version)
        champion = reg.load(name, version)
    own = None if manifest is None else manifest.get("horizon_days")
    if horizon_days is not None and own is not None and int(horizon_days) != int(own):
        raise LTVError(f"--horizon {horizon_days} differs from the champion's {own}-day horizon",
                       "retrain with the champion's horizon (leave --horizon out); a model of "
                       "another horizon predicts another quantity: publish it separately")
    horizon = int(horizon_days or own or DEFAULT_HORIZON)
    if models is None:
        if champion is None:
            raise LTVError(f"'{name}' has no champion whose spec a retrain could repeat",
                           "pass --models (e.g. --models gbdt), or promote a version first")
        spec, label = champion, (manifest or {}).get("models") or champion.family
        make = lambda: clone(spec)  # noqa: E731
    elif isinstance(models, str):
        make, label = (lambda: model_for(models)), models
    else:
        make, label = (lambda: clone(models)), models.name
    at = pd.Timestamp(parse_cutoff(cutoff))
    return _Plan(champion, version, manifest, make, label, horizon, at,
                 at - pd.Timedelta(days=horizon))


def _check_fresh(db, cutoff: pd.Timestamp, max_lag_days: int) -> None:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        last = con.execute("SELECT max(ts) FROM transactions WHERE ts < ?",
                           [cutoff.to_pydatetime()]).fetchone()[0]
    finally:
        con.close()
    if last is None:
        raise LTVError(f"the warehouse {db} has no transaction before {cutoff}",
                       "ingest the transactions first (ltv ingest)")
    lag = cutoff - pd.Timestamp(last)
    if lag > pd.Timedelta(days=max_lag_days):
        raise LTVError(f"the warehouse's last transaction before the cutoff {cutoff.date()} is "
                       f"{pd.Timestamp(last)}, {lag.days} days earlier: the evaluation window "
                       "would count the missing days as no spend",
                       "ingest the latest data first, or pass an earlier --cutoff "
                       f"(or a --max-data-lag above {lag.days} days if the shop was closed)")


def _fitter(db, horizon: int, window_options, say):
    def fit_at(model: LTVModel, at: pd.Timestamp) -> LTVModel:
        data = training_data(db, at, horizon, window_options, say)
        say(f"fitting a replica of the champion before {at.date()}")
        return model.fit(data)
    return fit_at


def _fit(model: LTVModel, data: TrainingData, init: LTVModel | None) -> LTVModel:
    return model.fit(data) if init is None else model.fit(data, init_model=init)


def _evaluate(db, plan: _Plan, reference: Reference, challenger: LTVModel,
              data: TrainingData, gate: GateConfig):
    """(GateResult, evaluation record): both models on the customers seen before the origin,
    features as of the origin, actual spend in [origin, cutoff)."""
    from ltv.evaluation.backtest import actual_spend
    from ltv.models.training_data import fill_optional_columns

    new = challenger.predict(data.snapshot)
    actual = actual_spend(db, plan.origin, plan.horizon).reindex(new["customer_id"]).to_numpy()
    evaluation = {"window": [str(plan.origin), str(plan.cutoff)],
                  "features_as_of": str(plan.origin), "customers": int(len(new)),
                  "challenger_trained_before": str(plan.origin), **reference.to_dict()}
    if reference.model is None:
        result = GateResult(True, "promoted the challenger: there is no champion to compare "
                            "with", {}, scores(new, actual), {}, None)
        return result, evaluation
    features = fill_optional_columns(data.snapshot, list(reference.model.feature_names_))
    old = reference.model.predict(features)
    return judge(old, new, actual, gate), evaluation


def _publish(reg: Registry, name: str, db, model: LTVModel, data: TrainingData, plan: _Plan,
             backtest: dict[str, Any], summary: dict[str, Any]) -> int:
    """Save the challenger with its training.json (`backtest`: the gate challenger's scores,
    in `holdout_metrics`' shape) and publish it as the next version of `name`."""
    import tempfile

    from ltv.models.provenance import training_info, write_training_info

    with tempfile.TemporaryDirectory(prefix="ltv-retrain-") as tmp:
        folder = Path(tmp) / "model"
        model.save(folder)
        info = training_info(db, data, model, plan.label)
        info["backtest"] = backtest
        write_training_info(folder, info)
        return reg.publish(name, folder, metadata={"retrain": summary})
