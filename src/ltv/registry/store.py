"""`Registry(root)`: publish, list, verify, promote, roll back and load model versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ltv.registry import layout, pointer
from ltv.registry.errors import RegistryError
from ltv.registry.publish import publish as _publish
from ltv.registry.verify import read_manifest, verify_version


class Registry:
    """Model versions on disk, in TF Serving's layout, with a champion pointer per model name.

    Versions are immutable: publish builds a version completely before it appears under its
    number, never reuses a number, and leaves its files read-only.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    # ---- paths ----------------------------------------------------------------------------
    def _model_root(self, name: str) -> Path:
        return self.root / layout.check_name(name)

    def path(self, name: str, version: int) -> Path:
        """The folder of `name`/`version` (it may not exist)."""
        return self._model_root(name) / str(layout.check_version(version))

    # ---- writing --------------------------------------------------------------------------
    def publish(self, name: str, model_dir: str | Path,
                metadata: dict[str, Any] | None = None) -> int:
        """Publish a saved model folder as the next version of `name`; return the version.

        `metadata` (JSON-able dict: cutoff, training data fingerprint, backtest metrics...) is
        stored in the manifest under "metadata".
        """
        return _publish(self.root, name, model_dir, metadata)

    # ---- reading --------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Model names that have at least one version."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and not p.name.startswith(".")
                      and layout.list_versions(p))

    def versions(self, name: str) -> list[int]:
        """Published versions of `name`, ascending ([] when there are none)."""
        return layout.list_versions(self._model_root(name))

    def manifest(self, name: str, version: int) -> dict[str, Any]:
        """The manifest of one version (read, not verified: see `verify`)."""
        return read_manifest(name, version, self._existing(name, version))

    def verify(self, name: str, version: int | None = None) -> list[int]:
        """Re-check every checksum of one version, or of all versions when `version` is None.

        Returns the versions checked; raises CorruptVersionError naming the version and file.
        """
        targets = [version] if version is not None else self.versions(name)
        if not targets:
            raise self._unknown(name, None)
        for v in targets:
            verify_version(name, v, self._existing(name, v))
        return targets

    # ---- champion -------------------------------------------------------------------------
    def champion(self, name: str) -> int | None:
        """The promoted version of `name`, or None before the first promote."""
        return pointer.read_pointer(self._model_root(name))["champion"]

    def history(self, name: str) -> list[int]:
        """Earlier champions, oldest first (what rollback returns to, last first)."""
        return list(pointer.read_pointer(self._model_root(name))["history"])

    def promote(self, name: str, version: int) -> int:
        """Make `version` the champion after verifying it; the old champion can be rolled back to."""
        model_root = self._model_root(name)
        self.verify(name, version)
        with pointer.locked(model_root):
            current = pointer.read_pointer(model_root)
            history = list(current["history"])
            if current["champion"] is not None and current["champion"] != version:
                history.append(current["champion"])
            pointer.write_pointer(model_root, version, history)
        return version

    def rollback(self, name: str) -> int:
        """Make the previous champion the champion again; return it."""
        model_root = self._model_root(name)
        with pointer.locked(model_root):
            current = pointer.read_pointer(model_root)
            if not current["history"]:
                what = (f"version {current['champion']} is the first champion"
                        if current["champion"] is not None else "no version was ever promoted")
                raise RegistryError(f"cannot roll back '{name}': {what}, there is no previous "
                                    "champion",
                                    f"promote a version instead: ltv registry promote --name "
                                    f"{name} --version N")
            previous = current["history"][-1]
            verify_version(name, previous, self._existing(name, previous))
            pointer.write_pointer(model_root, previous, current["history"][:-1])
        return previous

    def load(self, name: str, version: int | None = None):
        """The model of `version` (None: the champion), after verifying its checksums."""
        from ltv.models.registry import load_model

        version = self.resolve(name, version)
        self.verify(name, version)
        return load_model(self.path(name, version) / layout.MODEL_DIR)

    def resolve(self, name: str, version: int | None = None, purpose: str = "load") -> int:
        """`version`, or the champion when it is None; a RegistryError saying there is no
        champion `purpose` ("to load", "to score with", ...) otherwise."""
        if version is not None:
            return version
        champion = self.champion(name)
        if champion is None:
            raise RegistryError(f"'{name}' has no champion to {purpose}",
                                f"promote a version first: ltv registry promote --name "
                                f"{name} --version N, or pass a version")
        return champion

    # ---- helpers --------------------------------------------------------------------------
    def _existing(self, name: str, version: int) -> Path:
        folder = self.path(name, version)
        if not folder.is_dir():
            raise self._unknown(name, version)
        return folder

    def _unknown(self, name: str, version: int | None) -> RegistryError:
        known = self.versions(name)
        if not known:
            return RegistryError(f"the registry {self.root} has no model '{name}'",
                                 f"publish one first: ltv export --model MODEL_DIR --registry "
                                 f"{self.root} --name {name}")
        return RegistryError(f"'{name}' has no version {version}",
                             f"known versions: {', '.join(map(str, known))}")
