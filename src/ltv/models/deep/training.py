"""Fitting a network: early stopping on the time-based validation rows, then a refit.

1. Stage 1 trains on the earlier windows whose labels end by the latest window's origin
   (a gap of one horizon; every earlier window when none ends that early) and stops when the
   ZILN loss on the latest window (`labels.holdout_split`) has not improved for `patience`
   epochs; the best epoch's weights are kept. The latest window is later than everything
   stage 1 learned from, as the future will be for the final model.
2. With `refit`, a fresh network (same seed, preprocessing adapted on all rows) trains on
   ALL windows for exactly the best epoch count: the latest window is the most relevant one
   to the future and should not be left out of the final model.
A warm start passes a `build` that returns `copy_network(champion's network)` to both stages.
TensorBoard logs of both stages go under `log_dir` (stage1/ and refit/).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ltv.errors import LTVError
from ltv.models.deep.layers import ziln_loss


@dataclass(frozen=True)
class Schedule:
    learning_rate: float
    batch_size: int
    max_epochs: int
    patience: int
    seed: int
    jit_compile: bool


@dataclass
class Trained:
    network: keras.Model
    best_epoch: int
    history: dict[str, list[float]]


def as_dataset(inputs: dict[str, np.ndarray], y: np.ndarray | None = None, *,
               batch_size: int, shuffle_seed: int | None = None):
    """A tf.data pipeline over the input dict. Keras' array adapter refuses string arrays,
    which the attr_* inputs are; tf.data turns them into tf.string."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices(inputs if y is None else (inputs, y))
    if shuffle_seed is not None:
        data = data.shuffle(len(next(iter(inputs.values()))), seed=shuffle_seed,
                            reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(2)


def copy_network(network: keras.Model) -> keras.Model:
    """An independent copy of `network` (architecture, adapted preprocessing, weights),
    through the .keras format models are saved in: a warm start trains the copy, and the
    champion it came from keeps predicting as before."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ltv-warm-") as tmp:
        path = Path(tmp) / "network.keras"
        network.save(path)
        return keras.saving.load_model(path, compile=False)


def select(inputs: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[mask] for name, values in inputs.items()}


def train(build: Callable[[dict, np.ndarray], keras.Model], inputs: dict[str, np.ndarray],
          y: np.ndarray, valid: np.ndarray | None, schedule: Schedule, log_dir: Path | None,
          stage: str, epochs: int | None = None, train: np.ndarray | None = None) -> Trained:
    """Train `build(train_inputs, train_labels)` on the `train` rows (default: the rows outside
    `valid`, or all rows when `valid` is None, for `epochs` epochs); with `valid`, early
    stopping on those rows."""
    keras.utils.set_random_seed(schedule.seed)
    if train is not None:
        train_rows = np.asarray(train, dtype=bool)
    else:
        train_rows = ~valid if valid is not None else np.ones(len(y), dtype=bool)
    x_train, y_train = select(inputs, train_rows), y[train_rows]
    network = build(x_train, y_train)
    network.compile(optimizer=keras.optimizers.Adam(schedule.learning_rate, clipnorm=1.0),
                    loss=ziln_loss, jit_compile=schedule.jit_compile)
    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
    validation_data = None
    if valid is not None:
        validation_data = as_dataset(select(inputs, valid), y[valid], batch_size=4096)
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=schedule.patience, restore_best_weights=True))
    if log_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir / stage),
                                                     histogram_freq=0, write_graph=False))
    batches = as_dataset(x_train, y_train, batch_size=schedule.batch_size,
                         shuffle_seed=schedule.seed)
    fit = network.fit(batches, validation_data=validation_data,
                      epochs=epochs or schedule.max_epochs, callbacks=callbacks, verbose=0,
                      shuffle=False)  # the dataset shuffles itself, seeded
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    losses = history.get("val_loss") or history["loss"]
    if not np.isfinite(losses).any():
        raise LTVError("the deep model's training loss is not finite",
                       "lower learning_rate, or check the features for extreme values")
    best = int(np.nanargmin(losses)) + 1 if valid is not None else len(losses)
    return Trained(network=network, best_epoch=best, history=history)
