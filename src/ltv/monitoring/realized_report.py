"""The drift report's "Realized accuracy" section, from the verdict's "realized" part alone:
one row per snapshot (matured: its metrics and flagged groups; pending: when it matures),
then the slice tables of the latest matured snapshot, with the backtest report's flags."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ltv.evaluation.report.formatting import DASH, count, money, percent, ratio, signed_percent
from ltv.evaluation.report.html import esc, table, td
from ltv.evaluation.report.slice_section import (RULE_NOTE, flag_sentence, label,
                                                 slice_table_html)

ANCHOR, HEADING = "realized", "Realized accuracy"


def realized_section(verdict: dict[str, Any]) -> tuple[str, str, str]:
    """(anchor, heading, html); html is "" for a verdict without a realized part."""
    realized = verdict.get("realized") or {}
    snapshots = realized.get("snapshots") or []
    if not snapshots:
        return ANCHOR, HEADING, ""
    horizon = realized.get("horizon_days")
    rows = []
    for r in snapshots:
        day = str(r["cutoff"])[:10]
        if r["status"] != "matured":
            due = str(r.get("matures_on") or "")[:10]
            rows.append(f'<tr data-realized="{esc(day)}">' + td(day, "name")
                        + td(f"pending until {due}" if due else "pending", "name")
                        + td(DASH) * 5 + td(r.get("reason", ""), "name") + "</tr>")
            continue
        m = r["metrics"]
        names = [f"{label(f['slice'])} {f['group']}" for f in r["flagged"]]
        cls = ' class="flag"' if names else ""
        rows.append(f'<tr{cls} data-realized="{esc(day)}">' + td(day, "name")
                    + td("matured", "name")
                    + td(count(r["customers"])) + td(money(m.get("mae")))
                    + td(signed_percent(m.get("bias"))) + td(ratio(m.get("gini")))
                    + td(percent(m.get("decile_mape")))
                    + td(("\u26a0 " + ", ".join(names)) if names else "none",
                         "name flagcell") + "</tr>")
    head = [("cutoff", ""), ("status", "matured: the whole horizon after the cutoff is in "
                             "the data"), ("customers", ""),
            ("MAE", "mean absolute error per customer over the horizon"),
            ("bias", "total predicted / total actual - 1"), ("Gini", "normalized Gini"),
            ("decile MAPE", ""), ("groups flagged", "error far above the overall error")]
    end = str(realized.get("end_of_data"))[:10]
    intro = (f"<p>The served model's predictions at each snapshot against what the customers "
             f"then spent over the {esc(horizon)} days after it. A snapshot is scored once "
             f"its horizon has fully passed (data until {esc(end)}).</p>"
             if horizon else "<p>The model records no horizon: nothing can be scored.</p>")
    body = intro + table(head, rows)
    latest = next((r for r in reversed(snapshots) if r["status"] == "matured"), None)
    if latest is None:
        body += "<p>No snapshot has matured yet.</p>"
        return ANCHOR, HEADING, body
    body += (f"<h3>By group at {esc(str(latest['cutoff'])[:10])}</h3>"
             + flag_sentence([(f["slice"], f["group"], f["reasons"]) for f in latest["flagged"]]))
    for column, records in latest["slices"].items():
        frame = pd.DataFrame(records).set_index("group")
        body += (f'<h3>{esc(label(column))}<span class="muted"> ({esc(column)})</span></h3>'
                 + slice_table_html(column, frame, latest["metrics"], "currency units"))
    body += f'<p class="note">{esc(RULE_NOTE)}</p>'
    return ANCHOR, HEADING, body
