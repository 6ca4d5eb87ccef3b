"""The HTML backtest report: content, exact numbers, self-containment, optional parts.

The BacktestResult is built by hand from synthetic numbers, and every number the tests look
for is computed here with `metrics.evaluate` and written with explicit format strings, so a
change in how the report computes or writes a metric shows up as a failure.
"""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from ltv.errors import LTVError  # noqa: E402
from ltv.evaluation import metrics  # noqa: E402
from ltv.evaluation.backtest import BacktestResult  # noqa: E402
from ltv.evaluation.report import render_report, write_report  # noqa: E402
from ltv.evaluation.report.sections import TITLES  # noqa: E402
from ltv.evaluation.slices import sliced  # noqa: E402
from ltv.models.protocol import TrainingData  # noqa: E402

N = 2000
COUNTRIES = ["DE", "FR", "GB", "US", "NL"]
ALL_SECTIONS = [TITLES[k] for k in ("summary", "comparison", "gain", "deciles", "calibration",
                                    "importance", "slices")]


class FakeModel:
    def __init__(self, name: str, importance: pd.Series | None = None):
        self.name = name
        if importance is not None:
            self.feature_importance_ = importance


def synthetic(n: int = N, seed: int = 0, countries=COUNTRIES, probs=None):
    """Two models (gbdt ranks better than btyd) over `n` customers, with an attr_country."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i:05d}" for i in range(n)]
    value = rng.lognormal(3.0, 1.2, n)
    p_true = 1 / (1 + np.exp(-(np.log(value) - 3.4) * 1.5))
    active = rng.random(n) < p_true
    actual = np.where(active, value * rng.lognormal(0, 0.5, n), 0.0)
    frames = []
    for name, noise, scale in (("gbdt", 0.5, 1.0), ("btyd", 1.0, 1.3)):
        ltv = 0.5 * value * rng.lognormal(0, noise, n) * scale
        p = np.clip(p_true + rng.normal(0, 0.1 * noise, n), 0.01, 0.99)
        frames.append(pd.DataFrame({"customer_id": ids, "model": name, "ltv": ltv,
                                    "ltv_lo": 0.2 * ltv, "ltv_hi": 3 * ltv, "p_active": p}))
    predictions = pd.concat(frames, ignore_index=True)
    # shuffled, so the report must line actual values up by customer_id, not by position
    series = pd.Series(actual, index=pd.Index(ids, name="customer_id"), name="label_spend")
    series = series.sample(frac=1.0, random_state=1)
    importance = pd.Series(rng.gamma(1.0, 1.0, 30), index=[f"feat_{i:02d}" for i in range(30)])
    models = {"gbdt": FakeModel("gbdt", importance), "btyd": FakeModel("btyd")}
    result = BacktestResult(predictions=predictions, actual=series, models=models)
    snapshot = pd.DataFrame({
        "customer_id": ids,
        "attr_country": rng.choice(countries, n, p=probs),
        "attr_age": rng.integers(18, 80, n),
        "frequency": rng.integers(0, 9, n),
    })
    data = TrainingData(windows=pd.DataFrame({"cutoff": pd.to_datetime(["2011-03-01",
                                                                        "2011-06-01"])}),
                        snapshot=snapshot, horizon_days=90, cutoff=pd.Timestamp("2011-09-01"))
    return result, data


def expected_metrics(result: BacktestResult) -> dict[str, dict[str, float]]:
    """metrics.evaluate per model, the way run_backtest scores (actual aligned by id)."""
    out = {}
    for name, group in result.predictions.groupby("model", sort=False):
        y = result.actual.reindex(group["customer_id"]).to_numpy()
        out[name] = metrics.evaluate(group.reset_index(drop=True), y)
    return out


def expected_cells(m: dict[str, float]) -> list[str]:
    return [f"{m['gini']:.3f}", f"{m['spearman']:.3f}", f"{100 * m['decile_mape']:.1f}%",
            f"{100 * m['top_decile_capture']:.1f}% "
            f"(ideal {100 * m['top_decile_capture_ideal']:.1f}%)",
            f"{m['auc']:.3f}", f"{m['mae']:,.2f}", f"{m['rmse']:,.2f}", f"{m['r2']:.3f}",
            f"{100 * m['bias']:+.1f}%", f"{100 * m['coverage']:.1f}%"]


class Page(HTMLParser):
    """Collects h2 headings, img sources, every src/href value, and table rows by data-*."""

    def __init__(self, text: str):
        super().__init__()
        self.h2, self.imgs, self.links, self.rows = [], [], [], {}
        self._in_h2 = False
        self._row = None
        self._cell = None
        self._cell_classes = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if key in a:
                self.links.append(a[key])
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")
        elif tag == "img":
            self.imgs.append(a.get("src", ""))
        elif tag == "tr":
            key = next((f"{k}={v}" for k, v in attrs if k.startswith("data-")), None)
            self._row = key
            if key is not None:
                self.rows[key] = []
        elif tag == "td" and self._row is not None:
            self._cell = ""
            self._cell_classes = a.get("class", "")

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
        elif tag == "td" and self._row is not None and self._cell is not None:
            self.rows[self._row].append((" ".join(self._cell.split()), self._cell_classes))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data
        if self._cell is not None:
            self._cell += data


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    result, data = synthetic()
    path = tmp_path_factory.mktemp("report") / "out" / "report.html"
    written = write_report(path, result, data=data, title="Backtest <synthetic>")
    return result, data, written, written.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the full report


def test_written_with_every_section_and_model(full):
    result, _, path, text = full
    assert path.exists() and path.name == "report.html"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temp file left
    page = Page(text)
    assert page.h2 == ALL_SECTIONS
    for name in ("gbdt", "btyd"):
        assert f'data-model="{name}"' in text
    assert "Backtest &lt;synthetic&gt;" in text  # caller text is escaped
    assert "2011-09-01" in text and "90 days" in text and "2,000" in text
    total = result.actual.sum()
    assert f"{total:,.2f}" in text


def test_comparison_table_shows_exact_metrics(full):
    result, _, _, text = full
    page = Page(text)
    expected = expected_metrics(result)
    for name, m in expected.items():
        cells = page.rows[f"data-model={name}"]
        assert [c for c, _ in cells] == [name] + expected_cells(m)
    # gbdt was built to rank better: its Gini and Spearman cells are the highlighted ones
    assert expected["gbdt"]["gini"] > expected["btyd"]["gini"]
    gbdt, btyd = page.rows["data-model=gbdt"], page.rows["data-model=btyd"]
    assert "best" in gbdt[1][1] and "best" not in btyd[1][1]
    assert "best" in gbdt[2][1] and "best" not in btyd[2][1]
    # every column has exactly one highlighted model (no ties in these numbers)
    for j in range(1, 11):
        assert ("best" in gbdt[j][1]) != ("best" in btyd[j][1])


def test_images_inline_and_nothing_external(full):
    _, _, _, text = full
    page = Page(text)
    # gain (1) + a decile chart per model (2) + calibration (1) + gbdt importance (1)
    assert len(page.imgs) == 5
    assert len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', text)) == 5
    assert all(src.startswith("data:image/png;base64,") for src in page.imgs)
    assert not [u for u in page.links if u.startswith(("http://", "https://", "//"))]
    assert all(u.startswith(("data:", "#")) for u in page.links)
    assert "<script" not in text and "<link" not in text
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text)


def test_calibration_and_slices(full):
    result, data, _, text = full
    page = Page(text)
    m = expected_metrics(result)
    for name in ("gbdt", "btyd"):  # AUC and Brier in the table beside the figure
        cells = [c for c, _ in page.rows[f"data-calibration={name}"]]
        assert f"{m[name]['auc']:.3f}" in cells and f"{m[name]['brier']:.3f}" in cells
    # slices for the best model by Gini: every attribute (age in quintiles), a row per group
    assert "attr_country" in text
    groups = [k.split("=", 1)[1] for k in page.rows if k.startswith("data-group=")]
    assert sorted(g.split("=", 1)[1] for g in groups if g.startswith("attr_country=")) \
        == sorted(COUNTRIES)
    assert len([g for g in groups if g.startswith("attr_age=")]) == 5
    best = result.predictions[result.predictions["model"] == "gbdt"].reset_index(drop=True)
    y = result.actual.reindex(best["customer_id"]).to_numpy()
    country = data.snapshot.set_index("customer_id")["attr_country"].reindex(best["customer_id"])
    table = sliced(best, y, country.to_numpy())
    for g in COUNTRIES:
        cells = [c for c, _ in page.rows[f"data-group=attr_country={g}"]]
        assert cells[1] == f"{int(table.loc[g, 'n']):,}"
        assert cells[7] == f"{table.loc[g, 'mae']:,.2f}"
        assert cells[8] == f"{table.loc[g, 'mae_ratio']:.2f}"
        assert cells[9] == f"{table.loc[g, 'error_ratio']:.2f}"
    # countries carry no effect in the synthetic data: nothing is flagged
    assert "No group&#x27;s error is far above" in text or "No group's error is far above" in text


def test_same_input_same_bytes(full, tmp_path):
    result, data, _, text = full
    again = write_report(tmp_path / "again.html", result, data=data, title="Backtest <synthetic>")
    assert again.read_text(encoding="utf-8") == text


# ---------------------------------------------------------------- optional parts


def test_without_data_or_importance_sections_are_skipped(tmp_path):
    result, _ = synthetic()
    result.models = {}
    path = write_report(tmp_path / "r.html", result)
    page = Page(path.read_text(encoding="utf-8"))
    assert page.h2 == [TITLES[k] for k in ("summary", "comparison", "gain", "deciles",
                                           "calibration")]
    assert len(page.imgs) == 4


def test_snapshot_without_attributes_skips_slices(tmp_path):
    result, data = synthetic()
    data.snapshot = data.snapshot.drop(columns=["attr_country", "attr_age"])
    page = Page(render_report(result, data=data))
    assert TITLES["slices"] not in page.h2 and TITLES["importance"] in page.h2


def test_without_p_active_no_calibration(tmp_path):
    result, _ = synthetic()
    result.predictions = result.predictions.drop(columns=["p_active"])
    page = Page(render_report(result))
    assert TITLES["calibration"] not in page.h2
    assert page.rows["data-model=gbdt"][5][0] == "\u2014"  # AUC cell


def test_no_actual_is_an_error_and_leaves_old_file(tmp_path):
    result, _ = synthetic()
    result.actual = None
    path = tmp_path / "r.html"
    path.write_text("old")
    with pytest.raises(LTVError, match="nothing to score"):
        write_report(path, result)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_customers_without_actual_are_left_out_and_counted():
    result, _ = synthetic()
    result.actual = result.actual.drop(result.actual.index[:50])
    text = render_report(result)
    assert "50 predicted customers have no actual value" in text
    assert "1,950 customers" in text


def test_unknown_slice_column_warns_in_the_report():
    result, data = synthetic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = render_report(result, data=data, slice_by="attr_contry")
    assert any("attr_contry" in str(w.message) for w in caught)
    assert "no column &#x27;attr_contry&#x27;" in text and "attr_country" in text


def test_numeric_attribute_is_binned():
    result, data = synthetic()
    page = Page(render_report(result, data=data, slice_by="attr_age"))
    groups = [k.split("=", 2)[2] for k in page.rows if k.startswith("data-group=")]
    assert len(groups) == 5 and all(" to " in g for g in groups)


def test_many_groups_fold_into_other_and_bad_group_is_flagged():
    countries = [f"K{i:02d}" for i in range(24)]
    result, data = synthetic(countries=countries)
    # make customers of K00 badly predicted by every model
    bad = set(data.snapshot.loc[data.snapshot["attr_country"] == "K00", "customer_id"])
    rows = result.predictions["customer_id"].isin(bad)
    result.predictions.loc[rows, "ltv"] += 2000.0
    text = render_report(result, data=data, slice_by="attr_country")
    page = Page(text)
    groups = [k.split("=", 2)[2] for k in page.rows if k.startswith("data-group=")]
    assert len(groups) == 15 and groups[-1] == "other (10 groups)"
    flagged = page.rows.get("data-group=attr_country=K00")
    if flagged is not None:  # K00 is among the 14 biggest
        assert flagged[-1][0].startswith("\u26a0")
        assert [g for g in groups if page.rows[f"data-group=attr_country={g}"][-1][0]] == ["K00"]
    else:
        assert "Flagged on their own but pooled above: K00" in text
    assert "1 group with an error far above the overall error: country <b>K00</b>" in text


def test_anchor_rows():
    result, _ = synthetic()
    anchors = {"Wang et al. 2019": {"gini": 0.368, "spearman": 0.484, "decile_mape": 0.21}}
    page = Page(render_report(result, anchors=anchors))
    cells = [c for c, _ in page.rows["data-anchor=Wang et al. 2019"]]
    assert cells[:4] == ["Wang et al. 2019 (anchor)", "0.368", "0.484", "21.0%"]
    assert set(cells[4:]) == {"\u2014"}
    # anchors never take the highlight
    assert all("best" not in cls for _, cls in page.rows["data-anchor=Wang et al. 2019"])


class FakeEnsemble:
    name = "auto"

    def __init__(self, members, weights):
        self.members_ = members
        self.weights_ = weights


def test_ensemble_weights_and_member_importance():
    result, data = synthetic()
    imp = pd.Series([3.0, 1.0], index=["recency", "frequency"])
    ensemble = FakeEnsemble([FakeModel("gbdt", imp), FakeModel("btyd")],
                            {"gbdt": 0.75, "btyd": 0.5})
    result.predictions["model"] = result.predictions["model"].replace({"gbdt": "auto"})
    result.models = {"auto": ensemble, "btyd": FakeModel("btyd")}
    text = render_report(result, data=data)
    page = Page(text)
    assert TITLES["importance"] in page.h2 and f"{TITLES['weights']}: auto" in text
    assert [c for c, _ in page.rows["data-member=gbdt"]] == ["gbdt", "0.750", "60.0%"]
    assert [c for c, _ in page.rows["data-member=btyd"]] == ["btyd", "0.500", "40.0%"]
    assert len(page.imgs) == 5  # gain, 2 deciles, calibration, the member's importance
    assert "gbdt in auto, weight 0.75: top 2 features" in text


def test_weights_only_section_title():
    result, _ = synthetic()
    result.models = {"gbdt": FakeEnsemble([FakeModel("a"), FakeModel("b")], [0.2, 0.8])}
    page = Page(render_report(result))
    assert TITLES["weights"] in page.h2 and TITLES["importance"] not in page.h2
    assert [c for c, _ in page.rows["data-member=b"]] == ["b", "0.800", "80.0%"]


def test_leaves_matplotlib_state_alone():
    import matplotlib
    from matplotlib import pyplot as plt

    backend = matplotlib.get_backend()
    rc = dict(matplotlib.rcParams)
    figures = plt.get_fignums()
    result, _ = synthetic(n=300)
    render_report(result)
    assert matplotlib.get_backend() == backend
    assert plt.get_fignums() == figures
    assert dict(matplotlib.rcParams) == rc


def test_returns_path_and_creates_parents(tmp_path):
    result, _ = synthetic(n=300)
    out = write_report(str(tmp_path / "a" / "b" / "r.html"), result)
    assert isinstance(out, Path) and out.exists()
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_default_slice_skips_an_attribute_nobody_has():
    result, data = synthetic(n=600)
    data.snapshot.insert(1, "attr_channel", None)  # e.g. a source without a channel field
    text = render_report(result, data=data)
    assert "data-group=\"attr_country=" in text and "data-group=\"attr_channel=" not in text


def test_pooled_row_is_never_flagged():
    countries = [f"K{i:02d}" for i in range(24)]
    result, data = synthetic(countries=countries)
    shown = {k.split("=", 2)[-1]
             for k in Page(render_report(result, data=data, slice_by="attr_country")).rows}
    pooled = data.snapshot["attr_country"].map(lambda c: c not in shown)
    ids = set(data.snapshot.loc[pooled, "customer_id"])
    result.predictions.loc[result.predictions["customer_id"].isin(ids), "ltv"] += 2000.0
    page = Page(render_report(result, data=data, slice_by="attr_country"))
    pooled = page.rows["data-group=attr_country=other (10 groups)"]
    assert float(pooled[8][0]) > 2 and pooled[-1][0] == ""
