"""`load_predictor(version_dir)`: a published model version, ready to predict, without
TensorFlow.

- btyd and gbdt versions load their model folder (`<version>/model/`) as usual;
- a deep version runs its LiteRT export (`<version>/light/`), with DeepModel's own pre- and
  post-processing (`ltv.runtime.deep`);
- an ensemble loads each member the same way (a deep member from `<version>/light/<member>/`)
  and blends them with EnsembleModel's own predict and saved weights.
Predictions have the columns of `LTVModel.predict`. A version published by the registry is
verified file by file against its manifest first; a missing or damaged light export is
refused, naming the folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ltv.models.persistence import MANIFEST as MODEL_JSON
from ltv.models.persistence import CorruptModelError, read_model_dir
from ltv.models.protocol import LTVModel
from ltv.runtime.artifact import LIGHT_DIR

MODEL_DIR = "model"
VERSION_MANIFEST = "manifest.json"


@dataclass
class Predictor:
    """A loaded version: `predict(features)` gives one prediction row per feature row."""

    name: str
    family: str
    feature_names: list[str]
    model: LTVModel = field(repr=False)
    version_dir: Path

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        return self.model.predict(features)

    @property
    def takes_columns(self) -> bool:
        """Whether the model has `predict_columns`, which skips pandas (GBDT today)."""
        return hasattr(self.model, "predict_columns")

    def predict_columns(self, columns: dict[str, list]) -> dict[str, np.ndarray]:
        """Predictions for a feature table given as {column: values}, as {column: array}
        (customer_id, ltv, ltv_lo, ltv_hi, p_active); only where `takes_columns`."""
        return self.model.predict_columns(columns)


def load_predictor(version_dir: str | Path, *, num_threads: int | None = 1,
                   verify: bool = True) -> Predictor:
    """Load `<root>/<name>/<version>/` (or any folder with `model/` and, for deep models,
    `light/`). `num_threads`: LiteRT interpreter threads per deep network. `verify=False`
    skips the check of every file against the version's manifest, for a caller that has
    just run `Registry.verify` (the model and light folders' own checksums are still read)."""
    folder = Path(version_dir)
    _verify_version(folder, full=verify)
    model = _load(folder / MODEL_DIR, folder / LIGHT_DIR, num_threads)
    return Predictor(name=model.name, family=model.family,
                     feature_names=list(model.feature_names_), model=model, version_dir=folder)


def _verify_version(folder: Path, full: bool) -> None:
    if not (folder / MODEL_DIR / MODEL_JSON).is_file():
        raise CorruptModelError(f"{folder} is not a published model version (no "
                                f"{MODEL_DIR}/{MODEL_JSON})",
                                "point at <registry>/<name>/<version>/")
    path = folder / VERSION_MANIFEST
    if full and path.is_file():  # a registry version: every file against its manifest
        from ltv.registry.verify import verify_version

        try:
            manifest = json.loads(path.read_text())
            name, version = manifest["name"], manifest["version"]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            name, version = folder.parent.name, folder.name
        verify_version(name, version, folder)


def _load(model_dir: Path, light_dir: Path, num_threads: int | None) -> LTVModel:
    manifest = read_model_dir(model_dir)
    family = manifest.get("family")
    if family == "deep":
        from ltv.runtime.deep import LightDeepModel

        model = LightDeepModel.load(light_dir, num_threads=num_threads)
        if model.name != _name(manifest, family):
            raise CorruptModelError(f"{light_dir} holds model '{model.name}', not "
                                    f"'{_name(manifest, family)}'", "publish the model again")
        return model
    if family == "ensemble":
        return _load_ensemble(model_dir, light_dir, num_threads)
    from ltv.models.registry import load_model

    return load_model(model_dir)


def _load_ensemble(model_dir: Path, light_dir: Path, num_threads: int | None) -> LTVModel:
    """EnsembleModel.load, with each member loaded by `_load` (deep -> LiteRT)."""
    from ltv.models.ensemble import EnsembleModel

    return EnsembleModel.load(model_dir, load_member=lambda name, folder: _load(
        folder, light_dir / name, num_threads))


def _name(manifest: dict, family: str) -> str:
    return manifest.get("params", {}).get("alias") or family
