"""Which model stands for the champion on the evaluation window, so the gate does not peek.

The gate scores on the last fully observed window: features as of o = cutoff - H, actual
spend in [o, cutoff). The champion was trained at its own cutoff c0 (training labels end by c0):

- c0 <= o: it has never seen a label of the window. The champion itself (the "artifact", the
  exact model being served) is scored.
- o < c0 <= cutoff: it has seen the labels of [o, c0). Scored as is, it would be graded partly
  on its own training data, which flatters it. A "replica" stands in: the champion's
  hyperparameters fitted on data before o - (cutoff - c0), so at o it is exactly as stale as
  the champion is at the cutoff, and it has seen no label of the window either. (A champion
  that was itself warm-started is replicated by a fresh fit: an approximation, recorded.)
  Where the history is too short for the replica, the artifact is scored after all and the
  decision records that it was in sample: the bias then favours keeping the champion, the
  safe side.
- c0 unknown (a model exported without training.json): the artifact, recorded as unknown.
- c0 > cutoff: an error: a retrain cannot replace a model trained on newer data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ltv.errors import LTVError
from ltv.models.protocol import LTVModel


@dataclass
class Reference:
    """The model scored for the champion. `kind`: "artifact", "replica" or "none" (no
    champion); `out_of_sample`: whether it saw no label of the window (None: unknown);
    `trained_before`: the cutoff of the data it learned from."""

    model: LTVModel | None
    kind: str
    out_of_sample: bool | None
    trained_before: pd.Timestamp | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"champion_reference": self.kind, "champion_out_of_sample": self.out_of_sample,
                "reference_trained_before": None if self.trained_before is None
                else str(self.trained_before), "note": self.note}


def clone(model: LTVModel) -> LTVModel:
    """An unfitted model with the same hyperparameters (scikit-learn's `clone`)."""
    return type(model)(**model.get_params())


def champion_cutoff(manifest: dict[str, Any] | None) -> pd.Timestamp | None:
    """The training cutoff a version's manifest records (from training.json), if any."""
    value = (manifest or {}).get("cutoff")
    return None if value in (None, "") else pd.Timestamp(value)


def choose_reference(champion: LTVModel | None, manifest: dict[str, Any] | None,
                     cutoff: pd.Timestamp, origin: pd.Timestamp, fit_at) -> Reference:
    """The champion's stand-in on [origin, cutoff) (see the module docstring).

    `fit_at(model, t)` fits `model` on the training windows before t and returns it (the
    caller owns the warehouse and the window options).
    """
    if champion is None:
        return Reference(None, "none", None, None, "no champion yet: nothing to compare with")
    c0 = champion_cutoff(manifest)
    if c0 is None:
        return Reference(champion, "artifact", None, None,
                         "the champion's manifest records no training cutoff, so whether it "
                         "has seen the window's labels is unknown")
    if c0 > cutoff:
        raise LTVError(f"the champion was trained on data before {c0}, later than the retrain "
                       f"cutoff {cutoff}", "pass a cutoff at or after the champion's, e.g. "
                       "--cutoff today")
    if c0 <= origin:
        return Reference(champion, "artifact", True, c0,
                         f"the champion (trained before {c0.date()}) has seen no label of the "
                         f"window [{origin.date()}, {cutoff.date()})")
    replica_cutoff = origin - (cutoff - c0)
    try:
        replica = fit_at(clone(champion), replica_cutoff)
    except LTVError as err:
        return Reference(champion, "artifact", False, c0,
                         f"the champion (trained before {c0.date()}) has seen labels of "
                         f"[{origin.date()}, {c0.date()}); a replica could not be fitted before "
                         f"{replica_cutoff.date()} ({err.problem}), so the champion itself is "
                         "scored, partly in sample: this favours keeping it")
    return Reference(replica, "replica", True, replica_cutoff,
                     f"the champion (trained before {c0.date()}) has seen labels of "
                     f"[{origin.date()}, {c0.date()}); a replica with its hyperparameters, "
                     f"fitted before {replica_cutoff.date()} (as stale at {origin.date()} as the "
                     f"champion is at {cutoff.date()}), is scored instead")
