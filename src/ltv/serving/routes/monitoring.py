"""GET /v1/monitoring: the latest drift verdict of the served model name, and its gauges.

`ltv monitor` writes the verdict to `<registry>/<name>/monitoring/latest.json`; the server
re-reads it only when the file changes (`LatestVerdict`), both for this route and for the
Prometheus gauges, which are computed at scrape time from the current file (so no poller, and
no gauge left over from an older verdict):

  ltv_drift_status                    0 ok, 1 watch, 2 drift, -1 no verdict (or unreadable)
  ltv_drift_features_alarmed          features at "drift" in the latest snapshot
  ltv_drift_features_watch            features at "watch"
  ltv_drift_prediction_alarm          1 when the mean prediction left its training band
  ltv_feature_psi{feature}            PSI of the WORST_PSI features with the largest PSI
  ltv_drift_verdict_timestamp_seconds when the verdict was computed (alert on a stale one)
  ltv_drift_verdict_version           the model version the verdict is about
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from prometheus_client.core import GaugeMetricFamily

from ltv.errors import LTVError
from ltv.monitoring.store import LatestVerdict

router = APIRouter(tags=["monitoring"])
log = logging.getLogger("ltv.serving")
WORST_PSI = 10
STATUS_CODES = {"ok": 0, "watch": 1, "drift": 2}


def install(registry, settings) -> LatestVerdict:
    """The verdict reader of the served name, with its gauges registered in `registry` (the
    server's Prometheus CollectorRegistry)."""
    verdicts = LatestVerdict(settings.registry, settings.name)
    registry.register(DriftCollector(verdicts))
    return verdicts


@router.get("/v1/monitoring", responses={404: {"description": "No verdict yet"},
                                         503: {"description": "The verdict file is unreadable"}})
def monitoring(request: Request, full: bool = Query(False, description="The whole stored "
                                                    "verdict (every feature and cutoff)")):
    """The latest drift verdict of the served model name (written by `ltv monitor`)."""
    verdicts: LatestVerdict = request.app.state.monitoring
    state = request.app.state.ltv
    name = state.settings.name
    try:
        verdict = verdicts.get()
    except LTVError as err:
        return JSONResponse({"detail": err.problem, "fix": err.fix}, status_code=503)
    if verdict is None:
        return JSONResponse({"detail": f"no drift verdict for '{name}' yet",
                             "fix": f"run ltv monitor --registry {state.settings.registry} "
                                    f"--name {name} --db shop.duckdb --since YYYY-MM-DD"},
                            status_code=404)
    routing = state.deployments.routing
    served = routing.champion.version if routing is not None else None
    body = verdict if full else summary(verdict)
    return {**body, "served_version": served,
            "stale": served is not None and verdict.get("version") != served}


def summary(verdict: dict[str, Any]) -> dict[str, Any]:
    """The verdict without the per-cutoff PSI tables and the ok features."""
    latest = verdict.get("latest") or {}
    return {"name": verdict.get("name"), "version": verdict.get("version"),
            "generated_at": verdict.get("generated_at"), "status": verdict.get("status"),
            "cutoff": verdict.get("cutoff"), "customers": latest.get("customers"),
            "drift": latest.get("drift", []), "watch": latest.get("watch", []),
            "prediction": latest.get("prediction"),
            "features": [{k: v for k, v in f.items() if k != "current_shares"}
                         for f in latest.get("features", []) if f.get("status") != "ok"],
            "history": [{k: h.get(k) for k in ("cutoff", "status", "customers", "drift",
                                               "watch", "mean_ltv", "band")}
                        for h in verdict.get("history", [])],
            "reference": verdict.get("reference"), "thresholds": latest.get("thresholds")}


class DriftCollector:
    """Prometheus collector: the drift gauges of the current verdict file, at scrape time."""

    def __init__(self, verdicts: LatestVerdict):
        self.verdicts = verdicts

    def describe(self):
        return self._families(None)

    def collect(self):
        try:
            verdict = self.verdicts.get()
        except LTVError as err:  # a scrape must not fail; the status says "no verdict"
            log.error("drift verdict unreadable: %s", err)
            verdict = None
        return self._families(verdict)

    @staticmethod
    def _families(verdict: dict[str, Any] | None) -> list[GaugeMetricFamily]:
        latest = (verdict or {}).get("latest") or {}
        prediction = latest.get("prediction") or {}
        status = GaugeMetricFamily("ltv_drift_status", "Latest drift verdict: 0 ok, 1 watch, "
                                   "2 drift, -1 none")
        alarmed = GaugeMetricFamily("ltv_drift_features_alarmed",
                                    "Features at drift in the latest snapshot")
        watch = GaugeMetricFamily("ltv_drift_features_watch",
                                  "Features on watch in the latest snapshot")
        band = GaugeMetricFamily("ltv_drift_prediction_alarm", "1 when the mean predicted "
                                 "ltv left its training band")
        psi = GaugeMetricFamily("ltv_feature_psi", f"PSI of the {WORST_PSI} most drifted "
                                "features", labels=["feature"])
        stamp = GaugeMetricFamily("ltv_drift_verdict_timestamp_seconds", "When the latest "
                                  "verdict was computed (Unix time)")
        version = GaugeMetricFamily("ltv_drift_verdict_version", "Model version the verdict "
                                    "is about")
        families = [status, alarmed, watch, band, psi, stamp, version]
        if verdict is None:
            status.add_metric([], -1)
            return families
        status.add_metric([], STATUS_CODES.get(verdict.get("status"), -1))
        alarmed.add_metric([], len(latest.get("drift", [])))
        watch.add_metric([], len(latest.get("watch", [])))
        band.add_metric([], 1 if prediction.get("alarm") else 0)
        worst = sorted((f for f in latest.get("features", []) if f.get("psi") is not None),
                       key=lambda f: -f["psi"])[:WORST_PSI]
        for f in worst:
            psi.add_metric([f["name"]], f["psi"])
        try:
            stamp.add_metric([], datetime.fromisoformat(verdict["generated_at"]).timestamp())
        except (KeyError, TypeError, ValueError):
            pass
        if isinstance(verdict.get("version"), int):
            version.add_metric([], verdict["version"])
        return families
