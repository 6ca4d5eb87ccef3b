"""Model families by name: build one from hyperparameters, or load any saved model folder.

`FAMILIES` maps the `family` written in a saved folder's model.json to its class, so
`load_model(path)` needs no knowledge of what was saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ltv.errors import LTVError
from ltv.models.btyd_model import BTYDModel
from ltv.models.deep import DeepModel
from ltv.models.ensemble import EnsembleModel
from ltv.models.gbdt import GBDTModel
from ltv.models.persistence import MANIFEST, CorruptModelError
from ltv.models.protocol import LTVModel

FAMILIES: dict[str, type[LTVModel]] = {
    "btyd": BTYDModel,
    "gbdt": GBDTModel,
    "deep": DeepModel,
    "ensemble": EnsembleModel,
}


def make_model(family: str, **params: Any) -> LTVModel:
    """An unfitted model of `family` with the given hyperparameters."""
    if family not in FAMILIES:
        raise LTVError(f"unknown model family {family!r}",
                       f"use one of: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[family](**params)


def load_model(path: str | Path) -> LTVModel:
    """Load a folder written by any family's `save`; checksums are verified by its `load`."""
    manifest_path = Path(path) / MANIFEST
    if not manifest_path.is_file():
        raise CorruptModelError(f"{path} is not a saved ltv model (no {MANIFEST})",
                                "point at the folder written by `ltv train` or model.save()")
    try:
        manifest = json.loads(manifest_path.read_text())
        family, class_name = manifest["family"], manifest["class"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise CorruptModelError(f"{manifest_path} cannot be read ({type(err).__name__})",
                                "the model folder is damaged: save or train it again") from None
    cls = FAMILIES.get(family) if isinstance(family, str) else None
    if cls is None:
        raise CorruptModelError(f"{path} holds a model of unknown family {family!r}",
                                f"known families: {', '.join(sorted(FAMILIES))}; was it saved "
                                "by a newer version of ltv?")
    if class_name != cls.__name__:
        raise CorruptModelError(f"{path} names class {class_name!r} for family {family!r}, "
                                f"expected {cls.__name__!r}", "save or train the model again")
    return cls.load(path)
