"""Deep explanations: integrated gradients on the Keras network, path differences on the
LiteRT network the server runs, their agreement, and an ensemble explained without
TensorFlow in a fresh process (what the server does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ltv.explain import make_explainer, typical_customer
from ltv.models.ensemble import EnsembleModel

pytest.importorskip("keras", reason="the deep family needs tensorflow-cpu (ltv[deep])")
pytest.importorskip("ai_edge_litert", reason="the light runtime needs ai-edge-litert")


@pytest.fixture(scope="module")
def published(shop, btyd):
    """(Keras deep model, ensemble version folder): a tiny deep model, blended with BTYD by
    hand and published, which exports the deep member to LiteRT."""
    from ltv.models.deep import DeepModel
    from ltv.registry import Registry

    deep = DeepModel(sequence_encoder="gru", max_epochs=2, patience=1, hidden_units=(16,),
                     cross_layers=1, sequence_units=4, refit=False, alias="deep").fit(shop.data)
    blend = EnsembleModel(candidates=("btyd", "deep"))
    blend.members_ = [btyd, deep]
    blend.weights_ = {"btyd": 0.35, "deep": 0.65}
    blend.validation_origins_, blend.validation_scores_, blend.validation_score_ = [], {}, 0.0
    blend.feature_names_ = sorted({c for m in blend.members_ for c in m.feature_names_})
    blend.save(shop.root / "models" / "blend")
    registry = Registry(shop.root / "registry_deep")
    version = registry.publish("blend", shop.root / "models" / "blend")
    return deep, registry.path("blend", version)


@pytest.fixture(scope="module")
def light(published):
    from ltv.runtime import load_predictor

    return load_predictor(published[1])


def _contributions(e) -> dict[str, float]:
    return {c.feature: c.contribution for c in e.contributions}


def test_integrated_gradients_are_complete_to_the_reported_error(published, shop, customers):
    deep = published[0]
    explainer = make_explainer(deep, shop.snapshot)
    predicted = deep.predict(shop.snapshot.iloc[customers])["ltv"].to_numpy()
    for i, expected in zip(customers, predicted):
        e = explainer.explain(shop.snapshot.iloc[[i]])
        assert e.method == "integrated_gradients"
        assert e.prediction == pytest.approx(expected, rel=1e-5)
        delta = e.prediction - e.baseline
        residual = delta - sum(_contributions(e).values())
        assert residual == pytest.approx(e.approximation_error, abs=1e-9)
        mass = sum(abs(v) for v in _contributions(e).values())
        assert abs(e.approximation_error) <= 0.005 * max(abs(delta), mass) + 1e-9
        assert e.total == pytest.approx(e.prediction, rel=1e-12)


def test_only_the_feature_that_differs_from_the_baseline_gets_credit(published, shop):
    deep = published[0]
    base = typical_customer(shop.snapshot)
    row = base.copy()
    row["spend_90d"] = float(shop.snapshot["spend_90d"].quantile(0.95)) + 50.0
    for method in ("auto", "path_differences"):
        e = make_explainer(deep, baseline_row=base, method=method).explain(row)
        got = _contributions(e)
        delta = e.prediction - e.baseline
        assert abs(delta) > 1e-6
        assert got["spend_90d"] == pytest.approx(delta, rel=0.005)
        assert max(abs(v) for f, v in got.items() if f != "spend_90d") < 1e-6 + 1e-3 * abs(delta)
        same = make_explainer(deep, baseline_row=base, method=method).explain(base)
        assert same.prediction == pytest.approx(same.baseline, rel=1e-12)
        assert max(abs(c.contribution) for c in same.contributions) < 1e-9


def test_the_runtime_method_is_exact_and_agrees_with_integrated_gradients(
        published, light, shop, customers):
    deep = published[0]
    member = next(m for m in light.model.members_ if m.family == "deep")
    ig = make_explainer(deep, shop.snapshot)
    runtime = make_explainer(member, shop.snapshot)
    assert runtime.__class__.__name__ == "PathDifferenceExplainer"
    fine = make_explainer(member, shop.snapshot, steps=64)
    light_pred = member.predict(shop.snapshot.iloc[customers])["ltv"].to_numpy()
    agreement = {16: [], 64: []}
    for i, expected in zip(customers, light_pred):
        row = shop.snapshot.iloc[[i]]
        a, b = ig.explain(row), runtime.explain(row)
        assert b.approximation_error == 0.0 and b.details["steps"] == 16
        assert b.baseline + sum(_contributions(b).values()) == pytest.approx(b.prediction,
                                                                             rel=1e-9)
        assert b.prediction == pytest.approx(expected, rel=1e-6)
        assert b.prediction == pytest.approx(a.prediction, rel=1e-3)  # LiteRT vs Keras
        ca = _contributions(a)
        va = np.array(list(ca.values()))
        mass = np.abs(va).sum()
        for steps, e in ((16, b), (64, fine.explain(row))):
            cb = _contributions(e)
            vb = np.array([cb[f] for f in ca])
            assert np.abs(va - vb).max() <= 0.15 * mass + 1e-6
            agreement[steps].append(np.corrcoef(va, vb)[0, 1])
        assert {c.feature for c in a.top(3).top} & {c.feature for c in b.top(3).top}
    # Finite differences converge to the gradients' integral as the segments shrink; a
    # segment that crosses a kink (the prediction cap, a range clip) is where they differ.
    assert min(agreement[16]) > 0.8 and np.mean(agreement[16]) > 0.97
    assert np.mean(agreement[64]) > 0.99


def test_the_server_explains_an_ensemble_without_tensorflow(published, shop, tmp_path):
    """A fresh process loads the version with the runtime and explains one customer."""
    shop.snapshot.to_pickle(tmp_path / "features.pkl")
    code = textwrap.dedent(f"""
        import json, sys
        import pandas as pd
        from ltv.explain import make_explainer
        from ltv.runtime import load_predictor
        features = pd.read_pickle({str(tmp_path / "features.pkl")!r})
        predictor = load_predictor({str(published[1])!r})
        explainer = make_explainer(predictor, reference=features)
        e = explainer.explain(features.iloc[[3]])
        expected = float(predictor.predict(features.iloc[[3]])["ltv"].iloc[0])
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print(json.dumps({{"loaded": loaded, "expected": expected, **e.to_dict(top=None)}}))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    body = json.loads(done.stdout.strip().splitlines()[-1])
    assert body["loaded"] == []
    assert body["method"] == "ensemble"
    assert body["prediction"] == pytest.approx(body["expected"], rel=1e-9)
    total = body["baseline"] + sum(d["contribution"] for d in body["drivers"]) + body["other"]
    assert total == pytest.approx(body["prediction"], rel=1e-9)
    members = {m["model"]: m for m in body["details"]["members"]}
    assert members["deep"]["method"] == "path_differences"
    assert members["btyd"]["method"] == "shapley"
    assert body["prediction"] == pytest.approx(
        0.35 * members["btyd"]["prediction"] + 0.65 * members["deep"]["prediction"], rel=1e-12)
