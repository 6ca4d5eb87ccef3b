"""A deep model exported to LiteRT, the light runtime `ltv.runtime` serves without TensorFlow.

Chosen over ONNX Runtime on the numbers in benchmarks/RESULTS.md (light-runtime section):
per-row latency 2.6-6.8x lower (0.05-0.09 ms), the same parity, and no converter to install
(the TFLite converter ships with TensorFlow; ONNX needs tf2onnx, whose graph also turned the
network's NaN handling into NaN outputs).

`export_light(model, folder)` writes the folder described in `ltv.runtime.artifact`:
1. The network is rebuilt from its config for export, leaving the trained one untouched:
   the StringLookup layers are removed and their int64 outputs become the attr_* inputs
   (LiteRT has no string ops; `ltv.runtime` maps strings to ids in numpy with the same
   vocabulary and OOV rule), and the GRU is unrolled (`unroll=True`: a GRU loop converts
   to TF list ops that LiteRT lacks). Weights are copied layer by layer.
2. It is converted with TFLite builtin ops only, so a model that would need TF ops fails
   here, at export, not when the server loads it.
3. The converted network is checked against the Keras network on probe rows before
   anything is written; the folder is written atomically with checksums.
`export_light_members(model, folder)` does this for a deep model, or for each deep member
of an ensemble (`folder/<member>/`).
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ltv.errors import LTVError
from ltv.models.deep.inputs import CALENDAR
from ltv.models.persistence import write_model_dir
from ltv.runtime import artifact

PROBE_ROWS = 64
# Probe logits must agree to this (float32 through ~10 layers; measured ~3e-6).
PROBE_TOLERANCE = 1e-3
UNSEEN = "\x00unseen level"  # a probe string no vocabulary holds: id 0


def export_light(model, folder: str | Path) -> Path:
    """Write `model` (a fitted DeepModel) as a LiteRT light folder at `folder` (replaced
    atomically if it exists)."""
    if getattr(model, "family", None) != "deep":
        raise LTVError(f"only deep models export to LiteRT, not '{model.family}'",
                       "BTYD and GBDT models are served from their own saved folders")
    model._check_fitted()
    import tensorflow as tf

    network = model.network_
    light, vocabularies = light_network(network)
    names = list(light.input)
    signature = {name: tf.TensorSpec(light.input[name].shape, light.input[name].dtype,
                                     name=name) for name in names}
    with tempfile.TemporaryDirectory(prefix="ltv-litert-") as tmp:
        path = Path(tmp) / artifact.NETWORK_FILE
        light.export(str(path), format="litert", input_signature=[signature], verbose=False,
                     target_spec={"supported_ops": {tf.lite.OpsSet.TFLITE_BUILTINS}})
        flatbuffer = path.read_bytes()
    inputs = [{"name": name, "dtype": str(np.dtype(light.input[name].dtype)),
               "shape": list(light.input[name].shape)} for name in names]
    _check_probe(network, flatbuffer, inputs, vocabularies)
    meta = {"family": artifact.FAMILY, "class": artifact.CLASS, "runtime": artifact.RUNTIME,
            "artifact_format": artifact.FORMAT, "network_file": artifact.NETWORK_FILE,
            "signature": artifact.SIGNATURE, "inputs": inputs, "vocabularies": vocabularies,
            "deep": _deep_state(model), "libraries": _libraries()}

    def write(tmp: Path) -> None:
        (tmp / artifact.NETWORK_FILE).write_bytes(flatbuffer)

    return write_model_dir(folder, meta, write)


def export_light_members(model, folder: str | Path) -> list[str]:
    """Export a deep model to `folder`, or each deep member of an ensemble to
    `folder/<member name>/`; return the names exported (empty: nothing deep)."""
    folder = Path(folder)
    if model.family == "deep":
        export_light(model, folder)
        return [model.name]
    members = [m for m in getattr(model, "members_", []) if m.family == "deep"]
    for member in members:
        export_light(member, folder / member.name)
    return [m.name for m in members]


def light_network(network, unroll_gru: bool = True):
    """(a copy of `network` with int64 ids instead of strings and an unrolled GRU,
    {attr_* input: vocabulary}). The trained network is not modified. `unroll_gru=False`
    keeps the GRU's loop (benchmarks only: LiteRT cannot run it)."""
    import keras

    import ltv.models.deep.layers  # noqa: F401  (registers the custom layers)

    config = copy.deepcopy(network.get_config())
    sources, vocabularies, kept = {}, {}, []
    for layer in config["layers"]:
        if layer["class_name"] == "StringLookup":
            source = _history(layer["inbound_nodes"][0]["args"][0])[0]
            lookup = network.get_layer(layer["name"])
            settings = layer["config"]
            if settings.get("num_oov_indices") != 1 or settings.get("mask_token") is not None \
                    or settings.get("output_mode") != "int":
                raise LTVError(f"string lookup '{layer['name']}' is not the one-OOV int lookup "
                               "the light runtime reproduces", "retrain with this ltv version")
            sources[layer["name"]] = source
            vocabularies[source] = [str(v) for v in
                                    lookup.get_vocabulary(include_special_tokens=False)]
            continue
        kept.append(layer)
    for layer in kept:
        if layer["class_name"] == "InputLayer" and layer["name"] in vocabularies:
            layer["config"]["dtype"] = "int64"
        elif layer["class_name"] == "GRU":
            layer["config"]["unroll"] = unroll_gru
    _rewire(kept, sources)
    config["layers"] = kept
    light = keras.Model.from_config(config)
    for layer in light.layers:
        layer.set_weights(network.get_layer(layer.name).get_weights())
        if hasattr(layer, "finalize_state"):  # Normalization computes its mean/std here
            layer.finalize_state()
    return light, vocabularies


def _history(tensor: dict) -> list:
    return list(tensor["config"]["keras_history"])


def _rewire(node: Any, sources: dict[str, str]) -> None:
    """Point every reference to a removed lookup's output at its string input instead."""
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            history = _history(node)
            if history[0] in sources:
                node["config"]["keras_history"] = [sources[history[0]], 0, 0]
                node["config"]["dtype"] = "int64"
        for value in node.values():
            _rewire(value, sources)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _rewire(value, sources)


def _probe_inputs(inputs: list[dict], vocabularies: dict[str, list[str]]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for spec in inputs:
        shape = [PROBE_ROWS] + [int(d) for d in spec["shape"][1:]]
        name = spec["name"]
        if name in vocabularies:
            out[name] = rng.integers(0, len(vocabularies[name]) + 1, shape).astype(np.int64)
        elif name == CALENDAR:
            out[name] = rng.integers(1, 367, shape).astype(np.float32)
        else:
            out[name] = (np.exp(rng.normal(0, 2, shape)) * rng.choice([-1, 1, 1, 1], shape)
                         ).astype(np.float32)
    return out


def _check_probe(network, flatbuffer: bytes, inputs: list[dict],
                 vocabularies: dict[str, list[str]]) -> None:
    """LiteRT and Keras logits agree on random raw inputs, or the export fails."""
    from ltv.runtime.litert import run_flatbuffer

    probe = _probe_inputs(inputs, vocabularies)
    raw = {name: (np.array([[([UNSEEN] + vocabularies[name])[i] for i in row] for row in values],
                           dtype=object) if name in vocabularies else values)
           for name, values in probe.items()}
    import tensorflow as tf

    expected = np.asarray(network({k: tf.constant(v) for k, v in raw.items()}, training=False))
    got = run_flatbuffer(flatbuffer, probe)
    error = np.abs(got - expected) / (1.0 + np.abs(expected))
    if not np.all(np.isfinite(got)) or error.max() > PROBE_TOLERANCE:
        raise LTVError(f"the LiteRT export disagrees with the Keras network (max error "
                       f"{np.nanmax(error):.2e} on probe rows)",
                       "report this with the model folder; serve the SavedModel meanwhile")


def _deep_state(model) -> dict[str, Any]:
    """What DeepModel.predict needs besides the network (see ltv.runtime.deep)."""
    return {"class": type(model).__name__, "params": model.get_params(),
            "inputs": model.inputs_.to_dict(), "label_scale": float(model.label_scale_),
            "max_spend": float(model.max_spend_),
            "balance_factor": float(model.balance_factor_),
            "horizon_days": int(model.horizon_days_)}


def _libraries() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("tensorflow-cpu", "tensorflow", "keras", "ai-edge-litert"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
