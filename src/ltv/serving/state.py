"""Everything a request handler needs, built once at startup and kept on `app.state.ltv`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ltv.errors import LTVError
from ltv.serving.batching import MicroBatcher
from ltv.serving.deployment import Deployments, Routing
from ltv.serving.explanations import Explainers
from ltv.serving.metrics import ServerMetrics
from ltv.serving.settings import ServeSettings


class UnknownCustomerError(LTVError):
    """Customer ids that the online store does not hold (-> HTTP 404)."""


class NoOnlineStoreError(LTVError):
    """A request needs the online store but the server was started without one (-> 409)."""


@dataclass
class ServerState:
    settings: ServeSettings
    deployments: Deployments
    batcher: MicroBatcher
    metrics: ServerMetrics
    admin_token: str
    store: Any = None  # ltv.online store, or None (then only raw feature rows are scored)
    explainers: Explainers = field(default_factory=Explainers)  # per served version

    @property
    def routing(self) -> Routing:
        routing = self.deployments.routing
        if routing is None:
            raise LTVError("no model is loaded yet", "wait until GET /readyz answers 200")
        return routing

    def require_store(self) -> Any:
        if self.store is None:
            raise NoOnlineStoreError(
                "this server has no online store, so customers cannot be looked up by id",
                "send raw feature rows ({'rows': [...]}) or start the server with --online "
                "sqlite:///online.db (filled by `ltv materialize`)")
        return self.store

    def stored_rows(self, ids: list[str]) -> list[dict[str, Any]]:
        """The online store's feature rows of `ids`, in order, each with its customer_id;
        UnknownCustomerError names the ids the store lacks."""
        found = self.require_store().get_many(ids)
        if len(found) != len(set(ids)):
            _require_all(ids, found)
        return [{**found[cid], "customer_id": cid} for cid in ids]

    def show_routing(self) -> None:
        routing = self.deployments.routing
        if routing is not None:
            self.metrics.show_routing(routing.champion.version,
                                      routing.challenger.version if routing.challenger else None,
                                      routing.share)


def _require_all(ids: list[str], found) -> None:
    missing = [cid for cid in dict.fromkeys(ids) if cid not in found]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise UnknownCustomerError(
            f"unknown customer(s): {shown}{more} (not in the online store)",
            "check the ids, run `ltv materialize` after new customers arrive, or post "
            "their transactions to /v1/events")
