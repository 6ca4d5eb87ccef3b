"""The path both deep explainers integrate along, from the baseline row to the customer.

The players are the feature-table columns the network reads (`DeepInputSpec`): each numeric
column, each weekly sequence (seq_*, all its weeks as one player), the calendar (the
cutoff's day of year) and each attr_* category.

Coordinates. Numeric and sequence inputs are taken in the network's own first coordinates,
z = sign(x) log(1 + |x|) (the `SignedLog` layer; missing and infinite values are 0, as the
network reads them); the calendar as the day of year. The path is the straight line
z(t) = z' + t (z - z'), t in [0, 1], from the baseline z' to the customer z. A straight line in
raw money instead would spend the whole effect of a feature in the first cents of the path
(log1p's curvature there) and need thousands of steps.

Categories cannot move continuously (a level is a string, and the light runtime feeds ids,
not embeddings), so they jump: every attr_* holds the baseline's level for t < 1/2 and the
customer's for t >= 1/2. The jump's effect f(z(1/2), customer levels) - f(z(1/2), baseline
levels) is split among the categories by exact Shapley values over them at z(1/2) (2^k
network evaluations for k categories).

So, with f the model's `ltv` in currency,
    f(customer) - f(baseline) = integral over [0, 1/2] + jump + integral over [1/2, 1],
and each explainer (gradients: `deep_ig`; finite differences: `deep_runtime`) splits the two
integrals among the continuous players. Both explain the same quantity, which is why their
answers agree (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltv.models.deep.inputs import CALENDAR, NUMERIC, SEQUENCE, DeepInputSpec
from ltv.models.gbdt.inputs import CALENDAR_FEATURE


def signed_log(x: np.ndarray) -> np.ndarray:
    x = np.where(np.isfinite(x), x, 0.0)
    return np.sign(x) * np.log1p(np.abs(x))


def signed_exp(z: np.ndarray) -> np.ndarray:
    """The inverse of `signed_log`."""
    return np.sign(z) * np.expm1(np.abs(z))


@dataclass(frozen=True)
class Player:
    feature: str  # the feature-table column (CALENDAR_FEATURE for the calendar)
    input: str  # the network input it lives in
    index: int  # its column (numeric) or channel (sequence) there


def continuous_players(spec: DeepInputSpec) -> list[Player]:
    players = [Player(c, NUMERIC, i) for i, c in enumerate(spec.numeric)]
    players += [Player(c, SEQUENCE, i) for i, c in enumerate(spec.sequences)]
    if spec.calendar:
        players.append(Player(CALENDAR_FEATURE, CALENDAR, 0))
    return players


class DeepPath:
    """The baseline and the customer as network inputs, and points on the path between them.

    `t`: (rows, continuous players) positions in [0, 1]; `levels`: (rows, categories) bool,
    True for the customer's level of that attr_* (False: the baseline's)."""

    def __init__(self, spec: DeepInputSpec, baseline_row: pd.DataFrame, row: pd.DataFrame):
        self.spec = spec
        self.players = continuous_players(spec)
        self.categories = list(spec.categories)
        self.base_raw = spec.to_inputs(baseline_row)
        self.raw = spec.to_inputs(row)
        # An input with no column (no numeric feature) is not a network input at all.
        moving = [k for k, v in self.raw.items() if k in _MOVING and np.size(v) > 0]
        self.base_z = {k: self._z(k, self.base_raw[k]) for k in moving}
        self.z = {k: self._z(k, self.raw[k]) for k in moving}

    @staticmethod
    def _z(name: str, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        return values if name == CALENDAR else signed_log(values)

    def _broadcast(self, name: str, t: np.ndarray) -> np.ndarray:
        """Per-player positions (rows, players) -> the shape of input `name` for those rows."""
        cols = [j for j, p in enumerate(self.players) if p.input == name]
        part = t[:, cols]
        return part[:, None, :] if name == SEQUENCE else part

    def z_points(self, t: np.ndarray, levels: np.ndarray) -> dict[str, np.ndarray]:
        """Network inputs on the path, continuous ones in z coordinates (float32)."""
        out = {}
        for name in self.z:
            pos = self._broadcast(name, t)
            out[name] = (self.base_z[name] + pos * (self.z[name] - self.base_z[name])
                         ).astype(np.float32)
        out.update(self._levels(levels))
        return out

    def raw_points(self, t: np.ndarray, levels: np.ndarray) -> dict[str, np.ndarray]:
        """Network inputs on the path as raw feature values (what `DeepModel._logits` takes);
        at t = 0 and t = 1 exactly the baseline's and the customer's own values."""
        out = {}
        for name in self.z:
            pos = self._broadcast(name, t)
            z = self.base_z[name] + pos * (self.z[name] - self.base_z[name])
            moved = z if name == CALENDAR else signed_exp(z)
            raw = np.where(pos == 0.0, self.base_raw[name],
                           np.where(pos == 1.0, self.raw[name], moved))
            out[name] = raw.astype(np.float32)
        out.update(self._levels(levels))
        for name, values in self.raw.items():  # inputs without columns, as predict has them
            out.setdefault(name, np.zeros((len(t),) + values.shape[1:], dtype=values.dtype))
        return out

    def _levels(self, levels: np.ndarray) -> dict[str, np.ndarray]:
        return {col: np.where(levels[:, [j]], self.raw[col][0, 0], self.base_raw[col][0, 0])
                .astype(object) for j, col in enumerate(self.categories)}

    def deltas(self) -> dict[str, np.ndarray]:
        """z - z' per continuous input (what a gradient is multiplied by)."""
        return {name: self.z[name] - self.base_z[name] for name in self.z}

    def values(self, row: pd.DataFrame) -> dict[str, object]:
        """The customer's raw value of every player, for display (JSON-able)."""
        out: dict[str, object] = {}
        for p in self.players:
            if p.input == SEQUENCE:
                out[p.feature] = self.raw[SEQUENCE][0, :, p.index].astype(float).tolist()
            elif p.input == CALENDAR:
                out[p.feature] = int(self.raw[CALENDAR][0, 0])
            else:  # the table's own value, not its float32 network input
                value = pd.to_numeric(pd.Series([row.at[0, p.feature]]), errors="coerce")[0]
                out[p.feature] = float(value) if np.isfinite(value) else None
        for col in self.categories:
            value = row.at[0, col]
            out[col] = None if pd.isna(value) else str(value)
        return out


_MOVING = (NUMERIC, SEQUENCE, CALENDAR)


def levels_for(subsets: list[frozenset], categories: list[str]) -> np.ndarray:
    """(len(subsets), categories) bool: which categories take the customer's level."""
    return np.array([[c in s for c in categories] for s in subsets], dtype=bool).reshape(
        len(subsets), len(categories))
