"""The report's sections, each a function of the report context returning HTML (or None).

A section whose material is missing (no p_active, no model with feature importance, no
attribute to slice by) returns None and is left out of the page and of its table of
contents; nothing here raises for a missing optional part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ltv.evaluation import metrics
from ltv.evaluation.report import formatting as fmt
from ltv.evaluation.report import plots
from ltv.evaluation.report.html import esc, figures, img, swatch, table, td
from ltv.evaluation.report.inputs import ReportInputs
from ltv.evaluation.report.table import COLUMNS, best_rows, cell
from ltv.models.protocol import TrainingData

TITLES = {
    "summary": "Summary",
    "comparison": "Model comparison",
    "gain": "Gain curve",
    "deciles": "Predicted vs actual by decile",
    "calibration": "Calibration of p_active",
    "importance": "Feature importance",
    "weights": "Ensemble weights",
    "slices": "Metrics by segment",
}
TOP_FEATURES = 20


@dataclass
class Context:
    inputs: ReportInputs
    models: dict[str, object]
    data: TrainingData | None
    colors: dict[str, str]
    money_label: str
    dataset: str | None = None
    slice_by: str | None = None
    anchors: dict[str, dict[str, float]] | None = None
    interval_level: float = 0.8
    warnings: list[str] = field(default_factory=list)
    # (features at the cutoff, predictions customer_id/ltv) -> customer_id + group columns,
    # e.g. RFM segment and LTV tier; None: slice by attributes only
    segmenter: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame] | None = None

    @property
    def horizon_text(self) -> str:
        return f"{self.data.horizon_days} days" if self.data is not None else "the horizon"


@dataclass
class Section:
    anchor: str
    title: str
    body: str

    def html(self) -> str:
        return f'<section id="{esc(self.anchor)}"><h2>{esc(self.title)}</h2>{self.body}</section>'


def _date(value) -> str:
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat(sep=" ")


def _fact(label: str, value: str, detail: str | None = None) -> str:
    more = f'<span class="detail">{esc(detail)}</span>' if detail else ""
    return (f'<div class="fact"><span class="label">{esc(label)}</span>'
            f'<span class="value">{esc(value)}</span>{more}</div>')


# ---------------------------------------------------------------- 1. summary


def summary(ctx: Context) -> Section:
    inp, data = ctx.inputs, ctx.data
    first = inp.models[0]
    facts = [("Dataset", ctx.dataset)] if ctx.dataset else []
    facts += [
        ("Cutoff", _date(data.cutoff) if data is not None else fmt.DASH),
        ("Horizon", f"{data.horizon_days} days" if data is not None else fmt.DASH),
        ("Customers scored", fmt.count(inp.n_customers)),
        (f"Total actual spend ({ctx.money_label})", fmt.money(inp.total_actual)),
        ("Bought in the horizon", fmt.percent(float(first.active.mean()))),
        ("Models", ", ".join(inp.names)),
    ]
    if data is not None and "cutoff" in getattr(data.windows, "columns", []) \
            and len(data.windows):
        cuts = pd.to_datetime(data.windows["cutoff"]).drop_duplicates()
        facts.append(("Training windows", f"{len(cuts)}",
                      f"cutoffs {_date(cuts.min())} to {_date(cuts.max())}"))
    notes = []
    if inp.unlabeled:
        notes.append(f"{inp.unlabeled:,} predicted customers have no actual value and are "
                     "left out of every number below.")
    notes += inp.notes + ctx.warnings
    level = fmt.percent(ctx.interval_level, 0)
    howto = f"""<div class="howto"><strong>How to read this</strong><ul>
<li>Each model predicted every customer's net spend over the {esc(ctx.horizon_text)} after
the cutoff, using only data from before it; every number below compares those predictions
with what the customers actually spent.</li>
<li><b>Ranking</b> (Gini, Spearman, top-10% capture, gain curve): does the model put the
valuable customers first? Gini 1 is a perfect order and 0 a random one; top-10% capture is
the share of all spend held by the 10% of customers the model ranks highest, to be read
against the ideal.</li>
<li><b>Amounts</b> (decile MAPE, MAE, RMSE, R&sup2;, bias, decile chart): are the predicted
amounts right? A positive bias means the model predicts more in total than was spent.</li>
<li><b>p_active</b> (AUC, calibration): the predicted probability of buying at all in the
horizon; calibrated means that of the customers given 30%, about 30% bought.</li>
<li><b>Interval coverage</b>: the share of customers whose actual spend fell inside
[ltv_lo, ltv_hi]; close to the nominal {level} is right.</li>
<li>Green cells mark the best model in each column; hover a column heading for its
definition. Money is in {esc(ctx.money_label)}.</li></ul></div>"""
    body = (f'<div class="facts">{"".join(_fact(*f) for f in facts)}</div>'
            + "".join(f'<p class="warning">{esc(n)}</p>' for n in notes) + howto)
    return Section("summary", TITLES["summary"], body)


# ---------------------------------------------------------------- 2. comparison


def comparison(ctx: Context) -> Section:
    rows_metrics = [m.metrics for m in ctx.inputs.models]
    best = {c.key: best_rows(c, rows_metrics, ctx.interval_level) for c in COLUMNS}
    rows = []
    for i, m in enumerate(ctx.inputs.models):
        cells = [td(swatch(ctx.colors[m.name]) + esc(m.name), "name", raw=True)]
        cells += [td(cell(c, m.metrics), "best" if i in best[c.key] else "", raw=True)
                  for c in COLUMNS]
        rows.append(f'<tr data-model="{esc(m.name)}">{"".join(cells)}</tr>')
    for j, (source, values) in enumerate((ctx.anchors or {}).items()):
        cells = [td(f"{source} (anchor)", "name")]
        cells += [td(cell(c, {k: float(v) for k, v in values.items()}), raw=True)
                  for c in COLUMNS]
        cls = "anchor first-anchor" if j == 0 else "anchor"
        rows.append(f'<tr class="{cls}" data-anchor="{esc(source)}">{"".join(cells)}</tr>')
    head = [("Model", "")] + [(c.label, c.help) for c in COLUMNS]
    level = fmt.percent(ctx.interval_level, 0)
    note = (f'<p class="note">Best per column (green): highest Gini, Spearman, capture, AUC '
            f'and R&sup2;; lowest MAPE, MAE and RMSE; bias closest to 0; coverage closest to '
            f'the nominal {level}. ' if len(rows_metrics) > 1 else '<p class="note">')
    note += f'MAE and RMSE are in {esc(ctx.money_label)} per customer.</p>'
    if ctx.anchors:
        note += ('<p class="note">Anchor rows are reference numbers passed in by the caller '
                 '(e.g. published results); they are not recomputed here and may come from '
                 'other data or splits, so compare them in order of magnitude.</p>')
    return Section("comparison", TITLES["comparison"], table(head, rows, "metrics") + note)


# ---------------------------------------------------------------- 3. gain


def gain(ctx: Context) -> Section:
    inp = ctx.inputs
    if not inp.total_actual > 0:
        body = ('<p class="warning">The total actual spend is not positive, so a share of '
                'it means nothing: no gain curve.</p>')
        return Section("gain", TITLES["gain"], body)
    actual = inp.models[0].actual
    same = all(len(m.actual) == len(actual) and np.array_equal(m.actual, actual)
               for m in inp.models)
    figs = []
    if same:
        curves = {m.name: (m.predictions["ltv"].to_numpy(float), m.metrics["gini"])
                  for m in inp.models}
        figs.append(img(plots.gain_figure(curves, actual, ctx.colors)))
    else:  # models scored different customers: one figure each, each with its own ideal
        for m in inp.models:
            curves = {m.name: (m.predictions["ltv"].to_numpy(float), m.metrics["gini"])}
            figs.append(img(plots.gain_figure(curves, m.actual, ctx.colors)))
    caption = ('Customers are taken in order of predicted value, highest first. The height of '
               'a curve at 10% is the top-10% capture; the closer a curve runs to the ideal '
               '(dashed), the better the ranking, and the diagonal is a random order.')
    return Section("gain", TITLES["gain"], figures(figs) + f'<p class="note">{caption}</p>')


# ---------------------------------------------------------------- 4. deciles


def deciles(ctx: Context) -> Section | None:
    figs = []
    for m in ctx.inputs.models:
        if len(m.actual) < metrics.N_DECILES:
            continue
        tab = metrics.decile_table(m.actual, m.predictions["ltv"])
        figs.append(img(plots.decile_figure(m.name, tab, m.metrics["decile_mape"],
                                            ctx.colors[m.name], ctx.money_label)))
    if not figs:
        return None
    note = ('<p class="note">Each model\'s customers are cut into ten equal groups by its own '
            'predictions (1 = lowest). Bars of equal height mean the predicted amounts are '
            'right for that group; a good ranking shows actual spend rising from left to '
            f'right. Amounts are mean spend per customer over {esc(ctx.horizon_text)}.</p>')
    return Section("deciles", TITLES["deciles"], figures(figs) + note)


# ---------------------------------------------------------------- 5. calibration


def calibration(ctx: Context) -> Section | None:
    found = {}
    for m in ctx.inputs.models:
        if not m.has_p_active:
            continue
        p = m.predictions["p_active"].to_numpy(float)
        found[m.name] = (metrics.calibration_table(m.active, p), m.metrics["brier"], p)
    if not found:
        return None
    fig = img(plots.calibration_figure(found, ctx.colors))
    rows = []
    for m in ctx.inputs.models:
        if m.name not in found:
            continue
        p = found[m.name][2]
        rows.append(f'<tr data-calibration="{esc(m.name)}">'
                    + td(swatch(ctx.colors[m.name]) + esc(m.name), "name", raw=True)
                    + td(fmt.ratio(m.metrics["auc"])) + td(fmt.ratio(m.metrics["brier"]))
                    + td(fmt.percent(float(p.mean()))) + td(fmt.percent(float(m.active.mean())))
                    + "</tr>")
    head = [("Model", ""), ("AUC", "ROC AUC of p_active for 'bought in the horizon'"),
            ("Brier", "mean squared error of p_active against the 0/1 outcome (0 is perfect)"),
            ("Mean p_active", "average predicted probability of buying"),
            ("Observed", "share of customers who bought in the horizon")]
    note = ('<p class="note">Top: customers grouped by predicted probability (bins of 10 '
            'points); a calibrated model lies on the diagonal. Bottom: how the predicted '
            'probabilities are spread. A customer counts as having bought when their net '
            'spend in the horizon is above 0.</p>')
    return Section("calibration", TITLES["calibration"], figures([fig]) + table(head, rows) + note)


# ---------------------------------------------------------------- 6. importance and weights


def _importance_series(model: object) -> pd.Series | None:
    raw = getattr(model, "feature_importance_", None)
    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = pd.Series(raw, dtype=float)
    elif not isinstance(raw, pd.Series):
        names = getattr(model, "feature_names_", None)
        values = np.asarray(raw, dtype=float).ravel()
        if names is None or len(names) != values.size:
            return None
        raw = pd.Series(values, index=list(names))
    values = pd.to_numeric(raw, errors="coerce").dropna()
    if values.empty or not np.isfinite(values).all() or values.abs().sum() <= 0:
        return None
    return values


def _weights(model: object) -> dict[str, float] | None:
    members = getattr(model, "members_", None)
    raw = getattr(model, "weights_", None)
    if raw is None:
        return None
    if isinstance(raw, dict):
        return {str(k): float(v) for k, v in raw.items()}
    values = list(np.asarray(raw, dtype=float).ravel())
    names = [getattr(m, "name", f"member {i + 1}") for i, m in enumerate(members or [])]
    if len(names) != len(values):
        names = [f"member {i + 1}" for i in range(len(values))]
    return dict(zip(map(str, names), values))


def importance(ctx: Context) -> Section | None:
    order = ctx.inputs.names + [n for n in ctx.models if n not in ctx.inputs.names]
    figs, weight_tables = [], []
    for name in order:
        model = ctx.models.get(name)
        if model is None:
            continue
        color = ctx.colors.get(name, plots.PALETTE[0])
        series = _importance_series(model)
        if series is not None:
            figs.append(img(plots.importance_figure(
                f"{name}: top {min(TOP_FEATURES, len(series))} features", series, color,
                TOP_FEATURES)))
        weights = _weights(model)
        for member in getattr(model, "members_", None) or []:
            series = _importance_series(member)
            if series is None:
                continue
            member_name = str(getattr(member, "name", "member"))
            w = (weights or {}).get(member_name)
            label = f"{member_name} in {name}" + (f", weight {w:.2f}" if w is not None else "")
            figs.append(img(plots.importance_figure(
                f"{label}: top {min(TOP_FEATURES, len(series))} features", series, color,
                TOP_FEATURES)))
        if weights:
            total = sum(weights.values())
            rows = [f'<tr data-member="{esc(k)}">' + td(k, "name") + td(f"{v:.3f}")
                    + td(fmt.percent(v / total) if total > 0 else fmt.DASH) + "</tr>"
                    for k, v in sorted(weights.items(), key=lambda kv: -kv[1])]
            head = [("Member", ""), ("Weight", "blend weight on the member's predicted value"),
                    ("Share", "weight / sum of weights (the mix of p_active)")]
            weight_tables.append(f"<h3>{esc(TITLES['weights'])}: {esc(name)}</h3>"
                                 + table(head, rows))
    if not figs and not weight_tables:
        return None
    body = ""
    if figs:
        body += figures(figs) + (
            '<p class="note">Importance as each model reports it (e.g. total split gain for '
            'gradient boosting), scaled to shares of its total; it says what the model leans '
            'on, not what causes spend.</p>')
    body += "".join(weight_tables)
    if weight_tables:
        body += ('<p class="note">An ensemble predicts the weighted sum of its members\' '
                 'values; members and weights were chosen on validation windows before the cutoff.</p>')
    title = TITLES["importance"] if figs else TITLES["weights"]
    return Section("importance", title, body)


# ---------------------------------------------------------------- 7. slices: slice_section.py


BUILDERS = (summary, comparison, gain, deciles, calibration, importance)
