"""The Keras layers and the ZILN loss against numpy/scipy references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

keras = pytest.importorskip("keras", reason="the deep family needs tensorflow-cpu (ltv[deep])")

from ltv.models.deep import layers as L  # noqa: E402
from ltv.models.deep.mixture import SIGMA_CAP, SIGMA_FLOOR  # noqa: E402


def reference_ziln_loss(y, logits):
    """Wang et al. 2019 written with scipy's distributions, independently of ltv (with ltv's
    cap on sigma, see ltv.models.deep.mixture)."""
    p = 1 / (1 + np.exp(-logits[:, 0]))
    sigma = np.clip(np.log1p(np.exp(logits[:, 2])), SIGMA_FLOOR, SIGMA_CAP)
    positive = y > 0
    classification = -stats.bernoulli(p).logpmf(positive.astype(int))
    density = stats.lognorm(s=sigma, scale=np.exp(logits[:, 1])).logpdf(np.where(positive, y, 1))
    return np.mean(classification - positive * density)


def test_ziln_loss_matches_the_scipy_reference():
    rng = np.random.default_rng(1)
    n = 500
    logits = np.column_stack([rng.normal(0, 2, n), rng.normal(0, 1, n), rng.normal(0, 2, n)])
    y = (rng.random(n) < 0.4) * rng.lognormal(0.5, 1.0, n)
    got = float(L.ziln_loss(y.astype("float32"), logits.astype("float32")))
    assert got == pytest.approx(reference_ziln_loss(y, logits), rel=1e-5)


def test_ziln_loss_is_minimized_by_the_true_parameters():
    rng = np.random.default_rng(2)
    n = 200_000
    y = (rng.random(n) < 0.3) * rng.lognormal(1.0, 0.5, n)
    true = np.array([np.log(0.3 / 0.7), 1.0, np.log(np.expm1(0.5))], dtype="float32")

    def loss(params):
        return float(L.ziln_loss(y.astype("float32"), np.tile(params, (n, 1)).astype("float32")))

    base = loss(true)
    for k in range(3):
        for step in (-0.2, 0.2):
            moved = true.copy()
            moved[k] += step
            assert loss(moved) > base


def test_ziln_loss_survives_extreme_logits():
    y = np.array([0.0, 1e-8, 50.0], dtype="float32")
    logits = np.array([[80.0, -50.0, -80.0], [-80.0, 30.0, 80.0], [0.0, 0.0, -80.0]],
                      dtype="float32")
    assert np.isfinite(float(L.ziln_loss(y, logits)))


def test_signed_log_is_odd_and_maps_missing_to_zero():
    x = np.array([[-1000.0, -1.0, 0.0, 1.0, 1e16, np.nan, np.inf]], dtype="float32")
    out = np.asarray(L.SignedLog()(x))
    expected = np.array([[-np.log1p(1000.0), -np.log(2.0), 0.0, np.log(2.0), np.log1p(1e16),
                          0.0, 0.0]])
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_cross_layer_follows_the_dcn_v2_formula():
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=(4, 5)).astype("float32")
    xl = rng.normal(size=(4, 5)).astype("float32")
    layer = L.Cross()
    out = np.asarray(layer([x0, xl]))
    w, b = (np.asarray(v) for v in layer.dense.weights)
    np.testing.assert_allclose(out, x0 * (xl @ w + b) + xl, rtol=1e-5, atol=1e-6)


def test_calendar_encoding_puts_new_year_next_to_new_years_eve():
    out = np.asarray(L.CalendarEncoding()(np.array([[1.0], [365.0], [183.0]], "float32")))
    assert np.linalg.norm(out[0] - out[1]) < 0.05
    assert np.linalg.norm(out[0] - out[2]) > 1.9


def test_range_clip_holds_each_channel_inside_its_training_range():
    layer = L.RangeClip(lower=[-1.0, 0.0], upper=[1.0, 5.0])
    x = np.array([[[-3.0, -1.0], [0.5, 9.0]]], dtype="float32")  # (batch, weeks, channels)
    np.testing.assert_array_equal(np.asarray(layer(x)), [[[-1.0, 0.0], [0.5, 5.0]]])
    clone = L.RangeClip.from_config(layer.get_config())
    assert clone.lower == [-1.0, 0.0] and clone.upper == [1.0, 5.0]
