"""The deep LTV network: raw feature values in, three ZILN logits out.

    numeric  -> SignedLog -> Normalization -> RangeClip ----------+
    attr_*   -> StringLookup -> Embedding (one per attribute) ----+
    sequence -> SignedLog -> Normalization -> RangeClip -> GRU and/or +-> concat = x0
                Dense -> PositionalEmbedding -> TransformerEncoder -> mean over weeks
    calendar -> (sin, cos) of the day of year -------------------+
    x0 -> Cross x `cross_layers` (DCN-v2) -> MLP (ReLU, dropout) -> Dense(3) = (l0, l1, l2)

Every preprocessing step is a layer adapted on the training rows, so the saved network takes
the raw inputs of `inputs.DeepInputSpec.to_inputs`. The output layer's bias starts at the
training labels' ZILN fit (positive rate, mean and spread of log spend), so training starts
from the right scale instead of spending epochs finding it.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from ltv.models.deep import layers as L
from ltv.models.deep.inputs import CALENDAR, NUMERIC, SEQUENCE, DeepInputSpec

ENCODERS = ("gru", "transformer", "both", "none")
CLIP_SD = 6.0  # no input is ever more than 6 standard deviations out


@dataclass(frozen=True)
class Architecture:
    hidden_units: tuple[int, ...]
    cross_layers: int
    sequence_encoder: str
    sequence_units: int
    attention_heads: int
    dropout: float
    gru_unroll: bool


def embedding_width(levels: int) -> int:
    """fast.ai's rule of thumb, 1.6 * n^0.56, capped at 16 for small tabular data."""
    return int(min(16, max(2, round(1.6 * (levels + 1) ** 0.56))))


def build_network(spec: DeepInputSpec, arch: Architecture, adapt: dict[str, np.ndarray],
                  y_scaled: np.ndarray) -> keras.Model:
    """A new network whose preprocessing is adapted on `adapt` (training inputs) and whose
    output bias starts at the ZILN fit of `y_scaled` (unit-free training labels, >= 0)."""
    inputs, parts = {}, []
    if spec.numeric:
        inputs[NUMERIC] = keras.Input(shape=(len(spec.numeric),), name=NUMERIC)
        parts.append(_normalized(inputs[NUMERIC], adapt[NUMERIC], "numeric"))
    for col, levels in spec.categories.items():
        inputs[col] = keras.Input(shape=(1,), dtype="string", name=col)
        lookup = keras.layers.StringLookup(vocabulary=levels or [""], num_oov_indices=1,
                                           name=f"{col}_lookup")
        embed = keras.layers.Embedding(lookup.vocabulary_size(),
                                       embedding_width(len(levels)), name=f"{col}_embedding")
        parts.append(keras.layers.Flatten(name=f"{col}_flat")(embed(lookup(inputs[col]))))
    if spec.sequences and arch.sequence_encoder != "none":
        inputs[SEQUENCE] = keras.Input(shape=(spec.weeks, len(spec.sequences)), name=SEQUENCE)
        parts.extend(_sequence_encoders(
            _normalized(inputs[SEQUENCE], adapt[SEQUENCE], "sequence"), arch))
    if spec.calendar:
        inputs[CALENDAR] = keras.Input(shape=(1,), name=CALENDAR)
        parts.append(L.CalendarEncoding(name="calendar_encoding")(inputs[CALENDAR]))
    x0 = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="features")(parts)
    x = x0
    for i in range(arch.cross_layers):
        x = L.Cross(name=f"cross_{i}")([x0, x])
    for i, units in enumerate(arch.hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
        if arch.dropout > 0:
            x = keras.layers.Dropout(arch.dropout, seed=i, name=f"dropout_{i}")(x)
    head = keras.layers.Dense(3, name="ziln_logits")
    network = keras.Model(inputs=inputs, outputs=head(x), name="ltv_ziln")
    head.bias.assign(initial_bias(y_scaled))
    return network


def initial_bias(y: np.ndarray) -> np.ndarray:
    """(logit of P(y > 0), mean log y, softplus^-1 of std log y) over the positive labels."""
    y = np.asarray(y, dtype=float)
    positive = y[y > 0]
    rate = np.clip(positive.size / max(y.size, 1), 1e-4, 1 - 1e-4)
    logs = np.log(positive) if positive.size else np.zeros(1)
    spread = max(float(logs.std()), 0.1)
    return np.array([np.log(rate / (1 - rate)), logs.mean(), np.log(np.expm1(spread))],
                    dtype=np.float32)


def _normalized(x, values: np.ndarray, name: str):
    """signed log -> standardize -> clip to the training range (at most +-CLIP_SD)."""
    signed_log = L.SignedLog(name=f"{name}_signed_log")
    normalize = keras.layers.Normalization(axis=-1, name=f"{name}_normalization")
    logged = np.asarray(signed_log(values))
    normalize.adapt(logged)
    seen = np.asarray(normalize(logged)).reshape(-1, logged.shape[-1])
    lower = np.maximum(seen.min(axis=0), -CLIP_SD) if len(seen) else np.full(seen.shape[1], -CLIP_SD)
    upper = np.minimum(seen.max(axis=0), CLIP_SD) if len(seen) else np.full(seen.shape[1], CLIP_SD)
    return L.RangeClip(lower, upper, name=f"{name}_clip")(normalize(signed_log(x)))


def _sequence_encoders(seq, arch: Architecture) -> list:
    encoded = []
    if arch.sequence_encoder in ("gru", "both"):
        # unroll=True exports to LiteRT without TF ops (see DESIGN.md); 52 weeks unroll fine.
        encoded.append(keras.layers.GRU(arch.sequence_units, unroll=arch.gru_unroll,
                                        name="gru")(seq))
    if arch.sequence_encoder in ("transformer", "both"):
        x = keras.layers.Dense(arch.sequence_units, name="week_projection")(seq)
        x = L.PositionalEmbedding(name="week_positions")(x)
        x = L.TransformerEncoder(arch.sequence_units, arch.attention_heads, arch.dropout,
                                 name="transformer")(x)
        encoded.append(keras.layers.GlobalAveragePooling1D(name="transformer_pool")(x))
    return encoded
