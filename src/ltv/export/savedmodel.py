"""A deep model as a TF Serving SavedModel: raw feature values in, predictions out.

`export_savedmodel(model, folder)` writes `folder/saved_model.pb` (+ variables/), the layout
TF Serving loads from `<name>/<version>/`. Its `serving_default` signature takes the raw
inputs of `DeepInputSpec.to_inputs` (numeric, attr_* strings, sequence, calendar) and returns
`ltv`, `ltv_lo`, `ltv_hi` and `p_active`: the network's preprocessing layers and the model's
post-processing (ZILN mean and quantiles, label scale, cap, balance factor) are all inside
the graph, so a user's own TF Serving needs nothing from ltv. Computed in float32; the
in-memory model post-processes in float64 (parity to ~1e-6 relative).
"""

from __future__ import annotations

from pathlib import Path

from ltv.errors import LTVError
from ltv.models.deep.inputs import CALENDAR, NUMERIC, SEQUENCE
from ltv.models.deep.mixture import LOG_CAP, SIGMA_CAP, SIGMA_FLOOR

SIGNATURE = "serving_default"


def input_signature(spec) -> dict:
    import tensorflow as tf

    sig = {NUMERIC: tf.TensorSpec([None, len(spec.numeric)], tf.float32, name=NUMERIC)}
    for col in spec.categories:
        sig[col] = tf.TensorSpec([None, 1], tf.string, name=col)
    if spec.sequences:
        sig[SEQUENCE] = tf.TensorSpec([None, spec.weeks, len(spec.sequences)], tf.float32,
                                      name=SEQUENCE)
    if spec.calendar:
        sig[CALENDAR] = tf.TensorSpec([None, 1], tf.float32, name=CALENDAR)
    return sig


def export_savedmodel(model, folder: str | Path) -> Path:
    """Write `model` (a fitted DeepModel) as a SavedModel into `folder` (created if needed;
    other files may be there, an earlier SavedModel may not)."""
    import tensorflow as tf

    model._check_fitted()
    if getattr(model, "family", None) != "deep":
        raise LTVError(f"only deep models export to SavedModel, not '{model.family}'",
                       "BTYD and GBDT models are served from their own saved folders")
    folder = Path(folder)
    if (folder / "saved_model.pb").exists():
        raise LTVError(f"{folder} already holds a SavedModel", "export into a new folder")
    network = model.network_
    money = float(model.label_scale_)
    cap = float(model.max_spend_)
    factor = float(model.balance_factor_)
    tail = (1.0 - float(model.interval_level)) / 2.0
    names = list(input_signature(model.inputs_))

    def amount(log_value, p):
        return tf.minimum(tf.exp(tf.minimum(log_value, LOG_CAP)) * money, cap) * factor

    def quantile(q, p, mu, sigma):
        inner = tf.clip_by_value((q - (1.0 - p)) / tf.maximum(p, 1e-30), 1e-12, 1.0 - 1e-7)
        positive = amount(mu + sigma * tf.math.ndtri(inner), p)
        return tf.where(q <= 1.0 - p, tf.zeros_like(p), positive)

    @tf.function(input_signature=[input_signature(model.inputs_)])
    def serve(inputs):
        logits = network({k: inputs[k] for k in names}, training=False)
        p = tf.sigmoid(logits[:, 0])
        mu = logits[:, 1]
        sigma = tf.clip_by_value(tf.math.softplus(logits[:, 2]), SIGMA_FLOOR, SIGMA_CAP)
        ltv = tf.minimum(p * tf.exp(tf.minimum(mu + 0.5 * sigma ** 2, LOG_CAP)) * money,
                         cap) * factor
        lo = tf.minimum(quantile(tail, p, mu, sigma), ltv)
        hi = tf.maximum(quantile(1.0 - tail, p, mu, sigma), ltv)
        return {"ltv": ltv, "ltv_lo": lo, "ltv_hi": hi, "p_active": p}

    module = tf.Module()
    module.network = network
    module.serve = serve
    tf.saved_model.save(module, str(folder), signatures={SIGNATURE: serve})
    return folder

