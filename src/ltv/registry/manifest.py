"""What a version's manifest.json records about the model it holds.

Everything a server or an auditor needs without loading the model: its family and class, the
feature names it reads and their schema (kinds, allowed ranges), its cutoff and horizon, a
fingerprint of the training data and the backtest metrics (from `ltv train`'s training.json),
the caller's metadata, the library versions in the publishing environment, and the sha256 of
every file in the version folder (except manifest.json itself).
"""

from __future__ import annotations

import json
import math
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from typing import Any

from ltv.registry.errors import RegistryError

FORMAT_VERSION = 1
LIBRARIES = ("ltv", "numpy", "pandas", "duckdb", "lightgbm", "ai-edge-litert")
# Reported only when the publishing process has already imported them: importing TensorFlow
# costs seconds and hundreds of MB, and a BTYD or GBDT model does not need it.
IF_IMPORTED = {"tensorflow": "tensorflow", "keras": "keras"}


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that matter for reproducing a model's predictions."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    for name, module in IF_IMPORTED.items():
        loaded = sys.modules.get(module)
        if loaded is not None:
            versions[name] = str(getattr(loaded, "__version__", "unknown"))
    return versions


def check_metadata(metadata: Any) -> dict[str, Any]:
    """Caller metadata must be a JSON object (values that JSON cannot hold are stored as str)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise RegistryError(f"metadata must be a dict, got {type(metadata).__name__}",
                            "pass e.g. {'cutoff': '2024-01-01', 'metrics': {'gini': 0.61}}")
    try:
        text = json.dumps(metadata, default=str, allow_nan=True)
    except (TypeError, ValueError) as err:
        raise RegistryError(f"metadata cannot be written as JSON ({err})",
                            "use str keys and plain values (numbers, strings, lists, dicts)") from None
    return _finite(json.loads(text))


def _finite(value: Any) -> Any:
    """NaN/inf would make manifest.json invalid for strict JSON readers: store them as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# What `ltv train` records in training.json that the manifest carries at its top level.
TRAINING_KEYS = ("cutoff", "horizon_days", "models", "training_windows", "training_rows",
                 "feature_schema", "data_fingerprint", "population", "backtest",
                 "reference_profile", "typical_customer")


def build_manifest(name: str, version: int, model_json: dict[str, Any], model: Any,
                   metadata: dict[str, Any], files: dict[str, str],
                   created_at: str | None = None,
                   training: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of `name`/`version`; `model` is the loaded model, `files` the checksums,
    `training` the model folder's training.json (feature schema, data fingerprint, cutoff,
    backtest metrics), when it has one."""
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": version,
        "created_at": created_at or utc_now(),
        "family": model_json.get("family"),
        "class": model_json.get("class"),
        "model_name": getattr(model, "name", None),
        "feature_names": [str(c) for c in getattr(model, "feature_names_", [])],
        "metadata": metadata,
        "libraries": library_versions(),
        "files": files,
    }
    for key in TRAINING_KEYS:
        if training and training.get(key) is not None:
            manifest[key] = _finite(training[key])
    horizon = getattr(model, "horizon_days_", None)
    if horizon is not None:
        manifest["horizon_days"] = int(horizon)
    return manifest


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
