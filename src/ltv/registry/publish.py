"""Publish a saved model folder as the next version, atomically and without overwriting.

A deep model's version root is also a TF Serving SavedModel (`saved_model.pb`, variables/),
exported with its preprocessing and post-processing inside (see ltv.export.savedmodel), and
its network is exported to LiteRT under `light/` for ltv's own TF-free runtime (see
ltv.export.litert and ltv.runtime); an ensemble gets `light/<member>/` per deep member.

The version is built complete (model copy, manifest, files read-only, fsynced) in a hidden
`<root>/<name>/.publish-XXXX` folder, then renamed to its number. rename(2) of a folder onto a
non-empty folder fails, so two publishers that pick the same number cannot both win: the loser
rewrites its manifest for the next number and tries again. A crash leaves only the hidden
folder, which is never listed as a version.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ltv.models.persistence import read_model_dir
from ltv.models.provenance import read_training_info
from ltv.registry import files, layout
from ltv.registry.errors import RegistryError
from ltv.registry.manifest import build_manifest, check_metadata, utc_now

MAX_ATTEMPTS = 1000
_COLLISION = {errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR}


def publish(root: Path, name: str, model_dir: str | Path,
            metadata: dict[str, Any] | None = None) -> int:
    """Copy the model folder `model_dir` into the registry as a new version; return its number."""
    from ltv.models.registry import load_model  # imports every family: keep it out of startup

    layout.check_name(name)
    source = Path(model_dir)
    meta = check_metadata(metadata)
    model_json = read_model_dir(source)  # refuses a partial or corrupt source
    model = load_model(source)
    model_root = root / name
    model_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=layout.TEMP_PREFIX, dir=model_root))
    try:
        shutil.copytree(source, tmp / layout.MODEL_DIR)
        read_model_dir(tmp / layout.MODEL_DIR)  # the copy is what model.json says it should be
        if model_json.get("family") == "deep":
            # TF Serving loads <name>/<version>/saved_model.pb: the version root is the export.
            from ltv.export.savedmodel import export_savedmodel

            export_savedmodel(model, tmp)
        if model_json.get("family") in ("deep", "ensemble"):
            from ltv.export.litert import export_light_members
            from ltv.runtime.artifact import LIGHT_DIR

            export_light_members(model, tmp / LIGHT_DIR)
        checksums = files.checksums(tmp)
        files.make_read_only(tmp)
        created_at = utc_now()
        version = _next_version(model_root)
        for _ in range(MAX_ATTEMPTS):
            manifest = build_manifest(name, version, model_json, model, meta, checksums,
                                      created_at=created_at,
                                      training=read_training_info(source))
            files.atomic_write_json(tmp / layout.MANIFEST, manifest)
            os.chmod(tmp / layout.MANIFEST, files.READ_ONLY)
            if _claim(tmp, model_root / str(version)):
                files.fsync_dir(model_root)
                return version
            version = max(version + 1, _next_version(model_root))
        raise RegistryError(f"could not claim a version number for '{name}' after "
                            f"{MAX_ATTEMPTS} attempts", f"check the folder {model_root}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _next_version(model_root: Path) -> int:
    return max(layout.list_versions(model_root), default=0) + 1


def _claim(tmp: Path, target: Path) -> bool:
    """Rename `tmp` to `target`; False when another version already holds that name."""
    if target.exists() or target.is_symlink():
        return False
    try:
        os.rename(tmp, target)
    except OSError as err:
        if err.errno in _COLLISION:
            return False
        raise
    return True

