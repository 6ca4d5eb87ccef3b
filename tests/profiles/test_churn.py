"""Churn risk on a simulated shop: calibrated against what happened, better than the base
rate, a monotone calibration learned before the cutoff, and a faithful save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltv.errors import ConfigError, NotFittedError
from ltv.evaluation.metrics import auc, brier
from ltv.profiles.churn import ChurnModel, churn_scores, reliability

from .sim_shop import CUTOFF, HORIZON, shop  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def fitted(shop):
    return ChurnModel().fit(shop.data)


def churned(labeled: pd.DataFrame) -> np.ndarray:
    return 1.0 - (labeled["label_active"].to_numpy() > 0)


def test_calibrated_risk_matches_the_observed_churn_rate(shop, fitted):
    y = churned(shop.labeled)
    risk = fitted.predict(shop.labeled)["churn_risk"].to_numpy()
    table, ece = reliability(y, risk)
    assert ece < 0.035
    assert abs(risk.mean() - y.mean()) < 0.04
    for row in table.itertuples():
        if row.n >= 50:  # binomial noise of the observed rate, plus a small model error
            se = np.sqrt(row.observed * (1 - row.observed) / row.n)
            assert abs(row.mean_pred - row.observed) <= 3 * se + 0.02, row


def test_beats_the_base_rate_of_the_latest_window(shop, fitted):
    y = churned(shop.labeled)
    risk = fitted.predict(shop.labeled)["churn_risk"]
    # the base rate is known at the cutoff: the churn rate of the window ending there
    latest = shop.data.latest_window
    assert fitted.base_rate_ == pytest.approx(churned(latest).mean())
    base = brier(y, np.full(y.size, fitted.base_rate_))
    assert brier(y, risk) < 0.8 * base
    assert auc(y, risk) > 0.75
    scores = churn_scores(y, risk)
    assert scores["brier"] == pytest.approx(brier(y, risk)) and scores["n"] == y.size


def test_calibration_only_sees_labels_that_end_by_the_cutoff(shop, fitted):
    origin = pd.Timestamp(CUTOFF) - pd.Timedelta(days=HORIZON)  # the latest window's origin
    info = fitted.calibration_
    assert info["on"] == "crossfit" and info["out_of_sample"]
    assert pd.Timestamp(info["windows"][1]) == origin and info["rows"] == len(shop.data.windows)
    raw, outcome = fitted.calibration_points_
    assert outcome.mean() == pytest.approx(churned(shop.data.windows).mean())
    latest = ChurnModel(calibration_rows="latest").fit(shop.data)
    assert latest.calibration_["windows"] == [str(origin), str(origin)]
    assert latest.calibration_["split"] == "gapped latest window"  # stage 1 ended before it
    assert latest.calibration_["rows"] == len(shop.data.latest_window)
    y = churned(shop.labeled)
    assert brier(y, latest.predict(shop.labeled)["churn_risk"]) < \
        brier(y, np.full(y.size, latest.base_rate_))


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_is_a_monotone_map_that_keeps_the_ranking(shop, fitted, method):
    model = fitted.with_calibration(method)
    grid = np.linspace(0, 1, 1001)
    assert np.all(np.diff(model.calibrator_.transform(grid)) >= 0)
    preds = model.predict(shop.labeled)
    order = np.argsort(preds["churn_raw"].to_numpy(), kind="stable")
    assert np.all(np.diff(preds["churn_risk"].to_numpy()[order]) >= -1e-12)


def test_save_and_load_give_identical_risks(shop, fitted, tmp_path):
    fitted.save(tmp_path / "churn")
    again = ChurnModel.load(tmp_path / "churn")
    pd.testing.assert_frame_equal(again.predict(shop.labeled), fitted.predict(shop.labeled))
    assert again.base_rate_ == fitted.base_rate_


def test_missing_columns_unknown_method_and_unfitted_are_clear_errors(shop, fitted):
    with pytest.raises(ConfigError, match="calibration='beta'"):
        ChurnModel(calibration="beta").fit(shop.data)
    with pytest.raises(ConfigError, match="calibration_rows='all'"):
        ChurnModel(calibration_rows="all").fit(shop.data)
    with pytest.raises(NotFittedError):
        ChurnModel().predict(shop.labeled)
    with pytest.raises(Exception, match="spend_total"):
        fitted.predict(shop.labeled.drop(columns="spend_total"))
