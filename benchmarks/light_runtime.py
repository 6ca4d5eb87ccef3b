"""Light runtimes for the deep network: LiteRT against ONNX Runtime, per sequence encoder.

For each encoder (gru, transformer, both) a DeepModel is fitted on a simulated shop (52-week
sequences, attr_* attributes). Its network is exported twice, from the same export network
(`ltv.export.litert.light_network`: attr_* strings -> int64 ids outside the network, GRU
unrolled):
- LiteRT: `ltv.export.litert.export_light` (TFLite builtin ops only);
- ONNX: Keras' `model.export(format="onnx")` (tf2onnx). It needs two more rewrites, both
  measured here: Normalization's mean/variance become variables (tf2onnx left them as unfed
  graph inputs) and SignedLog avoids Log1p (no ONNX op); its graph also turns
  where(isfinite(x), x, 0) into arithmetic that keeps NaN, so NaN inputs are zeroed in numpy
  before the call (the rows with a missing feature came out NaN otherwise).
A GRU exported as-is (not unrolled) is tried too: LiteRT cannot run it (TF list ops), ONNX
runs it as a Loop.

Each runtime runs in a fresh subprocess that never imports TensorFlow (checked), with one
thread, and reports: RSS after loading the model (and the libraries it needs), per-row
latency (1 row, p50/p99 over --calls calls, network call on prepared inputs), throughput on
--batch rows, and the max abs/rel error of ltv, ltv_lo, ltv_hi and p_active against
DeepModel.predict on the same rows (the post-processing is DeepModel's own code for both).

    python benchmarks/light_runtime.py [--customers 5000] [--calls 3000] [--batch 10000]

Needs `pip install onnxruntime tf2onnx onnx` (the `bench` extra) besides ltv[deep].
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ENCODERS = ("gru", "transformer", "both")
COLUMNS = ("ltv", "ltv_lo", "ltv_hi", "p_active")


# ---- worker: one runtime, one model, no TensorFlow ------------------------------------------
def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmHWM: its peak since exec), MB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class OnnxNetwork:
    """`logits(raw inputs)` with ONNX Runtime: the same ids as LiteRT, NaN zeroed first."""

    def __init__(self, path: Path, vocabularies: dict[str, list[str]]):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]
        self.vocabularies = vocabularies

    def prepare(self, raw):
        from ltv.runtime.artifact import string_ids

        out = {}
        for name in self.names:
            if name in self.vocabularies:
                out[name] = string_ids(raw[name], self.vocabularies[name])
            else:
                x = np.asarray(raw[name], dtype=np.float32)
                out[name] = np.where(np.isfinite(x), x, np.float32(0))
        return out

    def run(self, inputs):
        return self.session.run(None, inputs)[0]

    def logits(self, raw):
        return np.asarray(self.run(self.prepare(raw)), dtype=float)


class LiteRTRunner:
    def __init__(self, network):
        self.network = network

    def prepare(self, raw):
        return self.network.prepare(raw)

    def run(self, inputs):
        return next(iter(self.network._runner(**inputs).values()))


def worker(args) -> None:
    base = rss_mb()
    work = Path(args.work)
    features = pd.read_pickle(work / "features.pkl")
    expected = pd.read_pickle(work / f"expected_{args.encoder}.pkl")
    light = work / f"light_{args.encoder}"
    data_rss = rss_mb()
    t0 = time.perf_counter()
    from ltv.runtime.deep import LightDeepModel

    state = json.loads((light / "model.json").read_text())
    if args.runtime == "litert":
        model = LightDeepModel.load(light)
        runner = LiteRTRunner(model.network_)
    else:
        network = OnnxNetwork(work / f"{args.encoder}_{args.variant}.onnx",
                              state["vocabularies"])
        model = LightDeepModel.from_state(state["deep"], network)
        runner = network
    raw = model.inputs_.to_inputs(features.iloc[:1])
    one = runner.prepare(raw)
    runner.run(one)
    load_s = time.perf_counter() - t0
    loaded_rss = rss_mb() - data_rss + base  # the model and runtime, not the test data
    got = model.predict(features)
    errors = {}
    for col in COLUMNS:
        a, b = got[col].to_numpy(), expected[col].to_numpy()
        errors[col] = [float(np.nanmax(np.abs(a - b))) if np.isfinite(a).all() else float("nan"),
                       float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6)))
                       if np.isfinite(a).all() else float("nan")]
    for _ in range(100):
        runner.run(one)
    times = []
    for _ in range(args.calls):
        t = time.perf_counter()
        runner.run(one)
        times.append(time.perf_counter() - t)
    big = features.iloc[np.arange(args.batch) % len(features)]
    batch = runner.prepare(model.inputs_.to_inputs(big))
    t = time.perf_counter()
    for start in range(0, args.batch, 2048):  # as ltv.runtime.litert does
        runner.run({k: v[start:start + 2048] for k, v in batch.items()})
    batch_s = time.perf_counter() - t
    print(json.dumps({
        "runtime": args.runtime, "encoder": args.encoder, "variant": args.variant,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "rss_mb": round(loaded_rss, 1), "runtime_mb": round(loaded_rss - base, 1),
        "base_mb": round(base, 1), "peak_rss_mb": round(rss_mb("VmHWM"), 1),
        "load_s": round(load_s, 3),
        "p50_ms": float(np.percentile(times, 50) * 1e3), "p99_ms": float(
            np.percentile(times, 99) * 1e3),
        "rows_per_s": args.batch / batch_s, "errors": errors}))


# ---- main: fit, export, spawn the workers -------------------------------------------------
def onnx_network(network, unroll_gru: bool = True):
    """The export network with the two extra rewrites ONNX needs (see module docstring)."""
    import keras
    from keras import ops

    from ltv.export.litert import light_network

    @keras.saving.register_keras_serializable(package="ltv_bench")
    class OnnxNormalization(keras.layers.Layer):
        def __init__(self, mean, variance, **kwargs):
            super().__init__(**kwargs)
            self.mean_value = np.asarray(mean, dtype="float32")
            self.variance_value = np.asarray(variance, dtype="float32")

        def build(self, shape):
            self.m = self.add_weight(name="mean", shape=self.mean_value.shape, trainable=False,
                                     initializer=keras.initializers.Constant(self.mean_value))
            self.v = self.add_weight(
                name="variance", shape=self.variance_value.shape, trainable=False,
                initializer=keras.initializers.Constant(self.variance_value))

        def call(self, x):  # keras.layers.Normalization's formula
            return (x - self.m) / ops.maximum(ops.sqrt(self.v), keras.backend.epsilon())

        def get_config(self):
            return {**super().get_config(), "mean": self.mean_value.tolist(),
                    "variance": self.variance_value.tolist()}

    @keras.saving.register_keras_serializable(package="ltv_bench")
    class OnnxSignedLog(keras.layers.Layer):
        def call(self, x):  # log1p(a) = log(u) * a / (u - 1), u = 1 + a (Goldberg)
            x = ops.where(ops.isfinite(x), x, ops.zeros_like(x))
            a = ops.abs(x)
            u = 1.0 + a
            safe = ops.where(u == 1.0, ops.full_like(u, 2.0), u)
            return ops.sign(x) * ops.where(u == 1.0, a, ops.log(safe) * a / (safe - 1.0))

    light, _ = light_network(network, unroll_gru)
    config = copy.deepcopy(light.get_config())
    for layer in config["layers"]:
        if layer["class_name"] == "Normalization":
            source = light.get_layer(layer["name"])
            layer.update(class_name="OnnxNormalization", module=None,
                         registered_name="ltv_bench>OnnxNormalization",
                         config={"name": layer["name"],
                                 "mean": np.asarray(source.mean).tolist(),
                                 "variance": np.asarray(source.variance).tolist()})
        elif layer["class_name"] == "SignedLog":
            layer.update(class_name="OnnxSignedLog", module=None,
                         registered_name="ltv_bench>OnnxSignedLog")
    onnx_net = keras.Model.from_config(config)
    for layer in onnx_net.layers:
        if not isinstance(layer, OnnxNormalization):
            layer.set_weights(light.get_layer(layer.name).get_weights())
    return onnx_net


def signature(net):
    import tensorflow as tf

    return [{k: tf.TensorSpec(v.shape, v.dtype, name=k) for k, v in net.input.items()}]


def prepare(args, work: Path) -> dict:
    import tensorflow as tf

    from ltv.export.litert import export_light
    from ltv.models.deep import DeepModel
    from ltv.models.training_data import build_training_data
    from ltv.simulate import simulate

    shop = work / "shop"
    simulate(args.customers, shop, start="2022-01-01", end="2023-06-30", seed=1)
    data = build_training_data(None, "2023-04-01", 60, transactions=shop / "transactions",
                               customers=shop / "customers.parquet", max_windows=2)
    features = data.snapshot
    features.to_pickle(work / "features.pkl")
    info = {"rows": len(features), "training_rows": len(data.windows),
            "numeric": None, "weeks": None, "fit_s": {}, "export_s": {}}
    for encoder in ENCODERS:
        t = time.perf_counter()
        model = DeepModel(sequence_encoder=encoder, max_epochs=args.epochs, patience=2).fit(data)
        info["fit_s"][encoder] = round(time.perf_counter() - t, 1)
        info["numeric"], info["weeks"] = len(model.inputs_.numeric), model.inputs_.weeks
        info["attributes"] = list(model.inputs_.categories)
        model.predict(features).to_pickle(work / f"expected_{encoder}.pkl")
        t = time.perf_counter()
        export_light(model, work / f"light_{encoder}")
        info["export_s"][f"litert/{encoder}"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        net = onnx_network(model.network_)
        net.export(str(work / f"{encoder}_unrolled.onnx"), format="onnx",
                   input_signature=signature(net), verbose=False)
        info["export_s"][f"onnx/{encoder}"] = round(time.perf_counter() - t, 1)
        if encoder == "gru":
            from ltv.export.litert import light_network

            loop, _ = light_network(model.network_, unroll_gru=False)
            net = onnx_network(model.network_, unroll_gru=False)
            net.export(str(work / "gru_loop.onnx"), format="onnx",
                       input_signature=signature(net), verbose=False)
            try:
                loop.export(str(work / "gru_loop.tflite"), format="litert",
                            input_signature=signature(loop), verbose=False,
                            target_spec={"supported_ops": {tf.lite.OpsSet.TFLITE_BUILTINS}})
                info["litert_loop"] = "converted"
            except Exception as err:  # noqa: BLE001  (recorded, it is the finding)
                info["litert_loop"] = f"conversion fails with builtins only: {type(err).__name__}"
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--work", default=None)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--runtime", choices=("litert", "onnx"))
    parser.add_argument("--encoder", choices=ENCODERS)
    parser.add_argument("--variant", default="unrolled", choices=("unrolled", "loop"))
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    work = Path(args.work or tempfile.mkdtemp(prefix="ltv-light-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    info = prepare(args, work)
    print(json.dumps(info), flush=True)
    runs = [(r, e, "unrolled") for e in ENCODERS for r in ("litert", "onnx")]
    runs.append(("onnx", "gru", "loop"))
    for runtime, encoder, variant in runs:
        cmd = [sys.executable, __file__, "--worker", "--work", str(work), "--runtime", runtime,
               "--encoder", encoder, "--variant", variant, "--calls", str(args.calls),
               "--batch", str(args.batch)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode or not lines:
            print(json.dumps({"runtime": runtime, "encoder": encoder, "variant": variant,
                              "failed": done.stderr.strip().splitlines()[-1:]}), flush=True)
        else:
            print(lines[-1], flush=True)
    print(json.dumps({"python": platform.python_version(), "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
