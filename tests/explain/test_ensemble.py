"""Ensemble explanations: the members' explanations weighted as in the blend, merged by
feature, summing exactly to the blend's prediction."""

from __future__ import annotations

import pytest

from ltv.explain import make_explainer
from ltv.models.ensemble import EnsembleModel


@pytest.fixture(scope="module")
def blend(btyd, gbdt):
    """BTYD and GBDT blended by hand (fitting `auto` would choose its own members)."""
    model = EnsembleModel(candidates=("btyd", "gbdt"))
    model.members_ = [btyd, gbdt]
    model.weights_ = {"btyd": 0.3, "gbdt": 0.7}
    model.validation_origins_, model.validation_scores_, model.validation_score_ = [], {}, 0.0
    model.feature_names_ = sorted({c for m in model.members_ for c in m.feature_names_})
    return model


def test_the_blend_is_the_weighted_sum_of_its_members_explanations(blend, btyd, gbdt, shop,
                                                                   customers):
    explainer = make_explainer(blend, shop.snapshot)
    members = {"btyd": make_explainer(btyd, shop.snapshot), "gbdt": make_explainer(gbdt)}
    predicted = blend.predict(shop.snapshot.iloc[customers])["ltv"].to_numpy()
    for i, expected in zip(customers, predicted):
        row = shop.snapshot.iloc[[i]]
        e = explainer.explain(row)
        assert e.method == "ensemble"
        assert e.prediction == pytest.approx(expected, rel=1e-9)
        assert e.baseline + sum(c.contribution for c in e.contributions) == \
            pytest.approx(e.prediction, rel=1e-9)
        parts = {k: x.explain(row) for k, x in members.items()}
        want: dict[str, float] = {}
        for key, part in parts.items():
            for c in part.contributions:
                want[c.feature] = want.get(c.feature, 0.0) + blend.weights_[key] * c.contribution
        got = {c.feature: c.contribution for c in e.contributions}
        assert got.keys() == want.keys()
        for feature, value in want.items():
            assert got[feature] == pytest.approx(value, rel=1e-9, abs=1e-12)
        # "frequency" is both a BTYD player and a GBDT column: one merged driver
        assert got["frequency"] == pytest.approx(
            0.3 * _of(parts["btyd"], "frequency") + 0.7 * _of(parts["gbdt"], "frequency"))
        assert e.baseline == pytest.approx(0.3 * parts["btyd"].baseline
                                           + 0.7 * parts["gbdt"].baseline, rel=1e-12)
        assert [m["weight"] for m in e.details["members"]] == [0.3, 0.7]
        assert all(n.startswith("btyd (weight 0.30): ") for n in e.notes)


def _of(e, feature: str) -> float:
    return next(c.contribution for c in e.contributions if c.feature == feature)
