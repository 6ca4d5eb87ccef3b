"""BTYD explanations: exact Shapley values of frequency, recency (with T) and spend, checked
against brute force over every order of the three players, and the sentences."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from ltv.errors import LTVError
from ltv.explain import make_explainer, typical_customer

GROUPS = {"frequency": ["frequency"], "recency": ["recency", "T"],
          "monetary_value": ["monetary_value"]}


def _brute_force(model, row: pd.DataFrame, base: pd.DataFrame) -> dict[str, float]:
    """Average over all 3! orders of each player's marginal effect when it joins, every
    value scored by the model's own predict on a row built here."""
    cache: dict[frozenset, float] = {}

    def value(players) -> float:
        key = frozenset(players)
        if key not in cache:
            cache[key] = score(players)
        return cache[key]

    def score(players) -> float:
        mixed = base[["customer_id", "frequency", "recency", "T", "monetary_value"]].copy()
        for p in players:
            for col in GROUPS[p]:
                mixed[col] = float(row[col].iloc[0])
        return float(model.predict(mixed)["ltv"].iloc[0])

    totals = dict.fromkeys(GROUPS, 0.0)
    orders = list(itertools.permutations(GROUPS))
    for order in orders:
        for k, p in enumerate(order):
            totals[p] += value(order[:k + 1]) - value(order[:k])
    return {p: v / len(orders) for p, v in totals.items()}


def test_shapley_values_match_brute_force_and_sum_exactly(btyd, shop, customers):
    explainer = make_explainer(btyd, shop.snapshot)
    base = typical_customer(shop.snapshot)
    predicted = btyd.predict(shop.snapshot.iloc[customers])["ltv"].to_numpy()
    for i, expected in zip(customers, predicted):
        row = shop.snapshot.iloc[[i]].reset_index(drop=True)
        e = explainer.explain(row)
        got = {c.feature: c.contribution for c in e.contributions}
        want = _brute_force(btyd, row, base)
        for p in GROUPS:
            assert got[p] == pytest.approx(want[p], rel=1e-9, abs=1e-9)
        assert e.prediction == pytest.approx(expected, rel=1e-12)
        assert e.baseline == pytest.approx(btyd.predict(base)["ltv"].iloc[0], rel=1e-12)
        assert e.baseline + sum(got.values()) == pytest.approx(e.prediction, rel=1e-12)


def test_a_frequent_buyer_is_explained_by_frequency_in_plain_words(btyd, shop):
    snap = shop.snapshot
    i = int(np.argmax(snap["frequency"].to_numpy()))
    e = make_explainer(btyd, snap).explain(snap.iloc[[i]])
    got = {c.feature: c.contribution for c in e.contributions}
    assert got["frequency"] > 0
    x = snap["frequency"].iloc[i]
    line = next(n for n in e.notes if n.startswith("bought again"))
    assert f"on {x:,.0f} separate days" in line and "above the typical" in line
    # one sentence per driver, largest effect first, each ending with its signed amount
    amounts = [f"{c.contribution:+,.0f}" if abs(c.contribution) >= 100 else
               f"{c.contribution:+,.2f}" for c in e.contributions]
    assert [n.rsplit(": ", 1)[1] for n in e.notes] == amounts


def test_the_typical_customer_explains_to_zero(btyd, shop):
    base = typical_customer(shop.snapshot)
    e = make_explainer(btyd, shop.snapshot).explain(base)
    assert e.prediction == pytest.approx(e.baseline, rel=1e-12)
    assert all(c.contribution == pytest.approx(0.0, abs=1e-12) for c in e.contributions)


def test_without_reference_rows_the_error_says_what_to_pass(btyd, shop):
    with pytest.raises(LTVError, match="needs reference rows") as err:
        make_explainer(btyd).explain(shop.snapshot.iloc[[0]])
    assert "build_features" in str(err.value)
