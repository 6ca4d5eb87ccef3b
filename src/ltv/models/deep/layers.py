"""Custom Keras layers and the ZILN loss. Importing this module imports TensorFlow/Keras.

Each layer is registered as serializable, so a saved `.keras` network reloads without extra
arguments, and written with `keras.ops` only, so it is backend-neutral and exportable.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from ltv.models.deep.mixture import SIGMA_CAP, SIGMA_FLOOR

PACKAGE = "ltv"


@keras.saving.register_keras_serializable(package=PACKAGE)
class SignedLog(keras.layers.Layer):
    """sign(x) * log1p(|x|), with NaN and infinities mapped to 0 first.

    Money, counts and day gaps are heavy-tailed and can be negative (net of returns); a signed
    log makes them comparable before normalization, and a spend of 10,000 does not saturate
    the network. A missing value becomes 0, the value of "no activity" for most features.
    """

    def call(self, x):
        x = ops.where(ops.isfinite(x), x, ops.zeros_like(x))
        return ops.sign(x) * ops.log1p(ops.abs(x))


@keras.saving.register_keras_serializable(package=PACKAGE)
class RangeClip(keras.layers.Layer):
    """Clips each input channel (last axis) to the range it had in training.

    A network extrapolates linearly, and far: with a short history, later windows carry
    values never seen in training (tenure, 180-day spend, ...), and the unclipped network
    produced absurd outputs for them (measured: overflowing expected spend on Online Retail,
    a validation loss that rose from the first epoch on Complete Journey). Clipping to the
    training range makes the network hold its edge value, as a tree does. Chosen on the
    validation window (Complete Journey: best ZILN loss 0.545 with it, 0.991 with a plain
    +-6 sd clip). The price: customers beyond the range tie on that input, which cost
    ranking on that dataset's holdout, whose snapshot has a longer history than any window.
    """

    def __init__(self, lower, upper, **kwargs):
        super().__init__(**kwargs)
        self.lower = [float(v) for v in lower]
        self.upper = [float(v) for v in upper]

    def call(self, x):
        return ops.clip(x, ops.convert_to_tensor(self.lower, x.dtype),
                        ops.convert_to_tensor(self.upper, x.dtype))

    def get_config(self):
        return {**super().get_config(), "lower": self.lower, "upper": self.upper}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CalendarEncoding(keras.layers.Layer):
    """Day of year (1..366) -> (sin, cos) on the yearly circle, so Dec 31 is next to Jan 1."""

    def call(self, day):
        angle = (ops.cast(day, "float32") - 1.0) * (2.0 * math.pi / 365.25)
        return ops.concatenate([ops.sin(angle), ops.cos(angle)], axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Cross(keras.layers.Layer):
    """One DCN-v2 cross layer (Wang et al. 2021): x_{l+1} = x0 * (W x_l + b) + x_l.

    Called on [x0, x_l]; learns explicit feature interactions of growing degree, which an MLP
    approximates only with many units.
    """

    def build(self, input_shape):
        width = input_shape[0][-1]
        self.dense = keras.layers.Dense(width, kernel_initializer="glorot_uniform")
        self.dense.build(input_shape[1])

    def call(self, inputs):
        x0, x = inputs
        return x0 * self.dense(x) + x


@keras.saving.register_keras_serializable(package=PACKAGE)
class PositionalEmbedding(keras.layers.Layer):
    """Adds a learned vector per position (week) to a (batch, weeks, width) sequence."""

    def build(self, input_shape):
        self.positions = self.add_weight(name="positions", shape=tuple(input_shape[1:]),
                                         initializer=keras.initializers.RandomNormal(stddev=0.02))

    def call(self, x):
        return x + self.positions


@keras.saving.register_keras_serializable(package=PACKAGE)
class TransformerEncoder(keras.layers.Layer):
    """One post-norm Transformer encoder block: self-attention, then a feed-forward layer."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.width, self.heads, self.dropout = width, heads, dropout

    def build(self, input_shape):
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=self.heads, key_dim=max(self.width // self.heads, 1), dropout=self.dropout)
        self.attention.build(input_shape, input_shape)
        self.norm1 = keras.layers.LayerNormalization()
        self.norm1.build(input_shape)
        self.ff1 = keras.layers.Dense(2 * self.width, activation="relu")
        self.ff1.build(input_shape)
        self.ff2 = keras.layers.Dense(self.width)
        self.ff2.build(tuple(input_shape[:-1]) + (2 * self.width,))
        self.norm2 = keras.layers.LayerNormalization()
        self.norm2.build(input_shape)

    def call(self, x, training=None):
        x = self.norm1(x + self.attention(x, x, training=training))
        return self.norm2(x + self.ff2(self.ff1(x)))

    def get_config(self):
        return {**super().get_config(), "width": self.width, "heads": self.heads,
                "dropout": self.dropout}


@keras.saving.register_keras_serializable(package=PACKAGE)
def ziln_loss(y_true, logits):
    """Mean ZILN negative log-likelihood (Wang et al. 2019), `logits` (batch, 3).

    Binary cross-entropy of (y > 0) on l0, plus for positive labels the lognormal negative
    log density with mu = l1 and sigma = clip(softplus(l2), SIGMA_FLOOR, SIGMA_CAP) (see
    `mixture` for why the cap). Labels must be >= 0
    and in a unit-free scale (the model divides money by its label scale).
    """
    y = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    l0, mu, l2 = logits[:, 0], logits[:, 1], logits[:, 2]
    positive = ops.cast(y > 0.0, "float32")
    bce = ops.softplus(l0) - positive * l0
    sigma = ops.clip(ops.softplus(l2), SIGMA_FLOOR, SIGMA_CAP)
    log_y = ops.log(ops.where(y > 0.0, y, ops.ones_like(y)))
    nll = (log_y + ops.log(sigma) + 0.5 * math.log(2.0 * math.pi)
           + 0.5 * ops.square((log_y - mu) / sigma))
    return ops.mean(bce + positive * nll)
