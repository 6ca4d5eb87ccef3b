"""Fixtures for the ingestion tests: a fresh warehouse, a PII key, real datasets, a PostgreSQL server."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from ltv.warehouse import connect

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
PII_KEY = "a-test-key-that-is-long-enough-0123456789"


@pytest.fixture
def db(tmp_path):
    """Path of a new, empty warehouse file."""
    return tmp_path / "ltv.duckdb"


@pytest.fixture
def con(db):
    con = connect(db)
    yield con
    con.close()


@pytest.fixture
def pii_key(monkeypatch):
    monkeypatch.setenv("LTV_PII_KEY", PII_KEY)
    return PII_KEY


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"real datasets not found at {DATASETS} (a fresh clone has no ../shared; "
                    "these tests run where the shared datasets folder exists)")
    return DATASETS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_dsn():
    """A throwaway PostgreSQL cluster on 127.0.0.1, started from Debian's server binaries."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: "
                    "install the Debian package `postgresql` (.ci/run does) to run this test")
    bindir = Path(found[-1]).parent
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="ltv-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as `postgres`
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root and there is no `postgres` OS user to run the server")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, log, port = root / "data", root / "server.log", _free_port()

    def run(*args: str) -> None:
        subprocess.run(prefix + list(args), check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
            f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off", "start")
    except subprocess.CalledProcessError as err:
        detail = (err.stderr or b"").decode(errors="replace")[-800:]
        if log.exists():
            detail += log.read_text(errors="replace")[-800:]
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {detail}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                 "stop"], capture_output=True, timeout=120)
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
