"""Which model versions serve traffic: the champion, and optionally a challenger at a share.

The pair is one immutable `Routing` object replaced by a single reference assignment, so a
request or batch that took a `Routing` keeps a consistent pair through a promote or rollback,
and the old predictor stays alive until the last batch using it finishes. Loading a version
(verify checksums, load the predictor) happens before the swap, off the event loop, so no
request waits on it and none is dropped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltv.registry import Registry
from ltv.registry.errors import RegistryError
from ltv.serving.abtest import CHALLENGER, CHAMPION, arm_for
from ltv.serving.features import FeatureSchema

CACHED_VERSIONS = 4  # loaded versions kept, so a rollback is instant


@dataclass(frozen=True)
class Deployment:
    version: int
    predictor: Any  # ltv.runtime predictor: .predict(frame) -> predictions frame
    schema: FeatureSchema
    manifest: dict[str, Any]

    @property
    def horizon_days(self) -> int | None:
        return self.manifest.get("horizon_days")


@dataclass(frozen=True)
class Routing:
    champion: Deployment
    challenger: Deployment | None = None
    share: float = 0.0

    def route(self, customer_id: str, salt: str) -> tuple[str, Deployment]:
        if self.challenger is None:
            return CHAMPION, self.champion
        arm = arm_for(customer_id, salt, self.share)
        return arm, (self.challenger if arm == CHALLENGER else self.champion)


def default_loader(version_dir: Path) -> Any:
    from ltv.runtime import load_predictor  # never imports TensorFlow

    return load_predictor(version_dir, verify=False)  # Deployments.load verified it


class Deployments:
    """The registry's champion of `name` (and a challenger), kept in step with the pointer."""

    def __init__(self, registry: Registry, name: str, *,
                 loader: Callable[[Path], Any] | None = None):
        self.registry = registry
        self.name = name
        self._loader = loader if loader is not None else default_loader
        self._cache: OrderedDict[int, Deployment] = OrderedDict()
        self._lock = threading.Lock()  # one change at a time; readers never take it
        self.routing: Routing | None = None

    # ---- loading ----------------------------------------------------------------------
    def load(self, version: int) -> Deployment:
        """Verify and load `version` (cached)."""
        if version in self._cache:
            self._cache.move_to_end(version)
            return self._cache[version]
        self.registry.verify(self.name, version)
        manifest = self.registry.manifest(self.name, version)
        deployment = Deployment(version, self._loader(self.registry.path(self.name, version)),
                                FeatureSchema.from_manifest(manifest), manifest)
        self._cache[version] = deployment
        while len(self._cache) > CACHED_VERSIONS:
            self._cache.popitem(last=False)
        return deployment

    def start(self, challenger: int | None = None, share: float = 0.0) -> Routing:
        with self._lock:
            champion = self._champion_version()
            self.routing = Routing(self.load(champion),
                                   self.load(challenger) if challenger else None,
                                   share if challenger else 0.0)
            return self.routing

    # ---- changes (admin endpoints, pointer polling) -----------------------------------
    def sync(self) -> bool:
        """Follow the registry's champion pointer; True if the champion changed."""
        with self._lock:
            version = self._champion_version()
            current = self.routing
            if current is not None and current.champion.version == version:
                return False
            self.routing = Routing(self.load(version), current.challenger if current else None,
                                   current.share if current else 0.0)
            return True

    def promote(self, version: int) -> Routing:
        with self._lock:
            self.load(version)  # refuse a corrupt version before the pointer moves
            self.registry.promote(self.name, version)
            return self._swap_champion(version)

    def rollback(self) -> Routing:
        with self._lock:
            version = self.registry.rollback(self.name)
            return self._swap_champion(version)

    def set_ab(self, challenger: int | None, share: float) -> Routing:
        with self._lock:
            current = self._require_routing()
            self.routing = Routing(current.champion,
                                   self.load(challenger) if challenger else None,
                                   share if challenger else 0.0)
            return self.routing

    # ---- helpers ----------------------------------------------------------------------
    def _swap_champion(self, version: int) -> Routing:
        current = self._require_routing()
        self.routing = Routing(self.load(version), current.challenger, current.share)
        return self.routing

    def _require_routing(self) -> Routing:
        if self.routing is None:
            raise RegistryError("the server has not loaded a model yet", "wait for /readyz")
        return self.routing

    def _champion_version(self) -> int:
        version = self.registry.champion(self.name)
        if version is None:
            raise RegistryError(f"'{self.name}' in {self.registry.root} has no champion to serve",
                                f"promote a version first: ltv registry promote --registry "
                                f"{self.registry.root} --name {self.name} --version N")
        return version
