"""Rich tables of a drift verdict, for `ltv monitor`."""

from __future__ import annotations

from typing import Any

from rich.table import Table

STYLES = {"ok": "green", "watch": "yellow", "drift": "bold red"}


def _status(status: str | None) -> str:
    return f"[{STYLES.get(status, 'white')}]{status or '-'}[/]"


def _money(value) -> str:
    return "-" if value is None else f"{value:,.2f}"


def drift_tables(verdict: dict[str, Any], top: int = 15) -> list[Table]:
    """One row per cutoff (when drift started), then the latest snapshot's worst features."""
    band = (verdict["latest"].get("prediction") or {}).get("band")
    band_text = f", mean ltv band {_money(band[0])} to {_money(band[1])}" if band else ""
    over_time = Table(title=f"{verdict['name']} version {verdict['version']} against the "
                      f"training reference of {str(verdict['reference']['cutoff'])[:10]}"
                      f"{band_text}")
    for column in ("cutoff", "status", "customers", "drift", "watch", "mean ltv",
                   "drifting features"):
        left = column in ("cutoff", "drifting features")
        over_time.add_column(column, justify="left" if left else "right",
                             no_wrap=column != "drifting features")
    for h in verdict["history"]:
        names = ", ".join(h["drift"][:3]) + (f" +{len(h['drift']) - 3}" if len(h["drift"]) > 3
                                              else "")
        over_time.add_row(str(h["cutoff"])[:10], _status(h["status"]), f"{h['customers']:,}",
                          str(len(h["drift"])), str(len(h["watch"])), _money(h["mean_ltv"]),
                          names)
    latest = verdict["latest"]
    worst = Table(title=f"latest snapshot {str(latest['cutoff'])[:10]}: features not ok "
                  f"(worst {top})")
    for column in ("feature", "status", "PSI", "KS", "missing", "why"):
        worst.add_column(column, justify="left" if column in ("feature", "why") else "right")
    prediction = latest.get("prediction")
    if prediction and prediction["status"] != "ok":
        worst.add_row("(predicted ltv)", _status(prediction["status"]),
                      _num(prediction.get("psi")), "-", "-", "; ".join(prediction["reasons"]))
    for r in [r for r in latest["features"] if r["status"] != "ok"][:top]:
        worst.add_row(r["name"], _status(r["status"]), _num(r.get("psi")), _num(r.get("ks")),
                      f"{r['missing_current']:.1%}", "; ".join(r["reasons"]))
    return [over_time] + ([worst] if worst.row_count else [])


def _num(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def realized_tables(verdict: dict[str, Any]) -> list[Table]:
    """Realized accuracy per snapshot (pending ones say when they mature), then the flagged
    groups of the latest matured snapshot; [] for a verdict without a "realized" part."""
    realized = verdict.get("realized") or {}
    snapshots = realized.get("snapshots") or []
    if not snapshots:
        return []
    horizon = realized.get("horizon_days")
    over_time = Table(title=f"realized accuracy over the {horizon}-day horizon after each "
                      "snapshot" if horizon else "realized accuracy")
    for column in ("cutoff", "status", "customers", "MAE", "bias", "Gini", "decile MAPE",
                   "groups flagged"):
        over_time.add_column(column, justify="left" if column in ("cutoff", "status",
                                                                   "groups flagged") else "right")
    for r in snapshots:
        if r["status"] != "matured":
            due = str(r.get("matures_on") or "")[:10]
            over_time.add_row(str(r["cutoff"])[:10], f"pending until {due}" if due else
                              "pending", "-", "-", "-", "-", "-", "")
            continue
        m = r["metrics"]
        names = [f"{f['slice']}={f['group']}" for f in r["flagged"]]
        over_time.add_row(str(r["cutoff"])[:10], "[green]matured[/]", f"{r['customers']:,}",
                          _money(m.get("mae")), _pct(m.get("bias")), _num(m.get("gini")),
                          _pct(m.get("decile_mape"), sign=False),
                          f"[bold red]{', '.join(names)}[/]" if names else "none")
    tables = [over_time]
    latest = next((r for r in reversed(snapshots) if r["status"] == "matured"), None)
    if latest and latest["flagged"]:
        flagged = Table(title=f"groups with an error far above the overall error at "
                        f"{str(latest['cutoff'])[:10]}")
        for column in ("slice", "group", "customers", "MAE", "bias", "why"):
            flagged.add_column(column, justify="right" if column in ("customers", "MAE",
                                                                      "bias") else "left")
        for f in latest["flagged"]:
            row = next((g for g in latest["slices"].get(f["slice"], [])
                        if g["group"] == f["group"]), {})
            flagged.add_row(f["slice"], f["group"], f"{row.get('n', 0):,}",
                            _money(row.get("mae")), _pct(row.get("bias")),
                            f["reasons"] or "pooled into 'other' in the table")
        tables.append(flagged)
    return tables


def _pct(value, sign: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:+.1%}" if sign else f"{value:.1%}"
