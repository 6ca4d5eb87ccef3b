"""The model version `ltv monitor` checks: verified, loaded without TensorFlow, with the
reference profile its manifest carries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltv.errors import LTVError
from ltv.registry import Registry, RegistryError


@dataclass(frozen=True)
class MonitoredVersion:
    version: int
    predictor: Any  # ltv.runtime.Predictor: .predict(frame), .feature_names
    reference: dict[str, Any]  # the manifest's reference_profile
    manifest: dict[str, Any]


def load_monitored(registry: str | Path, name: str, version: int | None = None) -> MonitoredVersion:
    """`version` of `name` (None: the champion), verified file by file."""
    from ltv.runtime import load_predictor

    reg = Registry(registry)
    known = reg.versions(name)
    if not known:
        names = reg.names()
        raise RegistryError(f"the registry {reg.root} has no model '{name}'",
                            f"known: {', '.join(names)}" if names else
                            f"publish one first: ltv export --registry {reg.root} --name {name}")
    if version is None:
        version = reg.champion(name)
        if version is None:
            raise RegistryError(f"'{name}' in {reg.root} has no champion to monitor",
                                f"promote one (ltv registry promote --name {name} --version N) "
                                f"or pass --version (known: {', '.join(map(str, known))})")
    reg.verify(name, version)
    manifest = reg.manifest(name, version)
    reference = manifest.get("reference_profile")
    if not reference:
        raise LTVError(f"'{name}' version {version} has no reference profile in its manifest, "
                       "so there is nothing to compare new data with",
                       "train the model again with `ltv train` (which records the profile) "
                       "and publish it with `ltv export`")
    predictor = load_predictor(reg.path(name, version), verify=False)  # verified above
    return MonitoredVersion(version, predictor, reference, manifest)
