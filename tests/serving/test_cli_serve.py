"""The whole path through the commands a user runs, against a real `ltv serve` process:
train -> export (x2) -> registry verify/promote -> materialize -> serve -> predict, A/B,
events, promote, rollback; and the server's refusal to start without a safe admin token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ltv.demo_serving import wait_ready

from .conftest import CUTOFF, free_port

LTV = str(Path(sys.executable).parent / "ltv")
TOKEN = "end-to-end-admin-token-0123456789"


def ltv(*args) -> str:
    result = subprocess.run([LTV, *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return " ".join(result.stdout.split())


@pytest.fixture(scope="module")
def deployed(shop, tmp_path_factory):
    """Two versions of a model trained by `ltv train`, and a store filled by materialize."""
    work = tmp_path_factory.mktemp("e2e")
    ltv("train", "--db", shop.db, "--cutoff", CUTOFF, "--horizon", 60, "--models", "btyd",
        "--out", work / "model")
    for version in (1, 2):
        assert f"published shop version {version}" in ltv(
            "export", "--model", work / "model", "--registry", work / "registry", "--name",
            "shop")
    assert "version 1: ok" in ltv("registry", "verify", "--registry", work / "registry",
                                  "--name", "shop")
    ltv("registry", "promote", "--registry", work / "registry", "--name", "shop",
        "--version", 1)
    ltv("materialize", "--db", shop.db, "--cutoff", CUTOFF, "--online",
        f"sqlite:///{work / 'online.db'}", "--registry", work / "registry", "--name", "shop")
    return work


def start(work: Path, env: dict, *extra) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = ["serve", "--registry", work / "registry", "--name", "shop", "--online",
            f"sqlite:///{work / 'online.db'}", "--port", port, "--log-level", "warning", *extra]
    proc = subprocess.Popen([LTV, *map(str, args)],
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    return proc, f"http://127.0.0.1:{port}"


def test_serve_refuses_to_start_without_a_safe_token(deployed):
    env = {k: v for k, v in os.environ.items() if k != "LTV_SERVE_ADMIN_TOKEN"}
    proc, _ = start(deployed, {"LTV_SERVE_ADMIN_TOKEN": "changeme"})
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "admin token is an example value" in out
    proc = subprocess.run([LTV, "serve", "--registry", deployed / "registry", "--name", "shop"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "LTV_SERVE_ADMIN_TOKEN" in proc.stdout + proc.stderr


def test_the_commands_end_to_end(deployed, shop):
    proc, url = start(deployed, {"LTV_SERVE_ADMIN_TOKEN": TOKEN}, "--challenger", 2,
                      "--challenger-share", 0.5)
    try:
        wait_ready(proc, url)
        admin = {"Authorization": f"Bearer {TOKEN}"}
        ids = shop.snapshot["customer_id"].tolist()[:60]
        with httpx.Client(base_url=url, timeout=30) as client:
            body = client.post("/v1/predict", json={"customers": ids}).json()
            arms = {p["arm"]: p["model_version"] for p in body["predictions"]}
            assert arms == {"champion": 1, "challenger": 2}  # both arms of the A/B split
            event = client.post("/v1/events", json={
                "customer_id": ids[0], "as_of": "2022-10-03T00:00:00",
                "transactions": [{"ts": "2022-10-02T10:00:00", "amount": 25.0}]})
            assert event.status_code == 200, event.text
            assert event.json()["features"]["last_purchase_ts"] == "2022-10-02T10:00:00"
            stored = client.get(f"/v1/customers/{ids[0]}").json()
            assert stored["features"]["last_purchase_ts"] == "2022-10-02T10:00:00"
            ended = client.post("/v1/admin/ab", json={"challenger": None}, headers=admin)
            assert ended.json()["challenger"] is None
            assert client.post("/v1/admin/promote", json={"version": 2},
                               headers=admin).json()["champion"] == 2
            assert {p["model_version"] for p in client.post(
                "/v1/predict", json={"customers": ids}).json()["predictions"]} == {2}
            assert client.post("/v1/admin/rollback", headers=admin).json()["champion"] == 1
            metrics = client.get("/metrics").text
            assert 'ltv_model_version{arm="champion"} 1.0' in metrics
            assert client.get("/docs").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode in (0, -15)
