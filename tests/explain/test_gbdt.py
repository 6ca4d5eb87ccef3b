"""GBDT explanations: LightGBM's exact TreeSHAP in raw space, mapped to currency exactly.

A synthetic model whose features have known effects (a positive, a negative and a noise
feature, a categorical tier) checks signs and ranking; the simulated shop checks the sums
and the agreement with `predict` for both objectives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from ltv.explain import make_explainer
from ltv.models.gbdt import GBDTModel
from ltv.models.protocol import TrainingData

from .conftest import FAST_GBDT


def _known_effects(n: int = 2500, seed: int = 0) -> TrainingData:
    """log E[spend] = 0.5 + good - 0.8 bad + 0.6 [tier == gold]; noise has no effect."""
    rng = np.random.default_rng(seed)
    frames = []
    for cutoff in ("2023-01-01", "2023-03-01"):
        good, bad, noise = rng.uniform(0, 2, (3, n))
        gold = rng.random(n) < 0.4
        mean = np.exp(0.5 + good - 0.8 * bad + 0.6 * gold)
        active = rng.random(n) < expit(-0.3 + 0.8 * good - 0.6 * bad)
        spend = np.where(active, rng.gamma(2.0, mean / 2.0), 0.0)
        frames.append(pd.DataFrame({
            "customer_id": [f"c{i}" for i in range(n)], "cutoff": pd.Timestamp(cutoff),
            "good": good, "bad": bad, "noise": noise,
            "attr_tier": np.where(gold, "gold", "basic"),
            "label_spend": spend, "label_active": active.astype(int)}))
    windows = pd.concat(frames, ignore_index=True)
    return TrainingData(windows, None, 30, pd.Timestamp("2023-04-01"))


@pytest.fixture(scope="module", params=["tweedie", "hurdle"])
def known(request):
    data = _known_effects()
    model = GBDTModel(objective=request.param, calendar_features=False, **FAST_GBDT).fit(data)
    return model


def _row(good, bad, noise, tier):
    return pd.DataFrame({"customer_id": ["x"], "cutoff": [pd.Timestamp("2023-04-01")],
                         "good": [good], "bad": [bad], "noise": [noise], "attr_tier": [tier]})


def test_signs_and_ranking_follow_the_known_effects(known):
    explainer = make_explainer(known)
    high = {c.feature: c.contribution for c in
            explainer.explain(_row(1.9, 0.1, 1.0, "gold")).contributions}
    low = {c.feature: c.contribution for c in
           explainer.explain(_row(0.1, 1.9, 1.0, "basic")).contributions}
    assert high["good"] > 0 and high["bad"] > 0 and high["attr_tier"] > 0
    assert low["good"] < 0 and low["bad"] < 0 and low["attr_tier"] < 0
    for c in (high, low):
        assert abs(c["noise"]) < 0.25 * min(abs(c["good"]), abs(c["bad"]))
        assert abs(c["good"]) > abs(c["attr_tier"])  # effect 1.9 vs 0.6 on the log scale


def test_raw_contributions_are_lightgbms_and_sum_to_the_raw_score(gbdt, shop):
    explainer = make_explainer(gbdt)
    rows = shop.snapshot.iloc[:20]
    X = gbdt.inputs_.matrix(rows)
    for name, phi in explainer.raw_contributions(rows).items():
        booster = gbdt.boosters_[name]
        np.testing.assert_allclose(phi.sum(axis=1), booster.predict(X, raw_score=True),
                                   rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(phi, booster.predict(X, pred_contrib=True))


@pytest.mark.parametrize("objective", ["tweedie", "hurdle"])
def test_currency_contributions_sum_exactly_to_prediction_minus_baseline(shop, gbdt,
                                                                         objective, customers):
    model = gbdt if objective == "tweedie" else \
        GBDTModel(objective="hurdle", **FAST_GBDT).fit(shop.data)
    explainer = make_explainer(model)
    predicted = model.predict(shop.snapshot.iloc[customers])["ltv"].to_numpy()
    baselines = set()
    for i, expected in zip(customers, predicted):
        e = explainer.explain(shop.snapshot.iloc[[i]])
        assert e.prediction == pytest.approx(expected, rel=1e-9)
        assert e.baseline + sum(c.contribution for c in e.contributions) == \
            pytest.approx(e.prediction, rel=1e-9, abs=1e-9)
        assert e.approximation_error == 0.0 and e.method == "treeshap"
        baselines.add(round(e.baseline, 9))
    assert len(baselines) == 1  # the baseline belongs to the model, not the customer


def test_currency_contributions_are_proportional_to_log_space_shap(gbdt, shop, customers):
    """Tweedie: c_i / c_j == phi_i / phi_j (the rescale rule through exp), and the baseline
    is the prediction at TreeSHAP's expected raw score."""
    explainer = make_explainer(gbdt)
    row = shop.snapshot.iloc[[customers[-1]]]
    phi = explainer.raw_contributions(row)["value"][0]
    e = explainer.explain(row)
    money = {c.feature: c.contribution for c in e.contributions}
    ratio = np.array([money[f] for f in gbdt.inputs_.feature_names]) / np.where(
        phi[:-1] == 0, np.nan, phi[:-1])
    ratio = ratio[np.isfinite(ratio)]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert e.baseline == pytest.approx(gbdt.balance_factor_ * gbdt.label_scale_
                                       * np.exp(phi[-1]), rel=1e-12)
