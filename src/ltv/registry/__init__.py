"""The model registry on disk: immutable, checksummed versions and a champion pointer.

Layout (TF Serving compatible: versions are positive integers):

    <root>/<name>/<version>/model/          a copy of the saved model folder
    <root>/<name>/<version>/manifest.json   family, features, horizon, metadata, libraries, sha256s
    <root>/<name>/pointer.json              {"champion": N, "history": [...]}

Not to be confused with `ltv.models.registry`, which maps model family names to classes.
"""

from ltv.registry.errors import CorruptVersionError, RegistryError
from ltv.registry.store import Registry

__all__ = ["Registry", "RegistryError", "CorruptVersionError"]
