"""The "Metrics by segment" section: one table per attribute (every attr_* column that splits
customers) and per segmentation the caller provides (RFM segment, LTV tier at the cutoff), with
the groups whose error is far above the overall error flagged (`ltv.evaluation.slices`).

`slice_table_html` and `flag_sentence` are shared with the drift report, which renders the
same tables from a stored verdict (rows as `slices.slice_records` writes them).
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from ltv.evaluation.report import formatting as fmt
from ltv.evaluation.report.html import esc, table, td
from ltv.evaluation.report.inputs import SliceTable, group_labels, slice_columns, slice_metrics
from ltv.evaluation.report.sections import TITLES, Context, Section

LABELS = {"rfm_segment": "RFM segment", "ltv_tier": "LTV tier"}
RULE_NOTE = (
    "A group is flagged (red, \u26a0) when it has at least 30 customers and its error is far "
    "above the overall error by more than sampling noise: its MAE is at least 1.5\u00d7 that "
    "of customers predicted alike (same twentieth of predicted value), its |bias| at least "
    "1.5\u00d7 the overall |bias| and 10 points above it, or (200+ customers) its decile MAPE "
    "at least 1.5\u00d7 the overall and above that of random groups predicted alike; each "
    "with a z-test at 1% split over the groups and errors of the table. The plain MAE / "
    "overall is shown but not flagged: it grows with the amounts a group spends.")


def label(column: str) -> str:
    """How a slice column is named on the page: attr_country -> country."""
    if column in LABELS:
        return LABELS[column]
    return column[5:] if column.startswith("attr_") else column


def short_flag(row: Any) -> str:
    """The flag cell: which errors are far above, e.g. '\u26a0 error \u00d72.3, bias -45%'."""
    if not row.get("flagged"):
        return ""
    bits = []
    if row.get("flag_error"):
        bits.append(f"error \u00d7{row['error_ratio']:.1f}")
    if row.get("flag_bias"):
        bits.append(f"bias {100 * row['bias']:+.0f}%")
    if row.get("flag_decile"):
        bits.append(f"decile MAPE \u00d7{row['decile_mape_ratio']:.1f}")
    return "\u26a0 " + ", ".join(bits)


def _value(row: Any, key: str) -> float:
    value = row.get(key)
    return float("nan") if value is None else value


def slice_table_html(column: str, rows: pd.DataFrame, overall: dict[str, Any],
                     money_label: str) -> str:
    """One slice table: a row per group (index = group, columns as `slices.sliced` + share)
    and a total row from `overall` (`metrics.evaluate` over all customers)."""
    out = []
    for key, r in rows.iterrows():
        r = {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
        flagged = bool(r.get("flagged"))
        out.append(f'<tr class="{"flag" if flagged else ""}" '
                   f'data-group="{esc(column)}={esc(key)}">'
                   + td(str(key), "name") + td(fmt.count(r["n"]))
                   + td(fmt.percent(r.get("share"))) + td(fmt.money(r.get("mean_actual")))
                   + td(fmt.money(r.get("mean_pred"))) + td(fmt.signed_percent(r.get("bias")))
                   + td(fmt.ratio(r.get("gini"))) + td(fmt.money(r.get("mae")))
                   + td(fmt.ratio(r.get("mae_ratio"), 2)) + td(fmt.ratio(r.get("error_ratio"), 2))
                   + td(fmt.percent(r.get("decile_mape"))) + td(short_flag(r), "flagcell")
                   + "</tr>")
    out.append('<tr class="total">' + td("all customers", "name")
               + td(fmt.count(overall["n"])) + td(fmt.percent(1.0))
               + td(fmt.money(overall.get("mean_actual"))) + td(fmt.money(overall.get("mean_pred")))
               + td(fmt.signed_percent(overall.get("bias"))) + td(fmt.ratio(overall.get("gini")))
               + td(fmt.money(overall.get("mae"))) + td(fmt.ratio(1.0, 2)) + td(fmt.ratio(1.0, 2))
               + td(fmt.percent(overall.get("decile_mape"))) + td("") + "</tr>")
    head = [(label(column), ""), ("Customers", ""), ("Share", "share of customers scored"),
            ("Mean actual", f"mean actual spend per customer ({money_label})"),
            ("Mean predicted", f"mean predicted spend per customer ({money_label})"),
            ("Bias", "total predicted / total actual - 1"),
            ("Gini", "normalized Gini within the group"),
            ("MAE", f"mean absolute error per customer ({money_label})"),
            ("MAE / overall", "the group's MAE divided by the MAE over all customers (grows "
             "with the amounts: not flagged)"),
            ("Error vs alike", "the group's MAE divided by the MAE of customers with the same "
             "predicted value (the same twentieth of predictions)"),
            ("Decile MAPE", "decile MAPE within the group"),
            ("Flag", "error far above overall, beyond noise")]
    return table(head, out)


def flag_sentence(flagged: list[tuple[str, str, str]]) -> str:
    """One paragraph naming every flagged (column, group, reasons), or saying there is none."""
    if not flagged:
        return ("<p>No group's error is far above the overall error beyond sampling noise "
                "(rule below).</p>")
    items = [f"{esc(label(c))} <b>{esc(g)}</b>" + (f" ({esc(r)})" if r else "")
             for c, g, r in flagged]
    n = len(items)
    return (f'<p class="warning">\u26a0 {n} group{"s" if n != 1 else ""} with an error far '
            f'above the overall error: {"; ".join(items)}.</p>')


def _dimensions(ctx: Context, snapshot: pd.DataFrame, best) -> list[tuple[str, pd.Series]]:
    """(column, group label per customer of the best model) for every slice shown."""
    ids = best.predictions["customer_id"]
    if ctx.slice_by:
        columns = [c.strip() for c in str(ctx.slice_by).split(",") if c.strip()]
    else:
        columns = slice_columns(snapshot)
    out = []
    for column in columns:
        if column not in snapshot.columns:
            attrs = [c for c in snapshot.columns if str(c).startswith("attr_")]
            message = (f"slice_by: no column '{column}' in the features; available: "
                       f"{', '.join(attrs) or 'none'}")
            warnings.warn(message, stacklevel=4)
            ctx.warnings.append(message)
            continue
        out.append((column, group_labels(snapshot, column, ids).rename(column)))
    if ctx.segmenter is not None and not ctx.slice_by:
        # segments as of the cutoff: features before it and the predictions made at it
        groups = ctx.segmenter(snapshot, best.predictions[["customer_id", "ltv"]])
        for column in [c for c in groups.columns if c != "customer_id"]:
            out.append((column, group_labels(groups, column, ids).rename(column)))
    return out


def build(ctx: Context) -> Section | None:
    data = ctx.data
    snapshot = getattr(data, "snapshot", None) if data is not None else None
    if snapshot is None or "customer_id" not in snapshot.columns:
        return None
    best = ctx.inputs.best()
    dimensions = _dimensions(ctx, snapshot, best)
    if not dimensions:
        if ctx.slice_by:
            return Section("slices", TITLES["slices"], "".join(
                f'<p class="warning">{esc(w)}</p>' for w in ctx.warnings))
        return None
    results: list[SliceTable] = [slice_metrics(best, groups) for _, groups in dimensions]
    flagged = [(r.column, g, why) for r in results for g, why in r.flagged()]
    body = [f'<p>Model <b>{esc(best.name)}</b> (highest Gini), per group of customers as of '
            f'the cutoff, biggest groups first.</p>', flag_sentence(flagged)]
    body += [f'<p class="warning">{esc(w)}</p>' for w in ctx.warnings if w.startswith("slice_by")]
    for result in results:
        heading = label(result.column)
        more = f" ({result.column})" if heading != result.column else ""
        intro = f'{result.n_groups:,} group{"s" if result.n_groups != 1 else ""}'
        if result.folded:
            intro += f"; the {result.folded:,} smallest are pooled in the last row"
        if result.folded_flagged:
            shown = ", ".join(result.folded_flagged[:10])
            extra = len(result.folded_flagged) - 10
            intro += (f". Flagged on their own but pooled above: {shown}"
                      + (f" and {extra} more" if extra > 0 else ""))
        body.append(f'<h3>{esc(heading)}<span class="muted">{esc(more)}</span></h3>'
                    f'<p class="muted">{esc(intro)}.</p>'
                    + slice_table_html(result.column, result.table, result.overall,
                                       ctx.money_label))
    body.append(f'<p class="note">{esc(RULE_NOTE)} Attributes and segments are taken as of '
                'the cutoff (RFM cut points and LTV tiers fitted on the customers at the '
                'cutoff, no label involved).</p>')
    return Section("slices", TITLES["slices"], "".join(body))
