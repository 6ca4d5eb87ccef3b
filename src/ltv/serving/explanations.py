"""Explanations for GET /v1/customers/{id}: one explainer per served version, built once.

The explainer comes from `ltv.explain.make_explainer` on the version's runtime predictor (no
TensorFlow: a deep network is explained by path differences through LiteRT). GBDT needs no
baseline row (TreeSHAP's own expected value); BTYD, deep and ensemble versions explain
against the training population's typical customer, which `ltv train` records in the
manifest (`typical_customer`). A version published without one gets a clear reason instead
of an explanation. Building is lazy (first request for that version) and cached per version.
"""

from __future__ import annotations

import threading
from typing import Any

from ltv.errors import LTVError
from ltv.serving.deployment import CACHED_VERSIONS, Deployment

TOP_DRIVERS = 10


class Explainers:
    def __init__(self) -> None:
        self._built: dict[int, Any] = {}
        self._lock = threading.Lock()

    def explain(self, deployment: Deployment, row: dict[str, Any]) -> dict[str, Any]:
        """The explanation of one stored feature row (`ServerState.stored_rows`) by this
        version, as JSON (`Explanation.to_dict`), with the version that explained it."""
        explainer = self._explainer(deployment)
        schema = deployment.schema
        frame = schema.assemble([schema.from_store([row])])
        result = explainer.explain(frame).to_dict(top=TOP_DRIVERS)
        return {"model_version": deployment.version, **result}

    def _explainer(self, deployment: Deployment):
        with self._lock:  # one build per version, even under concurrent first requests
            explainer = self._built.get(deployment.version)
            if explainer is None:
                explainer = self._built[deployment.version] = _build(deployment)
                for old in sorted(self._built)[:-CACHED_VERSIONS]:  # as Deployments
                    del self._built[old]
            return explainer


def _build(deployment: Deployment):
    from ltv.explain import make_explainer

    predictor = deployment.predictor
    if predictor.family == "gbdt":
        return make_explainer(predictor)
    typical = deployment.manifest.get("typical_customer")
    if not typical:
        raise LTVError(f"version {deployment.version} was published without the typical "
                       "customer that explanations of a "
                       f"{predictor.family} model are measured from",
                       "train and export it again with this version of ltv")
    schema = deployment.schema
    baseline = schema.assemble([schema.check([typical], "typical_customer")])
    return make_explainer(predictor, baseline_row=baseline)
