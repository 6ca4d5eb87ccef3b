"""`DeepModel`: a Keras 3 network with a zero-inflated lognormal head (Wang et al. 2019).

Inputs are the point-in-time feature table: numeric features through an MLP with optional
DCN cross layers, the weekly seq_* sequences through a GRU and/or a Transformer encoder,
attr_* categoricals through embeddings (see `network`). Preprocessing lives in the network,
so the saved `network.keras` takes raw feature values.

Money. Labels are spend over the horizon clipped at 0, divided by `label_scale_` (the mean
clipped training label) before training: the network always learns unit-free spend of order
1, so spends of 10,000 train exactly like spends of 10. Predictions are multiplied back.
The ZILN mean, like any log-link fit, does not keep the total; `balance_factor_` (sum of
labels / sum of predictions over the training rows) restores it without changing ranks.

Outputs: ltv = E[spend] of the mixture x scale x balance; ltv_lo/ltv_hi = the mixture's
(1 -/+ interval_level) / 2 quantiles, scaled the same way; p_active = P(spend > 0).

Warm start. `fit(data, init_model=champion)` starts both training stages from a copy of a
fitted model's network (weights and adapted preprocessing) instead of a new one, and trains at
most WARM_START_EPOCHS epochs: the champion already knows the shop, the new windows move it.
Its input spec and label unit are kept, so its weights still mean the same.

TensorFlow is imported only when a deep model is fitted, used or loaded, so the rest of
ltv stays light (the first TF import costs ~5 s and ~500 MB).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ltv.errors import ConfigError, LTVError
from ltv.models.deep.inputs import DeepInputSpec
from ltv.models.deep.mixture import ZILN
from ltv.models.labels import balance_factor, check_windows, clipped_spend, holdout_split, \
    label_scale
from ltv.models.persistence import read_model_dir, write_model_dir
from ltv.models.protocol import LTVModel, TrainingData
from ltv.models.warm_start import column_change, family_mismatch

NETWORK_FILE = "network.keras"
LOGS = "logs"
PREDICT_BATCH = 4096
WARM_START_EPOCHS = 5  # at most, from the champion's weights (early stopping may keep fewer)
# Hyperparameters that shape the network: a warm start needs them equal to the champion's.
ARCHITECTURE = ("hidden_units", "cross_layers", "sequence_encoder", "sequence_units",
                "attention_heads", "dropout", "gru_unroll", "calendar_features")


def require_tensorflow() -> None:
    try:
        import keras  # noqa: F401
    except ImportError:
        raise LTVError("the deep family needs TensorFlow, which is not installed",
                       "pip install 'ltv[deep]' (tensorflow-cpu), or pick --models btyd,gbdt"
                       ) from None


class DeepModel(LTVModel):
    """Learned attributes: `network_` (keras.Model), `inputs_` (DeepInputSpec),
    `feature_names_`, `label_scale_`, `max_spend_` (largest training label, the cap on
    predictions), `balance_factor_`, `best_epoch_`, `history_` (losses
    per epoch of both stages), `validation_` (out-of-sample diagnostics of stage 1 on the
    latest window), `horizon_days_`, `log_dir_` (TensorBoard logs), `warm_start_` (None for a
    fresh fit, else {"epochs": epochs trained from the champion's weights})."""

    family = "deep"

    def __init__(self, hidden_units: tuple[int, ...] = (64, 32), cross_layers: int = 2,
                 sequence_encoder: str = "gru", sequence_units: int = 32,
                 attention_heads: int = 2, dropout: float = 0.1, learning_rate: float = 2e-3,
                 batch_size: int = 512, max_epochs: int = 60, patience: int = 5,
                 refit: bool = True, interval_level: float = 0.8,
                 calendar_features: bool = True, gru_unroll: bool = False,
                 jit_compile: bool = False, log_dir: str | None = None,
                 alias: str | None = None, seed: int = 0):
        # Tuples and strings, so get_params survives the JSON manifest unchanged.
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.cross_layers = cross_layers
        self.sequence_encoder = sequence_encoder
        self.sequence_units = sequence_units
        self.attention_heads = attention_heads
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.refit = refit
        self.interval_level = interval_level
        self.calendar_features = calendar_features
        self.gru_unroll = gru_unroll
        self.jit_compile = jit_compile
        self.log_dir = None if log_dir is None else str(log_dir)
        self.alias = alias
        self.seed = seed

    # ---- fit ------------------------------------------------------------------------------
    def fit(self, data: TrainingData, init_model: "DeepModel | None" = None) -> "DeepModel":
        """Fit on `data`; with `init_model` (a fitted DeepModel of the same architecture),
        both stages start from a copy of its network (see the module docstring)."""
        self._check_params()
        require_tensorflow()
        from ltv.models.deep import training
        from ltv.models.deep.network import build_network

        frame = check_windows(data.windows)
        if init_model is not None:
            problem = self.warm_start_problem(init_model, data)
            if problem:
                raise ConfigError(f"cannot warm-start from the given deep model: {problem}",
                                  "fit without init_model (a fresh fit)")
            spec, scale = init_model.inputs_, init_model.label_scale_
        else:
            spec = DeepInputSpec.learn(frame, calendar=self.calendar_features,
                                       sequences=self.sequence_encoder != "none")
            scale = label_scale(frame)
        inputs = spec.to_inputs(frame)
        y = (clipped_spend(frame) / scale).astype(np.float32)
        split = holdout_split(frame, data.horizon_days)
        arch = self._architecture()
        epochs = self.max_epochs if init_model is None else min(self.max_epochs,
                                                                 WARM_START_EPOCHS)
        schedule = training.Schedule(self.learning_rate, self.batch_size, epochs,
                                     self.patience, self.seed, self.jit_compile)
        logs = self._fit_log_dir()

        def build(x, labels):
            if init_model is not None:
                return training.copy_network(init_model.network_)
            return build_network(spec, arch, x, labels)

        stage1 = training.train(build, inputs, y, split.valid, schedule, logs, "stage1",
                                train=split.train)
        validation = self._validation(stage1.network, inputs, frame, split, scale)
        final = stage1
        if self.refit:
            final = training.train(build, inputs, y, None, schedule, logs, "refit",
                                   epochs=stage1.best_epoch)
        max_spend, factor = self._calibration(final.network, inputs, clipped_spend(frame), scale)
        self.network_ = final.network
        self.inputs_ = spec
        self.feature_names_ = spec.required_columns
        self.label_scale_ = scale
        self.max_spend_ = max_spend
        self.balance_factor_ = factor
        self.best_epoch_ = stage1.best_epoch
        self.history_ = {"stage1": stage1.history,
                         "refit": final.history if self.refit else {}}
        self.validation_ = validation
        self.horizon_days_ = int(data.horizon_days)
        self.log_dir_ = str(logs)
        self.warm_start_ = None if init_model is None else {"epochs": stage1.best_epoch}
        return self

    def warm_start_problem(self, champion, data: TrainingData) -> str | None:
        """Why this model cannot start from `champion`'s network on `data`, or None: it must
        be a fitted deep model with the same architecture and the same input columns."""
        mismatch = family_mismatch(champion, self.family)
        if mismatch:
            return mismatch
        for name in ARCHITECTURE:
            if getattr(self, name) != getattr(champion, name):
                return (f"{name} differs (champion {getattr(champion, name)!r}, "
                        f"challenger {getattr(self, name)!r})")
        new = DeepInputSpec.learn(check_windows(data.windows), calendar=self.calendar_features,
                                  sequences=self.sequence_encoder != "none")
        old = champion.inputs_
        if new.weeks != old.weeks:
            return f"the sequences have {new.weeks} weeks, the champion's {old.weeks}"
        return column_change(old.required_columns, new.required_columns)

    def _calibration(self, network, inputs: dict[str, np.ndarray], labels: np.ndarray,
                     scale: float) -> tuple[float, float]:
        """(max_spend, balance factor) of `network` on the rows it was trained on: the cap
        is their largest clipped label, the factor makes the capped predictions' total
        match the labels' total."""
        max_spend = float(labels.max()) or scale
        pred = np.minimum(ZILN.from_logits(self._logits(network, inputs)).mean() * scale,
                          max_spend)
        return max_spend, balance_factor(labels, pred)

    def _validation(self, network, inputs, frame, split, scale) -> dict[str, Any]:
        from ltv.models.deep.training import select

        valid = frame[split.valid]
        dist = ZILN.from_logits(self._logits(network, select(inputs, split.valid)))
        max_spend, factor = self._calibration(network, select(inputs, split.train),
                                              clipped_spend(frame[split.train]), scale)
        pred, lo, hi = self._money(dist, scale, max_spend, factor)
        y = valid["label_spend"].to_numpy(dtype=float)
        return {"split": split.how, "rows": int(split.valid.sum()),
                "train_rows": int(split.train.sum()), "mean_pred": float(pred.mean()),
                "mean_label": float(y.mean()),
                "coverage": float(np.mean((y >= np.minimum(lo, pred))
                                          & (y <= np.maximum(hi, pred))))}

    def _fit_log_dir(self) -> Path:
        if self.log_dir is not None:
            return Path(self.log_dir)
        # Kept until the model is garbage-collected; `save` copies the logs into the folder.
        self._logs_tmp = tempfile.TemporaryDirectory(prefix="ltv-deep-logs-")
        return Path(self._logs_tmp.name)

    # ---- predict --------------------------------------------------------------------------
    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        self._check_fitted()
        self._check_features(features, self.inputs_.required_columns)
        if len(features) == 0:
            empty = np.empty(0)
            return self._frame(features, empty, empty, empty, empty)
        dist = ZILN.from_logits(self._logits(self.network_, self.inputs_.to_inputs(features)))
        ltv, lo, hi = self._money(dist, self.label_scale_, self.max_spend_,
                                  self.balance_factor_)
        return self._frame(features, ltv, lo, hi, dist.p)

    def _money(self, dist: ZILN, scale: float, max_spend: float, factor: float):
        """(ltv, lo, hi) in currency: unit-free values x scale, capped at the largest
        training label, x the balance factor. The cap guards against the lognormal mean's
        exp(sigma^2 / 2): a customer far outside the training data can otherwise be
        predicted to spend orders of magnitude more than anyone ever did in a horizon."""
        tail = (1.0 - self.interval_level) / 2
        return tuple(np.minimum(v * scale, max_spend) * factor for v in
                     (dist.mean(), dist.quantile(tail), dist.quantile(1.0 - tail)))

    @staticmethod
    def _logits(network, inputs: dict[str, np.ndarray]) -> np.ndarray:
        from ltv.models.deep.training import as_dataset

        batches = as_dataset(inputs, batch_size=PREDICT_BATCH)
        return np.asarray(network.predict(batches, verbose=0), dtype=float)

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        self._check_fitted()
        learned = {"inputs": self.inputs_.to_dict(), "label_scale": self.label_scale_,
                   "max_spend": self.max_spend_,
                   "balance_factor": self.balance_factor_, "best_epoch": self.best_epoch_,
                   "history": self.history_, "validation": self.validation_,
                   "horizon_days": self.horizon_days_,
                   "warm_start": getattr(self, "warm_start_", None)}
        meta = {"family": self.family, "class": type(self).__name__,
                "params": self.get_params(), "learned": learned}

        def write(folder: Path) -> None:
            self.network_.save(folder / NETWORK_FILE)
            if self.log_dir_ and Path(self.log_dir_).is_dir():
                shutil.copytree(self.log_dir_, folder / LOGS)

        write_model_dir(path, meta, write)

    def _restore_scoring_state(self, state: dict[str, Any]) -> None:
        """What predict needs besides the network (input spec, label scale, cap, balance,
        horizon), from a saved model.json; the light export saves the same keys."""
        self.inputs_ = DeepInputSpec.from_dict(state["inputs"])
        self.feature_names_ = self.inputs_.required_columns
        self.label_scale_ = float(state["label_scale"])
        self.max_spend_ = float(state["max_spend"])
        self.balance_factor_ = float(state["balance_factor"])
        self.horizon_days_ = int(state["horizon_days"])

    @classmethod
    def load(cls, path: str | Path) -> "DeepModel":
        manifest = read_model_dir(path, family=cls.family)
        require_tensorflow()
        import keras

        import ltv.models.deep.layers  # noqa: F401  (registers the custom layers)

        learned = manifest["learned"]
        model = cls(**manifest["params"])
        model.network_ = keras.saving.load_model(Path(path) / NETWORK_FILE, compile=False)
        model._restore_scoring_state(learned)
        model.best_epoch_ = int(learned["best_epoch"])
        model.history_ = learned["history"]
        model.validation_ = learned["validation"]
        model.log_dir_ = str(Path(path) / LOGS)
        model.warm_start_ = learned.get("warm_start")  # absent in models saved before it
        return model

    # ---- checks ---------------------------------------------------------------------------
    def _architecture(self):
        from ltv.models.deep.network import Architecture

        return Architecture(self.hidden_units, self.cross_layers, self.sequence_encoder,
                            self.sequence_units, self.attention_heads, self.dropout,
                            self.gru_unroll)

    def _check_params(self) -> None:
        encoders = ("gru", "transformer", "both", "none")
        if self.sequence_encoder not in encoders:
            raise ConfigError(f"sequence_encoder={self.sequence_encoder!r} is unknown",
                              f"use one of: {', '.join(encoders)}")
        for name in ("sequence_units", "attention_heads", "batch_size", "max_epochs",
                     "patience"):
            _positive_int(name, getattr(self, name))
        if isinstance(self.cross_layers, bool) or not isinstance(self.cross_layers, int) \
                or self.cross_layers < 0:
            raise ConfigError(f"cross_layers={self.cross_layers!r} is not an integer >= 0",
                              "pass e.g. cross_layers=2 (0: no DCN cross layers)")
        if not self.hidden_units or min(self.hidden_units) < 1:
            raise ConfigError(f"hidden_units={self.hidden_units!r} needs positive sizes",
                              "pass e.g. hidden_units=(64, 32)")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout={self.dropout!r} is not in [0, 1)", "pass e.g. 0.1")
        if not 0.0 < self.learning_rate < 1.0:
            raise ConfigError(f"learning_rate={self.learning_rate!r} is not in (0, 1)",
                              "pass e.g. 2e-3")
        if not 0.0 < self.interval_level < 1.0:
            raise ConfigError(f"interval_level={self.interval_level!r} is not in (0, 1)",
                              "use e.g. 0.8 for an 80% interval")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}={value!r} is not a positive integer",
                          f"pass a whole number >= 1 for {name}")
