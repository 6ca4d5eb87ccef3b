"""Run an exported deep network (`ltv.runtime.artifact`) with the LiteRT interpreter.

Imports `ai_edge_litert` (a ~60 MB package with no TensorFlow inside), never TensorFlow.
One interpreter holds its tensors between calls, so calls are serialized with a lock; rows
go through in chunks of `CHUNK` to bound memory (attention over 52 weeks allocates per row).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from ltv.errors import LTVError
from ltv.models.persistence import CorruptModelError, read_model_dir
from ltv.runtime import artifact

CHUNK = 2048


def _interpreter(model_path: str | None = None, model_content: bytes | None = None,
                 num_threads: int | None = 1):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise LTVError("the light runtime needs LiteRT, which is not installed",
                       "pip install ai-edge-litert (a core dependency of ltv)") from None
    return Interpreter(model_path=model_path, model_content=model_content,
                       num_threads=num_threads)


def run_flatbuffer(flatbuffer: bytes, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Logits of an in-memory LiteRT network for prepared inputs (used by the export check)."""
    runner = _interpreter(model_content=flatbuffer).get_signature_runner(artifact.SIGNATURE)
    return np.asarray(next(iter(runner(**inputs).values())), dtype=float)


class LiteRTNetwork:
    """A light folder loaded: `logits(raw inputs)` -> (n, 3) ZILN logits, float64.

    Raw inputs are those of `DeepInputSpec.to_inputs` (attr_* as strings); strings become ids
    here with the saved vocabularies.
    """

    def __init__(self, folder: str | Path, num_threads: int | None = 1):
        self.folder = Path(folder)
        manifest = read_light_dir(self.folder)
        self.manifest = manifest
        self.inputs: list[dict[str, Any]] = manifest["inputs"]
        self.vocabularies: dict[str, list[str]] = manifest["vocabularies"]
        interpreter = _interpreter(model_path=str(self.folder / manifest["network_file"]),
                                   num_threads=num_threads)
        try:
            self._runner = interpreter.get_signature_runner(manifest["signature"])
        except ValueError as err:
            raise CorruptModelError(f"{self.folder}: the LiteRT network has no signature "
                                    f"'{manifest['signature']}' ({err})",
                                    "export the model again") from None
        expected = {spec["name"] for spec in self.inputs}
        if set(self._runner.get_input_details()) != expected:
            raise CorruptModelError(
                f"{self.folder}: the LiteRT network's inputs "
                f"{sorted(self._runner.get_input_details())} are not those of its model.json "
                f"{sorted(expected)}", "export the model again")
        self._lock = threading.Lock()

    def prepare(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The network's inputs: ids for attr_* strings, the saved dtypes for the rest."""
        out = {}
        for spec in self.inputs:
            name = spec["name"]
            if name not in raw:
                raise LTVError(f"input '{name}' of the light network is missing",
                               "build the inputs with the model's DeepInputSpec")
            if name in self.vocabularies:
                out[name] = artifact.string_ids(raw[name], self.vocabularies[name])
            else:
                out[name] = np.ascontiguousarray(raw[name], dtype=spec["dtype"])
        return out

    def logits(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        inputs = self.prepare(raw)
        n = len(next(iter(inputs.values()))) if inputs else 0
        parts = []
        with self._lock:
            for start in range(0, n, CHUNK):
                chunk = {k: v[start:start + CHUNK] for k, v in inputs.items()}
                parts.append(np.asarray(next(iter(self._runner(**chunk).values())),
                                        dtype=float))
        return np.concatenate(parts) if parts else np.empty((0, 3))


def read_light_dir(folder: Path) -> dict[str, Any]:
    """The light folder's model.json after its checksums are verified; a missing, partial or
    foreign folder is refused with what to do."""
    if not (folder / "model.json").is_file():
        raise CorruptModelError(
            f"{folder} holds no light-runtime export (no model.json)",
            "publish the model again with this ltv version (`ltv export`), which writes the "
            "LiteRT export next to the model")
    manifest = read_model_dir(folder)
    if manifest.get("family") != artifact.FAMILY:
        raise CorruptModelError(f"{folder} is not a light-runtime export (family "
                                f"{manifest.get('family')!r})", "point at <version>/light/")
    if manifest.get("artifact_format", 0) > artifact.FORMAT:
        raise CorruptModelError(f"{folder} was written by a newer ltv (light format "
                                f"{manifest.get('artifact_format')})", "upgrade ltv")
    if manifest.get("network_file") not in manifest.get("files", {}):
        raise CorruptModelError(f"{folder}: the network file is not listed in model.json",
                                "export the model again")
    return manifest
