"""`write_report`: assemble the sections into one self-contained HTML file, atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ltv.evaluation.report import sections, slice_section
from ltv.evaluation.report.html import esc, page
from ltv.evaluation.report.inputs import prepare
from ltv.evaluation.report.plots import colors_for
from ltv.models.persistence import atomic_write_text
from ltv.models.protocol import TrainingData

DEFAULT_TITLE = "Customer lifetime value backtest"


def render_report(result, *, data: TrainingData | None = None, slice_by: str | None = None,
                  title: str | None = None, anchors: dict[str, dict[str, float]] | None = None,
                  dataset: str | None = None, currency: str | None = None,
                  interval_level: float = 0.8, segmenter: Callable | None = None) -> str:
    """The report as an HTML string (see `write_report`)."""
    inputs = prepare(result.predictions, result.actual)
    ctx = sections.Context(
        inputs=inputs, models=dict(getattr(result, "models", None) or {}), data=data,
        colors=colors_for(inputs.names), money_label=currency or "currency units",
        dataset=dataset, slice_by=slice_by, anchors=anchors, interval_level=interval_level,
        segmenter=segmenter)
    builders = sections.BUILDERS + (slice_section.build,)
    built = [s for s in (build(ctx) for build in builders) if s is not None]
    bits = []
    if dataset:
        bits.append(dataset)
    if data is not None:
        bits.append(f"cutoff {sections._date(data.cutoff)}, horizon {data.horizon_days} days")
    bits.append(f"{inputs.n_customers:,} customers, {len(inputs.models)} "
                f"model{'s' if len(inputs.models) != 1 else ''}")
    from ltv import __version__ as version

    return page(title or DEFAULT_TITLE, " \u00b7 ".join(bits),
                [(s.anchor, s.title) for s in built], "\n".join(s.html() for s in built),
                f"Written by ltv {esc(version)}. This file is self-contained: images and "
                "styles are inline, so it can be mailed or archived as is.")


def write_report(path: str | Path, result, *, data: TrainingData | None = None,
                 slice_by: str | None = None, title: str | None = None,
                 anchors: dict[str, dict[str, float]] | None = None,
                 dataset: str | None = None, currency: str | None = None,
                 interval_level: float = 0.8, segmenter: Callable | None = None) -> Path:
    """Write a self-contained HTML report of a backtest to `path` and return the path.

    `result` is a `BacktestResult` with `actual` set. Optional parts are used when given and
    their sections skipped when not: `data` (cutoff, horizon, attributes for slicing),
    `slice_by` (attr_* columns of `data.snapshot`, comma-separated; default every attribute
    that splits customers, plus the `segmenter`'s groups), `segmenter` (a function of the
    features at the cutoff and the best model's predictions (customer_id, ltv) returning
    customer_id and group columns, e.g. `ltv.cli.slicing.segment_groups`), fitted models
    with `feature_importance_` or ensemble `members_`/`weights_`, `anchors` (reference
    metric rows, name -> {metric key of `metrics.evaluate`: value}), `dataset` (a name for
    the header), `currency` (the money unit in labels), `interval_level` (the nominal
    coverage of [ltv_lo, ltv_hi]). The file is written to a temporary file next to `path`
    and moved into place, so a reader never sees half a report.
    """
    text = render_report(result, data=data, slice_by=slice_by, title=title, anchors=anchors,
                         dataset=dataset, currency=currency, interval_level=interval_level,
                         segmenter=segmenter)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(target, text)
