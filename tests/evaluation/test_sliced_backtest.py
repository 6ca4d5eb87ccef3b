"""The backtest report's slices end to end: a simulated shop where one acquisition channel
spends 4x as much after the cutoff (nothing before it says so, so every model under-predicts
exactly that channel); the report must flag that channel and no other group of any
attribute, RFM segment or LTV tier."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from ltv.cli.slicing import segment_groups  # noqa: E402
from ltv.evaluation.backtest import backtest_warehouse  # noqa: E402
from ltv.io.ingest import ingest  # noqa: E402
from ltv.simulate import simulate, table_files  # noqa: E402

CUTOFF = "2022-10-01"
PLANTED = "social"


def shifted_shop(root: Path) -> Path:
    simulate(3000, root / "sim", start="2022-01-01", end="2022-12-31", seed=11)
    db = root / "shop.duckdb"
    for path, table in table_files(root / "sim"):
        ingest(path, db=db, table=table)
    con = duckdb.connect(str(db))
    con.execute(f"""UPDATE transactions SET amount = amount * 4 WHERE ts >= '{CUTOFF}'
                    AND customer_id IN (SELECT customer_id FROM customers
                                        WHERE channel = '{PLANTED}')""")
    con.close()
    return db


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("sliced_backtest")
    result = backtest_warehouse(shifted_shop(root), CUTOFF, 60, out=root / "p.csv",
                                report=root / "r.html", models="btyd",
                                segmenter=segment_groups)
    return result, result.report_path.read_text(encoding="utf-8")


def rows(text: str) -> dict[str, list[str]]:
    """data-group -> the row's cell texts."""
    out = {}
    for key, body in re.findall(r'<tr class="(?:flag)?" data-group="([^"]*)">(.*?)</tr>', text):
        out[key] = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", body)]
    return out


def test_exactly_the_planted_channel_is_flagged(report):
    _, text = report
    flagged = re.findall(r'<tr class="flag" data-group="([^"]*)"', text)
    assert flagged == [f"attr_channel={PLANTED}"]
    sentence = re.search(r'<p class="warning">\u26a0 (.*?)</p>', text).group(1)
    assert sentence.startswith(f"1 group with an error far above the overall error: channel "
                               f"<b>{PLANTED}</b> (")
    cells = rows(text)[f"attr_channel={PLANTED}"]
    assert cells[-1].startswith("\u26a0 ") and "bias -" in cells[-1]


def test_every_attribute_and_segment_is_sliced(report):
    result, text = report
    table = rows(text)
    slices = {key.split("=", 1)[0] for key in table}
    assert slices == {"attr_channel", "attr_region", "attr_age_band", "rfm_segment", "ltv_tier"}
    n = len(result.predictions)
    for column in slices:  # each table covers every scored customer once
        counts = [int(c[1].replace(",", "")) for k, c in table.items()
                  if k.startswith(column + "=")]
        assert sum(counts) == n
    # LTV tiers fitted on the predictions at the cutoff: top 1% / next 9% / 40% / 50%
    tiers = {k.split("=", 1)[1]: int(c[1].replace(",", "")) for k, c in table.items()
             if k.startswith("ltv_tier=")}
    assert set(tiers) == {"platinum", "gold", "silver", "bronze"}
    ltv = result.predictions["ltv"].to_numpy()
    assert tiers["platinum"] == (ltv >= np.quantile(ltv, 0.99)).sum() == pytest.approx(0.01 * n,
                                                                                       abs=2)
    assert tiers["bronze"] == (ltv < np.quantile(ltv, 0.5)).sum()


def test_segments_use_only_the_cutoff(report):
    result, _ = report
    groups = segment_groups(result.data.snapshot, result.predictions)
    assert list(groups.columns) == ["customer_id", "rfm_segment", "ltv_tier"]
    assert len(groups) == len(result.data.snapshot)
    assert pd.Timestamp(result.data.cutoff) == pd.Timestamp(CUTOFF)
