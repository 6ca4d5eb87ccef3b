"""`ltv export` and `ltv registry list|promote|rollback|verify` through the real CLI."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from ltv.cli import app
from ltv.registry import Registry

from .conftest import flip_byte

runner = CliRunner()


def _invoke(*args):
    result = runner.invoke(app, list(map(str, args)))
    return result, " ".join(result.output.split())  # Rich wraps long lines


def _ok(*args) -> str:
    result, text = _invoke(*args)
    assert result.exit_code == 0, result.output
    return text


def _rows(text: str) -> dict[int, list[str]]:
    """Table rows of `ltv registry list`, keyed by version."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip()[1:-1].split("│")]
        if cells[0].isdigit():
            rows[int(cells[0])] = cells
    return rows


def test_export_list_promote_rollback_verify(saved_model, tmp_path):
    reg_dir, meta = tmp_path / "registry", tmp_path / "meta.json"
    meta.write_text(json.dumps({"cutoff": "2022-10-01", "metrics": {"gini": 0.5}}))
    common = ["--registry", reg_dir, "--name", "shop"]

    assert "published shop version 1" in _ok("export", "--model", saved_model.path, *common)
    text = _ok("export", "--model", saved_model.path, *common, "--metadata", meta, "--promote")
    assert "published shop version 2" in text and "promoted shop version 2" in text
    registry = Registry(reg_dir)
    assert registry.versions("shop") == [1, 2] and registry.champion("shop") == 2
    assert registry.manifest("shop", 2)["metadata"] == {"cutoff": "2022-10-01",
                                                       "metrics": {"gini": 0.5}}

    listing = runner.invoke(app, ["registry", "list", *map(str, common)])
    assert listing.exit_code == 0, listing.output
    rows = _rows(listing.output)
    assert sorted(rows) == [1, 2]
    for version, cells in rows.items():
        assert cells[1] == registry.manifest("shop", version)["created_at"]
        assert cells[2:] == ["btyd", "60", "*" if version == 2 else ""]

    assert "promoted shop version 1" in _ok("registry", "promote", *common, "--version", 1)
    assert registry.champion("shop") == 1
    assert "rolled back shop to version 2" in _ok("registry", "rollback", *common)
    assert registry.champion("shop") == 2
    assert _rows(runner.invoke(app, ["registry", "list", *map(str, common)]).output)[2][-1] == "*"

    text = _ok("registry", "verify", *common)
    assert "shop version 1: ok" in text and "shop version 2: ok" in text
    assert "shop version 2: ok" in _ok("registry", "verify", *common, "--version", 2)

    flip_byte(reg_dir / "shop" / "2" / "model" / "state.json")
    result, text = _invoke("registry", "verify", *common)
    assert result.exit_code == 2
    assert "shop version 1: ok" in text and "shop version 2: CORRUPT" in text
    assert "error: 'shop' version 2: file 'model/state.json' does not match its checksum" in text
    assert "Traceback" not in result.output
    result, text = _invoke("registry", "promote", *common, "--version", 2)
    assert result.exit_code == 2 and "model/state.json" in text


def test_cli_errors_are_clean(saved_model, tmp_path):
    common = ["--registry", tmp_path / "registry", "--name", "shop"]
    result, text = _invoke("registry", "rollback", *common)
    assert result.exit_code == 2 and "no previous champion" in text
    result, text = _invoke("registry", "verify", *common)
    assert result.exit_code == 2 and "has no model 'shop'" in text
    assert "'shop' has no versions" in _ok("registry", "list", *common)
    _ok("export", "--model", saved_model.path, *common)
    result, text = _invoke("registry", "promote", *common, "--version", 5)
    assert result.exit_code == 2 and re.search(r"has no version 5 .*known versions: 1", text)
    result, text = _invoke("export", "--model", tmp_path / "nowhere", *common)
    assert result.exit_code == 2 and "not a saved ltv model" in text
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result, text = _invoke("export", "--model", saved_model.path, *common, "--metadata", bad)
    assert result.exit_code == 2 and "not an object" in text
    for result in (runner.invoke(app, ["export", "--help"]),
                   runner.invoke(app, ["registry", "--help"])):
        assert result.exit_code == 0
    assert Registry(tmp_path / "registry").versions("shop") == [1]
