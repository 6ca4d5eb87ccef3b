"""Prometheus metrics of one server, in its own registry (so tests can run several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["ServerMetrics", "CONTENT_TYPE_LATEST"]

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("ltv_requests_total", "HTTP requests by route and status code",
                                ["route", "status"], registry=r)
        self.latency = Histogram("ltv_request_latency_seconds", "Request latency by route",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("ltv_errors_total", "Requests answered with an error, by kind",
                              ["route", "kind"], registry=r)
        self.batch_rows = Histogram("ltv_batch_rows", "Rows per scored micro-batch",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram("ltv_batch_seconds", "Time to score one micro-batch",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("ltv_predictions_total", "Customers scored, by A/B arm",
                                   ["arm"], registry=r)
        self.model_version = Gauge("ltv_model_version", "Version serving each arm (0: none)",
                                   ["arm"], registry=r)
        self.challenger_share = Gauge("ltv_challenger_share", "Share of customers routed to "
                                      "the challenger", registry=r)

    def observe_batch(self, rows: int, seconds: float) -> None:
        self.batch_rows.observe(rows)
        self.batch_seconds.observe(seconds)

    def show_routing(self, champion: int, challenger: int | None, share: float) -> None:
        self.model_version.labels("champion").set(champion)
        self.model_version.labels("challenger").set(challenger or 0)
        self.challenger_share.set(share)

    def render(self) -> bytes:
        return generate_latest(self.registry)
