"""Registry errors: a usage problem (unknown name or version, nothing to roll back to) or a
version whose files no longer match what was published."""

from __future__ import annotations

from ltv.errors import LTVError


class RegistryError(LTVError):
    """The registry cannot do what was asked (unknown model or version, no champion...)."""


class CorruptVersionError(LTVError):
    """A published version is partial or its files do not match the checksums in its manifest.

    `name`, `version` and `file` (relative to the version folder, or None when the folder as a
    whole is unreadable) say exactly what is wrong.
    """

    def __init__(self, name: str, version: int, file: str | None, problem: str):
        self.name, self.version, self.file = name, version, file
        where = f"'{name}' version {version}" + (f": file '{file}'" if file else "")
        super().__init__(f"{where} {problem}",
                         f"do not serve or promote version {version}; publish the model again "
                         f"(`ltv export`) to get a new, intact version")
