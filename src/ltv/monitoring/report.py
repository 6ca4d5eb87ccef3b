"""`write_drift_report`: the drift verdict as one self-contained HTML page.

Built from the JSON verdict (`MonitoringResult.to_dict()`) and the version's reference
profile only, so a verdict stored in the registry can be rendered again later. Sections: the
verdict at a glance; when drift started (mean prediction against its band, PSI per feature
over the cutoffs, a row per cutoff); realized accuracy of the snapshots whose horizon has
passed, per group with flags (`realized_report`); the latest snapshot (PSI bars,
per-feature table); the distributions of the drifted features. Styles and figures come
from the evaluation report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ltv.evaluation.report.formatting import DASH, count, money, percent, ratio
from ltv.evaluation.report.html import esc, figures, img, page, table, td
from ltv.models.persistence import atomic_write_text
from ltv.monitoring import plots
from ltv.monitoring.realized_report import realized_section

MAX_DISTRIBUTIONS = 8
HEATMAP_FEATURES = 15
STATUS_WORDS = {"ok": "no drift", "watch": "watch", "drift": "DRIFT"}


def render_drift_report(verdict: dict[str, Any], reference: dict[str, Any]) -> str:
    latest, history = verdict["latest"], verdict["history"]
    sections = [_summary(verdict), _timeline(verdict, history), realized_section(verdict),
                _latest(latest), _distributions(latest, reference), _howto(latest["thresholds"])]
    from ltv import __version__

    title = f"Drift report: {verdict['name']} version {verdict['version']}"
    subtitle = (f"{len(history)} snapshot{'s' if len(history) != 1 else ''} from "
                f"{_day(history[0]['cutoff'])} to {_day(history[-1]['cutoff'])} against the "
                f"training reference of {_day(verdict['reference']['cutoff'])}")
    toc = [(anchor, heading) for anchor, heading, _ in sections if _]
    body = "\n".join(f'<section id="{anchor}"><h2>{esc(heading)}</h2>{html}</section>'
                     for anchor, heading, html in sections if html)
    return page(title, subtitle, toc, body,
                f"Written by ltv {esc(__version__)} at {esc(verdict['generated_at'])}. This "
                "file is self-contained: images and styles are inline.")


def write_drift_report(path: str | Path, verdict: dict[str, Any],
                       reference: dict[str, Any]) -> Path:
    """Write the report to `path` atomically (temp file, rename) and return the path."""
    text = render_drift_report(verdict, reference)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(target, text)


# ---------------------------------------------------------------- sections


def _summary(verdict: dict) -> tuple[str, str, str]:
    latest = verdict["latest"]
    p = latest.get("prediction") or {}
    band = p.get("band")
    facts = [("status", STATUS_WORDS[latest["status"]], f"at {_day(latest['cutoff'])}"),
             ("drifting features", count(len(latest["drift"])),
              f"{len(latest['watch'])} on watch, of {len(latest['features'])}"),
             ("mean predicted ltv", money(p.get("mean_ltv")),
              f"band {money(band[0])} to {money(band[1])}" if band else "no band"),
             ("customers", count(latest["customers"]), "in the latest snapshot"),
             ("reference", _day(verdict["reference"]["cutoff"]),
              f"{count(verdict['reference']['rows'])} customers")]
    cells = "".join(f'<div class="fact"><span class="label">{esc(label)}</span>'
                    f'<span class="value">{esc(value)}</span>'
                    f'<span class="detail">{esc(detail)}</span></div>'
                    for label, value, detail in facts)
    alarms = [f"{f['name']}: {'; '.join(f['reasons'])}" for f in latest["features"]
              if f["status"] == "drift"][:12]
    if p.get("status") == "drift":
        alarms.insert(0, "predictions: " + "; ".join(p["reasons"]))
    warning = ("<p class=\"warning\">" + "<br>".join(esc(a) for a in alarms) + "</p>"
               if alarms else "<p>No feature and no score left its reference at the latest "
               "cutoff.</p>")
    skipped = verdict["reference"].get("skipped") or {}
    note = (f'<p class="note">Not monitored: {esc(", ".join(skipped))} '
            f"({esc(next(iter(skipped.values())))}).</p>" if skipped else "")
    return "summary", "Verdict", f'<div class="facts">{cells}</div>{warning}{note}'


def _timeline(verdict: dict, history: list[dict]) -> tuple[str, str, str]:
    ref = verdict["reference"]
    sigmas = verdict["latest"]["thresholds"]["band_sigmas"]
    worst = sorted({name for h in history for name, v in h["psi"].items() if v is not None},
                   key=lambda n: -max((h["psi"].get(n) or 0.0) for h in history))
    figs = [img(plots.mean_prediction_figure(ref.get("windows") or [], history,
                                             ref.get("band_mean"), ref.get("band_std"), sigmas),
                "Grey dots: the model's mean prediction on its training windows; the band is "
                "their mean \u00b1 2\u03c3.")]
    if worst:
        figs.append(img(plots.psi_heatmap_figure(history, worst[:HEATMAP_FEATURES]),
                        "Each row a feature, each column a snapshot: the first orange cell is "
                        "when that feature started to move."))
    rows = []
    for h in history:
        cls = ' class="flag"' if h["status"] == "drift" else ""
        band = h.get("band")
        rows.append(f"<tr{cls}>" + td(_day(h["cutoff"]), "name")
                    + td(STATUS_WORDS[h["status"]], "flagcell") + td(count(h["customers"]))
                    + td(count(len(h["drift"]))) + td(count(len(h["watch"])))
                    + td(money(h.get("mean_ltv")))
                    + td(f"{money(band[0])} \u2013 {money(band[1])}" if band else DASH)
                    + td(", ".join(h["drift"][:4]) + (" \u2026" if len(h["drift"]) > 4 else ""),
                         "name") + "</tr>")
    head = [("cutoff", ""), ("status", ""), ("customers", ""), ("drift", "features drifting"),
            ("watch", "features on watch"), ("mean ltv", "mean predicted ltv"),
            ("band", "training band of the mean prediction"), ("drifting features", "")]
    return "timeline", "When drift started", figures(figs) + table(head, rows)


def _latest(latest: dict) -> tuple[str, str, str]:
    results = latest["features"]
    shown = [r for r in results if r["status"] != "ok" or r.get("notes")]
    shown += [r for r in sorted((r for r in results if r not in shown),
                                key=lambda r: -(r.get("psi") or 0.0))][:10]
    rows = []
    for r in shown:
        cls = ' class="flag"' if r["status"] == "drift" else ""
        rows.append(f"<tr{cls}>" + td(r["name"], "name") + td(r["kind"])
                    + td(STATUS_WORDS[r["status"]], "flagcell") + td(ratio(r.get("psi")))
                    + td(ratio(r.get("ks"))) + td(percent(r.get("missing_reference")))
                    + td(percent(r.get("missing_current")))
                    + td(percent(r.get("unseen_share")) if "unseen_share" in r else DASH)
                    + td("; ".join(r["reasons"] or r.get("notes") or [DASH]), "name")
                    + "</tr>")
    head = [("feature", ""), ("kind", ""), ("status", ""),
            ("PSI", "population stability index over the reference's decile bins"),
            ("KS", "largest gap between the reference and current CDFs"),
            ("missing (ref)", "share of rows without a value at training"),
            ("missing (now)", "share of rows without a value now"),
            ("unseen", "share of rows with a category never seen at training"),
            ("why", "")]
    note = (f'<p class="note">{len(results) - len(shown)} more features are ok and not '
            "listed (all are in the JSON verdict).</p>" if len(results) > len(shown) else "")
    return ("latest", f"Latest snapshot ({_day(latest['cutoff'])})",
            figures([img(plots.psi_bars_figure(results))]) + table(head, rows, "metrics")
            + note)


def _distributions(latest: dict, reference: dict) -> tuple[str, str, str]:
    profiles = reference.get("features") or {}
    drifted = [r for r in latest["features"] if r["status"] != "ok" and r.get("current_shares")
               and r["name"] in profiles][:MAX_DISTRIBUTIONS]
    if not drifted:
        return "distributions", "Distributions of drifted features", ""
    return ("distributions", "Distributions of drifted features",
            "<p>Share of rows per PSI bin (numbers) or category, at training and now.</p>"
            + figures(img(plots.distribution_figure(r, profiles[r["name"]]))
                      for r in drifted))


def _howto(t: dict) -> tuple[str, str, str]:
    items = [
        f"PSI: drift above {t['psi_drift']:g}, watch above {t['psi_watch']:g}; with few "
        "customers the threshold is raised to what sampling noise alone reaches "
        f"(chi-square, level {t['alpha']:g} split over the features).",
        f"KS: drift when the largest CDF gap exceeds both {t['ks_min_effect']:g} and the "
        "two-sample critical value at that level.",
        f"Missing values: drift when the missing share moves by more than "
        f"{t['missing_jump']:.0%} (or more than noise); unseen categories: drift above "
        f"{t['unseen_share']:.0%} of rows.",
        f"Predictions: drift when the mean predicted ltv leaves the training band (mean "
        f"\u00b1 {t['band_sigmas']:g}\u03c3 of the training windows' means).",
        "T, days_since_first and tenure_days grow by the days elapsed for every customer, so "
        "they move in any shop after training: they are shown, with a note, and never set the "
        "status. Seasonal features (trends, recent windows) do move with the season: that is "
        "drift the training windows may not have covered.",
        "Retrain when the features the model leans on drift, or when its predictions do."]
    body = "<div class=\"howto\"><ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + \
        "</ul></div>"
    return "howto", "How to read this", body


def _day(value) -> str:
    return DASH if value is None else str(value)[:10]
