"""Probability calibration: a monotone map from a classifier's score to a calibrated probability.

Two methods, both fitted on (raw probability, 0/1 outcome) pairs that the classifier did not
train on (see `churn`):

- "isotonic": the non-decreasing step function that minimizes the squared error (pool
  adjacent violators, Barlow et al. 1972), read between blocks by linear interpolation of the
  blocks' (mean score, mean outcome) points, flat beyond the first and last block. Needs a few
  hundred outcomes per block of the curve; free of any shape assumption.
- "platt": p = sigmoid(a * logit(raw) + b), two parameters by Newton's method on the log
  loss (Platt 1999, on the logit of the raw probability rather than a margin). Monotone
  whenever a >= 0; a < 0 (a classifier worse than random) is clipped to a = 0, the base rate.
- "none": the identity.

Every map is non-decreasing in the raw probability, so calibration never changes a ranking
(AUC, Gini) beyond turning ties into more ties. Shapes: 1-D float arrays in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from ltv.errors import ConfigError, LTVError

METHODS = ("isotonic", "platt", "none")
_EPS = 1e-6  # logit of 0 or 1 is infinite: raw probabilities are clipped this far inside


@dataclass
class Calibrator:
    """A fitted monotone map; `method` is one of METHODS, `params` what `transform` needs."""

    method: str
    params: dict = field(default_factory=dict)

    def transform(self, raw) -> np.ndarray:
        p = np.asarray(raw, dtype=float)
        if self.method == "isotonic":
            return np.interp(p, self.params["x"], self.params["y"])
        if self.method == "platt":
            return expit(self.params["a"] * _logit(p) + self.params["b"])
        return np.clip(p, 0.0, 1.0)

    def to_dict(self) -> dict:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibrator":
        if data.get("method") not in METHODS:
            raise LTVError(f"unknown calibration method {data.get('method')!r} in a saved model",
                           "save the model again with this version of ltv")
        return cls(data["method"], dict(data.get("params", {})))


def fit_calibrator(raw, outcome, method: str = "isotonic") -> Calibrator:
    """Fit `method` on raw probabilities and 0/1 outcomes (equal lengths, at least 2 rows)."""
    if method not in METHODS:
        raise ConfigError(f"calibration method {method!r} is unknown",
                          f"use one of: {', '.join(METHODS)}")
    p = np.asarray(raw, dtype=float)
    y = np.asarray(outcome, dtype=float)
    if p.shape != y.shape or p.ndim != 1 or p.size < 2:
        raise LTVError(f"calibration needs two equal 1-D arrays of at least 2 rows, got "
                       f"shapes {p.shape} and {y.shape}",
                       "pass one raw probability and one 0/1 outcome per customer")
    if not (np.isfinite(p).all() and np.isin(y, (0.0, 1.0)).all()):
        raise LTVError("calibration inputs hold a non-finite probability or a non-0/1 outcome",
                       "drop or fix those rows before calibrating")
    if method == "isotonic":
        x, fitted, _ = isotonic_blocks(p, y)
        return Calibrator("isotonic", {"x": x.tolist(), "y": fitted.tolist()})
    if method == "platt":
        a, b = _platt(p, y)
        return Calibrator("platt", {"a": a, "b": b})
    return Calibrator("none")


def isotonic_blocks(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool adjacent violators: (block mean of x, block mean of y, rows per block), the
    means increasing, blocks in the order of x.

    Rows with equal x are pooled first (a function of x cannot give them two values); the
    block means of y are then non-decreasing and minimize the squared error.
    """
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    weight = np.diff(np.r_[starts, xs.size]).astype(float)
    sum_x = np.add.reduceat(xs, starts)
    sum_y = np.add.reduceat(ys, starts)
    # A stack of blocks (weight, sum x, sum y); merge while the last two are out of order.
    w_out, sx_out, sy_out = [], [], []
    for w, sx, sy in zip(weight, sum_x, sum_y):
        w_out.append(w), sx_out.append(sx), sy_out.append(sy)
        while len(w_out) > 1 and sy_out[-2] * w_out[-1] >= sy_out[-1] * w_out[-2]:
            w, sx, sy = w_out.pop(), sx_out.pop(), sy_out.pop()
            w_out[-1] += w
            sx_out[-1] += sx
            sy_out[-1] += sy
    w_arr = np.asarray(w_out)
    return np.asarray(sx_out) / w_arr, np.asarray(sy_out) / w_arr, w_arr.astype(int)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def _platt(p: np.ndarray, y: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """(a, b) maximizing the Bernoulli likelihood of y under sigmoid(a * logit(p) + b)."""
    z = _logit(p)
    X = np.column_stack([z, np.ones_like(z)])
    rate = float(np.clip(y.mean(), _EPS, 1 - _EPS))
    theta = np.array([1.0, 0.0])
    for _ in range(iterations):
        q = expit(X @ theta)
        grad = X.T @ (q - y)
        hess = (X * (q * (1 - q))[:, None]).T @ X + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta = theta - step
        if np.abs(step).max() < 1e-10:
            break
    a, b = float(theta[0]), float(theta[1])
    if not np.isfinite([a, b]).all() or a < 0:
        # No usable slope: the best monotone constant is the base rate.
        return 0.0, float(np.log(rate) - np.log1p(-rate))
    return a, b
