"""Training windows: the dense stride, and what it gives `auto`'s validation on one year of data."""

from __future__ import annotations

import pandas as pd

from ltv.models.protocol import TrainingData
from ltv.models.training_data import MAX_TRAINING_WINDOWS, training_windows, window_origins
from ltv.models.validation import validation_splits

# Complete Journey's layout: one year of data from 2017-01-01, cutoff 2017-10-02, H = 91.
FIRST, CUTOFF, HORIZON = pd.Timestamp("2017-01-01"), pd.Timestamp("2017-10-02"), 91


def test_stride_is_about_a_sixth_of_the_horizon_in_whole_weeks():
    strides = {h: training_windows(h)["stride_days"] for h in (7, 30, 60, 90, 91, 180, 365)}
    assert strides == {7: 7, 30: 7, 60: 7, 90: 14, 91: 14, 180: 28, 365: 63}
    assert training_windows(90)["max_windows"] == MAX_TRAINING_WINDOWS == 12


def test_one_year_gives_nine_windows_each_with_sixty_days_of_history():
    origins = window_origins(CUTOFF, HORIZON, FIRST, **training_windows(HORIZON))
    assert origins[0] == pd.Timestamp("2017-07-03")  # labels of the newest end at the cutoff
    assert origins[-1] == pd.Timestamp("2017-03-13")
    assert len(origins) == 9
    assert set(pd.Series(origins).diff().dropna()) == {pd.Timedelta(days=-14)}
    assert all(o - FIRST >= pd.Timedelta(days=60) for o in origins)


def test_max_windows_caps_a_long_history():
    origins = window_origins(CUTOFF, HORIZON, FIRST - pd.Timedelta(days=3650),
                             **training_windows(HORIZON))
    assert len(origins) == 12
    assert origins[-1] == pd.Timestamp("2017-07-03") - pd.Timedelta(days=11 * 14)


def _windows(origins) -> TrainingData:
    rows = [{"customer_id": c, "cutoff": o, "x": 1.0, "label_spend": 1.0, "label_active": 1}
            for o in origins for c in ("a", "b")]
    return TrainingData(windows=pd.DataFrame(rows), snapshot=None, horizon_days=HORIZON,
                        cutoff=CUTOFF)


def test_dense_windows_give_one_year_two_validation_origins_instead_of_one():
    dense = validation_splits(_windows(window_origins(CUTOFF, HORIZON, FIRST,
                                                      **training_windows(HORIZON))))
    assert [str(inner.cutoff.date()) for inner, _ in dense] == ["2017-07-03", "2017-06-19"]
    assert [sorted(str(c.date()) for c in inner.windows["cutoff"].unique())
            for inner, _ in dense] == [["2017-03-13", "2017-03-27"], ["2017-03-13"]]
    for inner, _ in dense:  # every inner window's labels end by its origin
        assert (inner.windows["cutoff"] + pd.Timedelta(days=HORIZON) <= inner.cutoff).all()
    # The previous stride (H // 3 = 30 days) left a single origin with a single inner window.
    sparse = validation_splits(_windows(window_origins(CUTOFF, HORIZON, FIRST, stride_days=30,
                                                       max_windows=8)))
    assert [(str(inner.cutoff.date()), inner.windows["cutoff"].nunique())
            for inner, _ in sparse] == [("2017-07-03", 1)]


def test_windows_share_the_snapshots_category_columns_with_real_values(tmp_path):
    """'b' ranks first only at the cutoff; an earlier window, where 'a' ranked first, still
    gets cat_share_b from its own rows (1/3 for u1), not a column of zeros."""
    from ltv.io.ingest import ingest
    from ltv.models.provenance import feature_options
    from ltv.models.training_data import build_training_data, population_options

    tx = pd.DataFrame({
        "customer_id": ["u1", "u1", "u2", "u3"],
        "ts": pd.to_datetime(["2022-01-10", "2022-01-20", "2022-05-01", "2022-03-10"]),
        "amount": [100.0, 50.0, 200.0, 10.0],
        "category": ["a", "b", "b", "a"]})
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    db = tmp_path / "shop.duckdb"
    ingest(path, db=db)
    data = build_training_data(db, "2022-06-01", 30, stride_days=30, max_windows=4,
                               min_history_days=20, top_k_categories=1)
    assert population_options(data.snapshot) == {"top_categories": ["b"]}  # no events
    early = data.windows[data.windows["cutoff"] == data.windows["cutoff"].min()]
    assert early["cutoff"].min() < pd.Timestamp("2022-03-10")  # before u2's "b" orders
    u1 = early.set_index("customer_id").loc["u1"]
    assert u1["cat_share_b"] == 1 / 3 and u1["cat_share_other"] == 2 / 3
    assert feature_options({"population": population_options(data.snapshot)}) == \
        {"top_categories": ["b"]}
    assert feature_options({}) == {}
