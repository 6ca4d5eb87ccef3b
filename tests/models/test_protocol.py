"""The one protocol test suite, run against every model family (see ltv.models.protocol).

To cover a new family, append one `pytest.param(lambda: Model(...), id=...)` to FACTORIES.
The data is a small simulated shop: 3,000 customers, three 60-day training windows before
2023-04-01 and the snapshot at that cutoff; the holdout labels are the 60 days after it.
"""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ltv.errors import LTVError, NotFittedError, SchemaError
from ltv.evaluation.metrics import auc, spearman
from ltv.features import build_features
from ltv.models.btyd_model import BTYDModel
from ltv.models.deep import DeepModel
from ltv.models.ensemble import EnsembleModel
from ltv.models.gbdt import GBDTModel
from ltv.models.persistence import MANIFEST, CorruptModelError
from ltv.models.protocol import PREDICTION_COLUMNS
from ltv.models.registry import FAMILIES, load_model, make_model
from ltv.models.training_data import build_training_data
from ltv.schema import validate_predictions
from ltv.simulate import simulate

# One line per family. Keep them small: every test runs once per factory.
FACTORIES = [
    pytest.param(lambda: BTYDModel(transaction_model="bgnbd"), id="btyd-bgnbd"),
    pytest.param(lambda: BTYDModel(transaction_model="paretonbd", alias="pnbd",
                                   interval_draws=100, seed=3), id="btyd-paretonbd"),
    pytest.param(lambda: GBDTModel(n_estimators=100, learning_rate=0.1, num_threads=1),
                 id="gbdt-tweedie"),
    pytest.param(lambda: GBDTModel(objective="hurdle", n_estimators=100, learning_rate=0.1,
                                   num_threads=1), id="gbdt-hurdle"),
    pytest.param(lambda: EnsembleModel(candidates=("btyd", "gbdt")), id="ensemble"),
    # Both sequence encoders, two cross layers; few epochs keep the suite quick.
    pytest.param(lambda: DeepModel(sequence_encoder="both", max_epochs=8, patience=2),
                 id="deep"),
]

CUTOFF, HORIZON = "2023-04-01", 60
NUMERIC = ["ltv", "ltv_lo", "ltv_hi", "p_active"]


def assert_same_predictions(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Identical rows and ids; numbers equal to 1e-12 (the one tolerance to relax if a family
    ever needs it)."""
    assert list(actual.columns) == list(expected.columns)
    np.testing.assert_array_equal(actual["customer_id"], expected["customer_id"])
    np.testing.assert_array_equal(actual["model"], expected["model"])
    for col in NUMERIC:
        np.testing.assert_allclose(actual[col], expected[col], rtol=1e-12, atol=1e-12,
                                   err_msg=col)


# ---- data, fitted once per module -----------------------------------------------------------
@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    out = tmp_path_factory.mktemp("shop")
    simulate(n_customers=3000, out=out, start="2022-01-01", end="2023-06-30", seed=1)
    return out / "transactions"


@pytest.fixture(scope="module")
def training_data(shop):
    return build_training_data(None, CUTOFF, HORIZON, transactions=shop, max_windows=3)


@pytest.fixture(scope="module")
def features(training_data):
    """What predict sees in production: the unlabeled feature table at the cutoff."""
    return training_data.snapshot


@pytest.fixture(scope="module")
def holdout(shop):
    """The same features with labels for [cutoff, cutoff + 60 days)."""
    return build_features(None, CUTOFF, horizon_days=HORIZON, labels=True, transactions=shop)


@pytest.fixture(scope="module", params=FACTORIES)
def fitted(request, training_data):
    model = request.param()
    before = set(vars(model))
    params = model.get_params()
    returned = model.fit(training_data)
    return SimpleNamespace(model=model, before=before, params_before=params, returned=returned)


@pytest.fixture(scope="module")
def predictions(fitted, features):
    return fitted.model.predict(features)


@pytest.fixture(params=FACTORIES)
def factory(request):
    return request.param


# ---- the protocol ---------------------------------------------------------------------------
def test_fit_returns_self_and_learns_underscore_attributes(fitted):
    model = fitted.model
    assert fitted.returned is model
    assert not [a for a in fitted.before if a.endswith("_")], "learned state before fit"
    learned = set(vars(model)) - fitted.before
    assert learned, "fit learned nothing"
    public = [a for a in learned if not a.startswith("_")]
    assert public and all(a.endswith("_") for a in public), sorted(learned)
    assert model.get_params() == fitted.params_before, "fit changed a hyperparameter"
    assert hasattr(model, "feature_names_")


def test_predict_and_save_before_fit_raise(factory, features, tmp_path):
    model = factory()
    with pytest.raises(NotFittedError):
        model.predict(features)
    with pytest.raises(NotFittedError):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_predictions_follow_the_contract(fitted, features, predictions):
    out = predictions
    assert list(out.columns) == PREDICTION_COLUMNS
    assert len(out) == len(features)
    np.testing.assert_array_equal(out["customer_id"], features["customer_id"].astype(str))
    assert (out["model"] == fitted.model.name).all()
    values = out[NUMERIC].to_numpy()
    assert np.isfinite(values).all()
    assert (out["ltv_lo"] <= out["ltv"]).all() and (out["ltv"] <= out["ltv_hi"]).all()
    assert out["p_active"].between(0.0, 1.0).all()
    validate_predictions(out)


def test_rows_follow_the_input_and_do_not_depend_on_the_batch(fitted, features, predictions):
    part = features.sample(n=300, random_state=0)
    out = fitted.model.predict(part)
    np.testing.assert_array_equal(out["customer_id"], part["customer_id"].astype(str))
    full = predictions.set_index("customer_id").loc[out["customer_id"]]
    for col in ("ltv", "p_active"):  # intervals may carry batch-dependent Monte Carlo noise
        np.testing.assert_allclose(out[col], full[col], rtol=1e-9, atol=1e-12, err_msg=col)


def test_save_load_round_trip(fitted, features, predictions, tmp_path):
    model = fitted.model
    model.save(tmp_path / "m")
    model.save(tmp_path / "m")  # saving over an existing folder replaces it
    for loaded in (type(model).load(tmp_path / "m"), load_model(tmp_path / "m")):
        assert type(loaded) is type(model)
        assert loaded.get_params() == model.get_params()
        assert_same_predictions(loaded.predict(features), predictions)
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    assert FAMILIES[manifest["family"]] is type(model)


def _flip_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_corrupt_or_partial_folders_are_refused(fitted, tmp_path):
    model = fitted.model
    model.save(tmp_path / "m")
    payload = [p.relative_to(tmp_path / "m") for p in sorted((tmp_path / "m").rglob("*"))
               if p.is_file() and p.name != MANIFEST]
    assert payload, "the model folder holds no checksummed file"
    loaders = (type(model).load, load_model)
    for i, name in enumerate(payload):
        for how in ("flip", "delete"):
            broken = tmp_path / f"{how}{i}"
            shutil.copytree(tmp_path / "m", broken)
            if how == "flip":
                _flip_byte(broken / name)
            else:
                (broken / name).unlink()
            for load in loaders:
                with pytest.raises(CorruptModelError):
                    load(broken)
    garbled = tmp_path / "garbled"
    shutil.copytree(tmp_path / "m", garbled)
    text = (garbled / MANIFEST).read_text()
    (garbled / MANIFEST).write_text(text[: len(text) // 2])
    for load in loaders:
        with pytest.raises(CorruptModelError):
            load(garbled)
        with pytest.raises(CorruptModelError):
            load(tmp_path / "nothing-here")


def test_missing_feature_columns_are_named(fitted, features):
    model = fitted.model
    for col in dict.fromkeys([model.feature_names_[0], model.feature_names_[-1]]):
        with pytest.raises(SchemaError) as err:
            model.predict(features.drop(columns=[col]))
        assert err.value.column == col and col in str(err.value)
    with pytest.raises(SchemaError) as err:
        model.predict(features.drop(columns=["customer_id"]))
    assert err.value.column == "customer_id"


def test_extra_columns_are_ignored(fitted, features, predictions):
    rng = np.random.default_rng(0)
    extra = features.copy()
    extra["zz_noise"] = rng.normal(size=len(extra))
    extra["zz_text"] = "x"
    extra["label_spend"] = 1e6  # a label column at predict time must never be read
    extra = extra[list(extra.columns[::-1])]
    assert_same_predictions(fitted.model.predict(extra), predictions)


def test_one_time_buyers_get_finite_predictions(fitted, features):
    one_time = features[features["frequency"] == 0]
    assert len(one_time) > 100
    out = fitted.model.predict(one_time)
    assert np.isfinite(out[NUMERIC].to_numpy()).all()
    assert out["p_active"].between(0.0, 1.0).all()
    assert (out["ltv_lo"] <= out["ltv_hi"]).all()


def test_empty_input_gives_empty_predictions(fitted, features):
    out = fitted.model.predict(features.iloc[:0])
    assert list(out.columns) == PREDICTION_COLUMNS and len(out) == 0


def test_get_params_round_trips_the_constructor(factory):
    model = factory()
    params = model.get_params()
    clone = type(model)(**params)
    assert clone.get_params() == params
    assert type(model).__name__ in repr(model)
    assert make_model(model.family, **params).get_params() == params


def test_predictions_rank_the_holdout(fitted, holdout):
    out = fitted.model.predict(holdout)  # the label columns are extra columns, ignored
    assert spearman(holdout["label_spend"], out["ltv"]) > 0.3
    assert auc(holdout["label_active"], out["p_active"]) > 0.65
    # Totals within a factor of 2 of what happened (seasonality alone moves them ~15%).
    assert 0.5 < out["ltv"].sum() / holdout["label_spend"].sum() < 2.0


# ---- the registry ---------------------------------------------------------------------------
def test_registry_refuses_unknown_families(fitted, tmp_path):
    with pytest.raises(LTVError, match="unknown model family"):
        make_model("no-such-family")
    fitted.model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    manifest["family"] = "no-such-family"
    (tmp_path / "m" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(CorruptModelError, match="unknown family"):
        load_model(tmp_path / "m")
