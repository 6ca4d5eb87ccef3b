"""The report's figures, each returned as an inline PNG (a data: URI) ready for <img src>.

Figures are built with `matplotlib.figure.Figure` and the Agg canvas directly, never through
pyplot: nothing is registered in pyplot's global figure list, the process-wide backend is
left alone, and style settings are applied inside `rc_context`, which restores them. So
making a report changes no matplotlib state a caller may rely on.

Sizes: every figure is drawn for 640 x 400 CSS pixels (taller for long importance lists) at
2x resolution, so it stays sharp on high-density screens and when printed.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltv.errors import LTVError
from ltv.evaluation import metrics

WIDTH_PX, HEIGHT_PX = 640, 400
CALIBRATION_HEIGHT_PX = 480  # reliability curve plus the spread of p_active below it
_DPI = 100  # figure inches * 100 = CSS pixels
_SCALE = 2  # PNG pixels per CSS pixel

# Okabe-Ito, a palette that stays distinguishable with the common colour-vision deficiencies.
# Black is kept for the ideal curve and grey for "actual" and "random".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C564B",
           "#7F7F7F", "#BCBD22", "#17BECF")
IDEAL_COLOR, RANDOM_COLOR, ACTUAL_COLOR = "#000000", "#9A9A9A", "#9A9A9A"

_STYLE = {
    "font.size": 10, "axes.titlesize": 11, "axes.titleweight": "bold", "axes.labelsize": 10,
    "legend.fontsize": 9, "legend.frameon": False, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6,
    "axes.axisbelow": True, "figure.facecolor": "white", "axes.facecolor": "white",
    "path.simplify": True,
}
_GAIN_POINTS = 501  # a gain curve is drawn through this many points, whatever n is


@dataclass(frozen=True)
class Plot:
    """One figure: the PNG as a data: URI, its alt text and its display size in CSS pixels."""

    uri: str
    alt: str
    width: int
    height: int


def colors_for(names: list[str]) -> dict[str, str]:
    """One colour per model, in the order given (the same in every figure and table)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib import rc_context, ticker
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise LTVError("the HTML report needs matplotlib, which is not installed",
                       "pip install matplotlib (or skip the report: leave out --report)") from None
    return rc_context, ticker, FigureCanvasAgg, Figure


def _render(draw, alt: str, height: int = HEIGHT_PX) -> Plot:
    """Run `draw(fig, ticker)` on a fresh Agg figure and return it as a PNG data URI."""
    rc_context, ticker, FigureCanvasAgg, Figure = _matplotlib()
    with rc_context(_STYLE):
        fig = Figure(figsize=(WIDTH_PX / _DPI, height / _DPI), dpi=_DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig, ticker)
        buffer = io.BytesIO()
        # metadata=None entries drop matplotlib's "Software" stamp, so the bytes depend on
        # the data only (and the file holds no URL at all)
        fig.savefig(buffer, format="png", dpi=_DPI * _SCALE, metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Plot(f"data:image/png;base64,{encoded}", alt, WIDTH_PX, height)


def _percent_axis(axis, ticker) -> None:
    axis.set_major_formatter(ticker.PercentFormatter(xmax=1.0, decimals=0))


def _money_axis(axis, ticker) -> None:
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100
                                                  else f"{v:,.2f}".rstrip("0").rstrip(".")))


# ---------------------------------------------------------------- figures


def gain_figure(curves: dict[str, tuple[np.ndarray, float]], actual: np.ndarray,
                colors: dict[str, str]) -> Plot:
    """Cumulative share of actual spend against share of customers, per model.

    `curves` maps a model name to (its predictions, its Gini); the ideal curve (customers
    sorted by actual spend) and the random diagonal are drawn for reference.
    """
    grid = np.linspace(0.0, 1.0, _GAIN_POINTS)

    def draw(fig, ticker):
        ax = fig.add_subplot()
        ideal = None
        for name, (pred, gini) in curves.items():
            curve = metrics.gain_curve(actual, pred)
            ideal = curve
            ax.plot(grid, np.interp(grid, curve.x, curve.model), color=colors[name], lw=1.8,
                    label=f"{name} (Gini {gini:.3f})")
        if ideal is not None:
            ax.plot(grid, np.interp(grid, ideal.x, ideal.ideal), color=IDEAL_COLOR, lw=1.4,
                    ls="--", label="ideal (sorted by actual spend)")
        ax.plot([0, 1], [0, 1], color=RANDOM_COLOR, lw=1.2, ls=":", label="random order")
        ax.axvline(0.1, color="#444444", lw=0.8, ls=(0, (2, 3)), alpha=0.6)
        ax.text(0.105, 0.02, "top 10%", fontsize=8, color="#444444",
                transform=ax.get_xaxis_transform())
        ax.set_xlim(0, 1)
        ax.set_title("Gain curve: cumulative share of actual spend")
        ax.set_xlabel("share of customers, highest predicted value first")
        ax.set_ylabel("share of total actual spend")
        _percent_axis(ax.xaxis, ticker)
        _percent_axis(ax.yaxis, ticker)
        ax.legend(loc="lower right")

    return _render(draw, "Gain curves of " + ", ".join(curves) + " against the ideal and random")


def decile_figure(name: str, table: pd.DataFrame, mape: float, color: str,
                  money_label: str) -> Plot:
    """Mean predicted and mean actual spend per decile of this model's predictions."""

    def draw(fig, ticker):
        ax = fig.add_subplot()
        x = table["decile"].to_numpy()
        w = 0.4
        ax.bar(x - w / 2, table["mean_pred"], w, color=color, label="mean predicted")
        ax.bar(x + w / 2, table["mean_actual"], w, color=ACTUAL_COLOR, label="mean actual")
        ax.axhline(0, color="#333333", lw=0.8)
        ax.set_xticks(x)
        mape_text = "n/a" if np.isnan(mape) else f"{100 * mape:.1f}%"
        ax.set_title(f"{name}: predicted vs actual by decile (decile MAPE {mape_text})")
        ax.set_xlabel("decile of predicted value (1 = lowest, 10 = highest)")
        ax.set_ylabel(f"mean spend per customer ({money_label})")
        _money_axis(ax.yaxis, ticker)
        ax.grid(axis="x", visible=False)
        ax.legend(loc="upper left")

    return _render(draw, f"{name}: mean predicted and actual spend per decile of prediction")


def calibration_figure(models: dict[str, tuple[pd.DataFrame, float, np.ndarray]],
                       colors: dict[str, str]) -> Plot:
    """Reliability curve of p_active per model (with the diagonal), and where p_active lies.

    `models` maps a name to (metrics.calibration_table, Brier score, the p_active values).
    """
    bins = np.linspace(0.0, 1.0, 21)

    def draw(fig, ticker):
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.25])
        top.plot([0, 1], [0, 1], color=RANDOM_COLOR, lw=1.2, ls=":", label="perfectly calibrated")
        for name, (table, brier, p) in models.items():
            top.plot(table["mean_pred"], table["observed_rate"], color=colors[name], lw=1.6,
                     marker="o", ms=4, label=f"{name} (Brier {brier:.3f})")
            share = np.histogram(p, bins=bins)[0] / max(len(p), 1)
            bottom.stairs(share, bins, color=colors[name], lw=1.4)
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        top.set_title("Calibration of p_active (bins of predicted probability)")
        top.set_ylabel("observed share that bought")
        top.legend(loc="upper left")
        _percent_axis(top.yaxis, ticker)
        bottom.set_ylabel("customers", fontsize=9)
        bottom.set_xlabel("predicted probability of buying in the horizon (p_active)")
        _percent_axis(bottom.yaxis, ticker)
        _percent_axis(bottom.xaxis, ticker)

    return _render(draw, "Reliability curves of p_active for " + ", ".join(models),
                   height=CALIBRATION_HEIGHT_PX)


def importance_figure(title: str, importance: pd.Series, color: str, top: int = 20) -> Plot:
    """Horizontal bars of the `top` most important features, as shares of the total."""
    values = importance.astype(float).abs()
    share = (values / values.sum()).sort_values(ascending=False, kind="stable").head(top)
    height = max(HEIGHT_PX, 120 + 22 * len(share))

    def draw(fig, ticker):
        ax = fig.add_subplot()
        labels = [str(i) for i in share.index[::-1]]
        ax.barh(labels, share.to_numpy()[::-1], color=color)
        ax.set_title(title)
        ax.set_xlabel("share of total importance")
        _percent_axis(ax.xaxis, ticker)
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", labelsize=8.5)

    return _render(draw, f"{title}: feature importance", height=height)
