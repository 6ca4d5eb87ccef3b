"""The drift report's figures, each an inline PNG (`ltv.evaluation.report.plots.Plot`), drawn
with the evaluation report's renderer and palette, so both reports look alike and neither
touches pyplot's global state."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltv.evaluation.report.plots import HEIGHT_PX, PALETTE, Plot
from ltv.evaluation.report.plots import _render as render

STATUS_COLORS = {"ok": "#009E73", "watch": "#E69F00", "drift": "#D55E00"}
REFERENCE_COLOR, CURRENT_COLOR = "#9A9A9A", PALETTE[0]


def mean_prediction_figure(windows: list[dict], history: list[dict], band_mean: float | None,
                           band_std: float | None, sigmas: float) -> Plot:
    """Mean predicted ltv per monitored cutoff (coloured by status) after the training
    windows' means, against the band band_mean ± sigmas * band_std."""

    def draw(fig, ticker):
        ax = fig.add_subplot()
        if windows:
            ax.plot(pd.to_datetime([w["cutoff"] for w in windows]),
                    [w["mean_ltv"] for w in windows], "o", color=REFERENCE_COLOR,
                    label="training windows")
        x = pd.to_datetime([h["cutoff"] for h in history])
        y = np.array([np.nan if h["mean_ltv"] is None else h["mean_ltv"] for h in history])
        ax.plot(x, y, "-", color=CURRENT_COLOR, lw=1.4, label="monitored snapshots")
        for status, color in STATUS_COLORS.items():
            pick = [h["prediction_status"] == status for h in history]
            if any(pick):
                ax.plot(x[pick], y[pick], "o", color=color, ms=6, label=f"prediction {status}")
        if band_mean is not None and band_std is not None:
            ax.axhspan(band_mean - sigmas * band_std, band_mean + sigmas * band_std,
                       color=REFERENCE_COLOR, alpha=0.18, lw=0,
                       label=f"training band (mean \u00b1 {sigmas:g}\u03c3)")
            ax.axhline(band_mean, color=REFERENCE_COLOR, lw=1, ls="--")
        ax.set_title("Mean predicted ltv per snapshot")
        ax.set_ylabel("mean predicted ltv per customer")
        ax.legend(loc="best")
        fig.autofmt_xdate()

    return render(draw, "Mean predicted ltv per cutoff against the training band")


def psi_heatmap_figure(history: list[dict], features: list[str]) -> Plot:
    """PSI of `features` (rows) at each monitored cutoff (columns): when drift started."""
    values = np.array([[np.nan if h["psi"].get(f) is None else h["psi"][f] for h in history]
                       for f in features], dtype=float)
    height = max(HEIGHT_PX, 140 + 22 * len(features))

    def draw(fig, ticker):
        ax = fig.add_subplot()
        image = ax.imshow(np.minimum(values, 1.0), aspect="auto", cmap="YlOrRd", vmin=0,
                          vmax=0.5, interpolation="nearest")
        ax.set_yticks(range(len(features)), features, fontsize=8.5)
        labels = [pd.Timestamp(h["cutoff"]).strftime("%Y-%m-%d") for h in history]
        step = max(1, len(labels) // 12)
        ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right",
                      fontsize=8.5)
        ax.grid(False)
        ax.set_title("PSI per feature and cutoff (features with the largest PSI)")
        fig.colorbar(image, ax=ax, label="PSI (0.1 watch, 0.2 drift; capped at 0.5)")

    return render(draw, "PSI of the most drifted features at each cutoff", height=height)


def psi_bars_figure(results: list[dict], top: int = 25) -> Plot:
    """PSI of the `top` features with the largest PSI at the latest cutoff, by status."""
    shown = sorted([r for r in results if r.get("psi") is not None],
                   key=lambda r: -r["psi"])[:top][::-1]
    height = max(HEIGHT_PX, 120 + 22 * len(shown))

    def draw(fig, ticker):
        ax = fig.add_subplot()
        ax.barh([r["name"] for r in shown], [r["psi"] for r in shown],
                color=[STATUS_COLORS[r["status"]] for r in shown])
        for level, label in ((0.1, "watch"), (0.2, "drift")):
            ax.axvline(level, color="#444444", lw=0.8, ls=(0, (2, 3)))
            ax.text(level, 1.0, f" {label}", transform=ax.get_xaxis_transform(),
                    fontsize=8, va="bottom", color="#444444")
        ax.set_xlabel("PSI against the training reference (bar colour: feature status)")
        ax.set_title("Population stability index at the latest cutoff", pad=14)
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", labelsize=8.5)

    return render(draw, "PSI per feature at the latest cutoff", height=height)


def distribution_figure(result: dict, profile: dict) -> Plot:
    """Reference against current share of rows per PSI bin (numbers) or per category."""
    ref = list(profile.get("shares") or [])
    if profile.get("kind") == "string":
        labels = list(profile.get("categories") or {}) + ["(other)"]
        ref = list((profile.get("categories") or {}).values()) + [profile.get("other") or 0.0]
    else:
        labels = bin_labels(profile.get("edges") or [])
    cur = list(result.get("current_shares") or [0.0] * len(ref))

    def draw(fig, ticker):
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        ax.bar(x - 0.2, ref, 0.4, color=REFERENCE_COLOR, label="training reference")
        ax.bar(x + 0.2, cur, 0.4, color=STATUS_COLORS[result["status"]], label="latest snapshot")
        ax.set_xticks(x, labels, rotation=40 if len(labels) > 5 else 0, ha="right"
                      if len(labels) > 5 else "center", fontsize=8)
        ax.yaxis.set_major_formatter(ticker.PercentFormatter(xmax=1.0, decimals=0))
        ax.set_ylabel("share of non-missing rows")
        what = result.get("psi")
        ax.set_title(f"{result['name']}: " + (f"PSI {what:.3f}" if what is not None else ""))
        ax.grid(axis="x", visible=False)
        ax.legend(loc="best")

    return render(draw, f"Distribution of {result['name']}: training reference and latest "
                  "snapshot")


def bin_labels(edges: list[float]) -> list[str]:
    """'≤ e0', '(e0, e1]', ..., '> e_last' for the bins of `bin_index`."""
    if not edges:
        return ["all"]
    fmt = [_number(e) for e in edges]
    inner = ["(%s, %s]" % pair for pair in zip(fmt, fmt[1:])]
    return ["\u2264 " + fmt[0]] + inner + ["> " + fmt[-1]]


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
