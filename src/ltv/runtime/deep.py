"""A deep model whose network runs in LiteRT: DeepModel's own predict, minus TensorFlow.

`LightDeepModel` is a `DeepModel` restored from a light folder: feature checks, raw inputs
(`DeepInputSpec.to_inputs`), the ZILN post-processing, money scaling, cap and balance factor
are DeepModel's code, unchanged; only the network call is LiteRT's. It predicts, nothing
else (no fit, no save).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ltv.errors import LTVError
from ltv.models.deep.model import DeepModel
from ltv.runtime.litert import LiteRTNetwork


class LightDeepModel(DeepModel):
    def fit(self, data):  # noqa: D102
        raise LTVError("a light-runtime model only predicts",
                       "fit an ltv.models.deep.DeepModel instead")

    def save(self, path):  # noqa: D102
        raise LTVError("a light-runtime model cannot be saved as a model folder",
                       "publish the original model folder instead")

    @classmethod
    def load(cls, path: str | Path, num_threads: int | None = 1) -> "LightDeepModel":
        network = LiteRTNetwork(path, num_threads=num_threads)
        return cls.from_state(network.manifest["deep"], network)

    @classmethod
    def from_state(cls, state: dict[str, Any], network) -> "LightDeepModel":
        """A model around `network` (anything with `logits(raw inputs) -> (n, 3)`), with the
        post-processing state `ltv.export.litert` saved in the light folder's model.json."""
        model = cls(**state["params"])
        model.network_ = network
        model._restore_scoring_state(state)
        return model

    def _logits(self, network: LiteRTNetwork, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return network.logits(inputs)
