"""`make_explainer(model, reference)`: the explainer for any fitted model, built once.

Building does the per-model work (the typical-customer baseline from `reference`, the
gradient network of a Keras model); `explainer.explain(row)` then costs one small batch of
model evaluations per customer. What a server does: build it when it loads a version, with
the loaded model (`ltv.runtime.Predictor.model` is accepted as is) and a reference sample of
the online store's rows, then explain one feature row per request.

method:
- "auto": GBDT -> TreeSHAP; BTYD -> exact Shapley; a Keras deep model -> integrated
  gradients; a LiteRT deep model (the server's, `ltv.runtime`) -> path differences, which
  needs no TensorFlow; an ensemble -> each member by its own "auto".
- "path_differences": deep models (and deep members) by path differences even when Keras is
  there, e.g. to keep TensorFlow's fixed costs out of a process.
"""

from __future__ import annotations

import pandas as pd

from ltv.errors import ConfigError, LTVError
from ltv.explain.rows import one_row, typical_customer

METHODS = ("auto", "path_differences")


def make_explainer(model, reference: pd.DataFrame | None = None, *, method: str = "auto",
                   baseline_row: pd.DataFrame | None = None, steps: int | None = None):
    """An object with `explain(row) -> Explanation` for `model`.

    reference: feature rows of the population (e.g. every customer at the cutoff); BTYD and
        deep models explain against their typical customer (`rows.typical_customer`).
    baseline_row: that typical row already computed (one feature row); wins over reference.
    steps: path steps of a deep model's method (default 64 for integrated gradients, 16 for
        path differences).
    """
    if method not in METHODS:
        raise ConfigError(f"method={method!r} is unknown",
                          f"use one of: {', '.join(METHODS)}")
    model = getattr(model, "model", model) if hasattr(model, "version_dir") else model
    family = getattr(model, "family", None)
    if family == "gbdt":
        return _gbdt(model)
    if family == "ensemble":
        # One typical customer for every member that needs one (GBDT members do not).
        row = baseline_row if baseline_row is not None or reference is None else \
            typical_customer(reference)
        from ltv.explain.ensemble import EnsembleExplainer

        return EnsembleExplainer(model, [make_explainer(m, method=method, baseline_row=row,
                                                        steps=steps)
                                         for m in model.members_])
    if family == "btyd":
        from ltv.explain.btyd import BTYDExplainer

        return BTYDExplainer(model, _baseline(model, reference, baseline_row))
    if family == "deep":
        row = _baseline(model, reference, baseline_row)
        if method == "path_differences" or hasattr(model.network_, "logits"):
            from ltv.explain.deep_runtime import PathDifferenceExplainer

            return PathDifferenceExplainer(model, row, **({"steps": steps} if steps else {}))
        from ltv.explain.deep_ig import IntegratedGradientsExplainer

        return IntegratedGradientsExplainer(model, row, **({"steps": steps} if steps else {}))
    raise LTVError(f"cannot explain a model of family {family!r}",
                   "explain a btyd, gbdt, deep or ensemble model")


def _gbdt(model):
    from ltv.explain.gbdt import GBDTExplainer

    return GBDTExplainer(model)


def _baseline(model, reference, baseline_row) -> pd.DataFrame:
    if baseline_row is not None:
        return one_row(baseline_row)
    if reference is None:
        raise LTVError(f"explaining the {model.family} model '{model.name}' needs reference "
                       "rows for its typical-customer baseline",
                       "pass reference=the feature rows of the population at the cutoff "
                       "(ltv.build_features(db, cutoff)), or baseline_row=")
    return typical_customer(reference)


def explain(model, features: pd.DataFrame | dict, reference: pd.DataFrame | None = None,
            **options):
    """One-off: `make_explainer(model, reference, **options).explain(features)`."""
    return make_explainer(model, reference, **options).explain(features)
