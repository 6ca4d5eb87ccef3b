"""Multi-label metrics: pure functions of `(Y, P)`, both (n_customers, n_labels) arrays.

`Y` is 0/1 (did the customer buy / browse category j in the horizon), `P` any score where
higher means more likely (a probability, a share).

- per-label ROC AUC: `ltv.evaluation.metrics.auc` down each column (ties count 1/2); nan for
  a label with one class only (nobody, or everybody, bought it), which macro AUC skips and
  reports as skipped.
- macro AUC: the mean over labels with both classes; micro AUC: one AUC over all
  (customer, label) cells, so frequent labels weigh more.
- precision@k / recall@k: per customer, the share of the k highest-scored labels that are
  positive (precision) and the share of the customer's positives among them (recall),
  averaged over the customers with at least one positive (a customer who bought nothing has
  no interests to find; whether anyone buys at all is p_active's job, not this ranking's).
  Ties at the k-th place are scored by their expectation over the orders of the tied block,
  as every ranking metric in `ltv.evaluation.metrics` is: a tie never peeks at `Y`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ltv.errors import LTVError
from ltv.evaluation.metrics import auc


def _check(Y: Any, P: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(Y, dtype=float)
    p = np.asarray(P, dtype=float)
    if y.ndim != 2 or p.ndim != 2 or y.shape != p.shape:
        raise LTVError(f"Y has shape {y.shape} and P has shape {p.shape}",
                       "pass two (n_customers, n_labels) arrays of the same shape")
    if y.size == 0:
        raise LTVError("Y is empty", "evaluate at least one customer and one label")
    if not np.isin(y, (0.0, 1.0)).all():
        raise LTVError("Y holds values other than 0 and 1",
                       "Y is the 0/1 outcome per customer and label")
    if not np.isfinite(p).all():
        row, col = np.argwhere(~np.isfinite(p))[0]
        raise LTVError(f"P[{row}, {col}] = {p[row, col]} is not finite",
                       "every score must be a finite number")
    return y, p


def per_label_auc(Y: Any, P: Any) -> np.ndarray:
    """(n_labels,) ROC AUC of each column; nan where the column has one class only."""
    y, p = _check(Y, P)
    return np.array([auc(y[:, j], p[:, j]) for j in range(y.shape[1])])


def macro_auc(Y: Any, P: Any) -> float:
    """Mean per-label AUC over the labels with both classes (nan if there is none)."""
    scores = per_label_auc(Y, P)
    defined = scores[~np.isnan(scores)]
    return float(defined.mean()) if defined.size else float("nan")


def micro_auc(Y: Any, P: Any) -> float:
    """One AUC over all (customer, label) cells."""
    y, p = _check(Y, P)
    return auc(y.ravel(), p.ravel())


def _hits_at_k(y: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """Expected positives among each row's k best-scored labels (ties: uniform order)."""
    n_labels = y.shape[1]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_labels:
        raise LTVError(f"k={k!r} is not between 1 and the number of labels ({n_labels})",
                       f"pass a whole number k <= {n_labels}")
    kth = -np.sort(-p, axis=1)[:, k - 1][:, None]  # the k-th largest score per row
    above, tied = p > kth, p == kth
    n_above, n_tied = above.sum(axis=1), tied.sum(axis=1)
    # The k - n_above places left go to the tied block: each tied label gets one with
    # probability (k - n_above) / n_tied.
    return (y * above).sum(axis=1) + (k - n_above) / n_tied * (y * tied).sum(axis=1)


def precision_at_k(Y: Any, P: Any, k: int) -> float:
    """Mean share of positives among the k best-scored labels, over customers with a
    positive (nan if nobody has one)."""
    y, p = _check(Y, P)
    has = y.sum(axis=1) > 0
    if not has.any():
        return float("nan")
    return float((_hits_at_k(y[has], p[has], k) / k).mean())


def recall_at_k(Y: Any, P: Any, k: int) -> float:
    """Mean share of each customer's positives found in their k best-scored labels."""
    y, p = _check(Y, P)
    has = y.sum(axis=1) > 0
    if not has.any():
        return float("nan")
    return float((_hits_at_k(y[has], p[has], k) / y[has].sum(axis=1)).mean())


def interest_metrics(Y: Any, P: Any, labels: Sequence[str] | None = None,
                     ks: Sequence[int] = (1, 3, 5)) -> dict[str, Any]:
    """Every metric above in one dict (k larger than the number of labels is left out).

    Keys: customers, customers_with_positive, labels, labels_scored, labels_skipped (one
    class only), positive_rate, macro_auc, micro_auc, precision@k, recall@k, per_label_auc
    ({label: auc or nan}).
    """
    y, p = _check(Y, P)
    names = list(labels) if labels is not None else [str(j) for j in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise LTVError(f"{len(names)} label names for {y.shape[1]} columns",
                       "pass one name per column of Y")
    per = per_label_auc(y, p)
    out: dict[str, Any] = {
        "customers": int(y.shape[0]),
        "customers_with_positive": int((y.sum(axis=1) > 0).sum()),
        "labels": int(y.shape[1]),
        "labels_scored": int((~np.isnan(per)).sum()),
        "labels_skipped": int(np.isnan(per).sum()),
        "positive_rate": float(y.mean()),
        "macro_auc": macro_auc(y, p),
        "micro_auc": micro_auc(y, p),
    }
    for k in ks:
        if k <= y.shape[1]:
            out[f"precision@{k}"] = precision_at_k(y, p, k)
            out[f"recall@{k}"] = recall_at_k(y, p, k)
    out["per_label_auc"] = dict(zip(names, (float(a) for a in per)))
    return out
