"""Errors for people: not fitted, bad inputs, bad saved state."""

from __future__ import annotations

import numpy as np
import pytest

from ltv.errors import LTVError, NotFittedError, SchemaError
from ltv.models.btyd import BetaGeo, GammaGamma, ParetoNBD
from ltv.models.btyd.data import compress, unique_rows

RFM_METHODS = {
    "expected_purchases": lambda m: m.expected_purchases(30, [1], [5], [10]),
    "probability_alive": lambda m: m.probability_alive([1], [5], [10]),
    "probability_any_purchase": lambda m: m.probability_any_purchase(30, [1], [5], [10]),
    "expected_purchases_new": lambda m: m.expected_purchases_new(30),
    "sample_purchases": lambda m: m.sample_purchases(30, [1], [5], [10]),
    "loglik": lambda m: m.loglik([1], [5], [10]),
    "to_dict": lambda m: m.to_dict(),
}


@pytest.mark.parametrize("cls", [BetaGeo, ParetoNBD])
@pytest.mark.parametrize("method", sorted(RFM_METHODS))
def test_predicting_before_fit_raises_not_fitted(cls, method):
    with pytest.raises(NotFittedError, match=rf"(?s){cls.__name__}\.{method}\(\).*call .*fit"):
        RFM_METHODS[method](cls())


@pytest.mark.parametrize("method", ["conditional_expected_spend", "to_dict"])
def test_gamma_gamma_before_fit_raises_not_fitted(method):
    with pytest.raises(NotFittedError, match="fit"):
        getattr(GammaGamma(), method)(*([[1], [10.0]] if method != "to_dict" else []))


BAD = [
    # (frequency, recency, T, column named in the message, words in the message)
    ([-1, 2], [0, 3], [5, 5], "frequency", "negative"),
    ([1.5, 2], [1, 3], [5, 5], "frequency", "whole number"),
    ([1, 2], [6, 3], [5, 5], "recency", "greater than T"),
    ([1, 2], [1, 3], [5, -5], "T", "negative"),
    ([0, 2], [1, 3], [5, 5], "recency", "frequency 0"),
    ([1, np.nan], [1, 3], [5, 5], "frequency", "not a finite number"),
    ([1, 2], [1, 3], [5], "T", "same length"),
]


@pytest.mark.parametrize("cls", [BetaGeo, ParetoNBD])
@pytest.mark.parametrize("freq, rec, T, column, words", BAD)
def test_bad_inputs_name_the_column_the_row_and_the_fix(cls, freq, rec, T, column, words):
    with pytest.raises(SchemaError) as err:
        cls().fit(freq, rec, T)
    msg = str(err.value)
    assert f"column '{column}'" in msg and words in msg and "fix:" in msg
    assert err.value.column == column


def test_recency_equal_to_T_up_to_rounding_is_accepted():
    T = np.array([0.1 + 0.2, 5.0])
    m = BetaGeo().fit([1, 0], [0.3, 0.0], T)  # 0.3 > 0.1 + 0.2 by one ulp
    assert np.isfinite(m.loglik_)


def test_bad_weights_and_horizons():
    with pytest.raises(SchemaError, match="weights"):
        BetaGeo().fit([1, 2], [1, 2], [5, 5], weights=[1, -1])
    m = BetaGeo.from_dict({"model": "BetaGeo", "params": {"r": 1, "alpha": 1, "a": 1, "b": 1}})
    with pytest.raises(SchemaError, match="column 't'"):
        m.expected_purchases(-3, [1], [1], [2])
    with pytest.raises(SchemaError, match="column 't'"):
        m.expected_purchases([1, 2, 3], [1, 2], [1, 2], [2, 2])


def test_bad_penalizer_and_bad_saved_state():
    with pytest.raises(LTVError, match="penalizer"):
        BetaGeo(penalizer=-1).fit([1, 2], [1, 2], [5, 5])
    with pytest.raises(LTVError, match="ParetoNBD.from_dict"):
        BetaGeo.from_dict({"model": "ParetoNBD", "params": {}})
    with pytest.raises(LTVError, match="missing parameters"):
        BetaGeo.from_dict({"model": "BetaGeo", "params": {"r": 1.0}})


def test_compress_groups_identical_customers():
    x = np.array([0, 1, 1, 0, 1, 2.0])
    tx = np.array([0, 3, 3, 0, 4, 4.0])
    T = np.array([9, 9, 9, 9, 9, 7.0])
    w = np.array([1, 1, 2, 1, 0, 1.0])  # the weight-0 row disappears
    c = compress(x, tx, T, w)
    rows = sorted(zip(c.x[c.ix], c.t_x[c.itx], c.T[c.iT], c.w))
    assert rows == [(0, 0, 9, 2), (1, 3, 9, 3), (2, 4, 7, 1)]
    assert sorted(zip(c.x[c.xT[0]], c.T[c.xT[1]])) == [(0, 9), (1, 9), (2, 7)]
    pairs = list(zip(c.x[c.xtx[0]][c.row_xtx], c.t_x[c.xtx[1]][c.row_xtx]))
    assert pairs == list(zip(c.x[c.ix], c.t_x[c.itx]))


def test_unique_rows_inverse_rebuilds_the_columns():
    a = np.array([1.0, 2, 1, 2, 3])
    b = np.array([5.0, 5, 5, 6, 5])
    (ua, ub), inv = unique_rows(a, b)
    assert len(ua) == 4
    assert np.array_equal(ua[inv], a) and np.array_equal(ub[inv], b)
