"""The demo's last step: deploy the `auto` model and show real requests to `ltv serve`.

publish to a registry -> promote -> materialize the online store at the end of the data ->
profiles (segment, tier, churn risk, cold start, interests) into profiles.parquet and the
store -> start the server in its own process -> POST /v1/predict for two customers, and
GET /v1/customers/{id} for one customer's full profile and the drivers of its prediction ->
stop it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
from rich.console import Console
from rich.syntax import Syntax

from ltv.models.protocol import TrainingData


def deploy_and_serve(out: Path, db: Path, model, data: TrainingData,
                     serve_cutoff: pd.Timestamp, console: Console) -> dict:
    """Publish `model` (fitted on `data`), serve it from a store materialized at
    `serve_cutoff`, send one request; return {"request", "response"}."""
    from ltv.models.provenance import feature_options, training_info, write_training_info
    from ltv.online.materialization import materialize
    from ltv.registry import Registry

    model_dir = out / "model"
    model.save(model_dir)
    info = training_info(db, data, model, model.name)
    write_training_info(model_dir, info)
    registry = Registry(out / "registry")
    version = registry.publish("shop", model_dir)
    registry.promote("shop", version)
    console.print(f"published and promoted {out / 'registry' / 'shop' / str(version)}")
    meta = materialize(db, serve_cutoff, f"sqlite:///{out / 'online.db'}",
                       **feature_options(info))  # the model's category columns
    console.print(f"materialized {meta.rows:,} customers as of {serve_cutoff.date()} into "
                  f"{out / 'online.db'}")
    profiled = _profiles(out, db, model, data.horizon_days, serve_cutoff, console)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LTV_SERVE_ADMIN_TOKEN=secrets.token_urlsafe(24))
    server = subprocess.Popen(
        [sys.executable, "-m", "ltv", "serve", "--registry", str(out / "registry"), "--name",
         "shop", "--online", f"sqlite:///{out / 'online.db'}", "--port", str(port),
         "--log-level", "warning"], env=env)
    try:
        wait_ready(server, url)
        request = {"customers": data.snapshot["customer_id"].iloc[:2].tolist()}
        response = httpx.post(f"{url}/v1/predict", json=request, timeout=30)
        response.raise_for_status()
        console.print(f"POST {url}/v1/predict")
        console.print(Syntax(json.dumps(request, indent=2), "json"))
        console.print(Syntax(json.dumps(response.json(), indent=2), "json"))
        customer = _showcase(profiled)
        detail = httpx.get(f"{url}/v1/customers/{customer}", timeout=60)
        detail.raise_for_status()
        console.print(f"GET {url}/v1/customers/{customer}  (features left out here)")
        shown = {k: v for k, v in detail.json().items() if k != "features"}
        console.print(Syntax(json.dumps(shown, indent=2), "json", word_wrap=True))
    finally:
        server.terminate()
        server.wait(timeout=30)
    console.print("server stopped")
    return {"request": request, "response": response.json(), "customer": detail.json()}


def _profiles(out: Path, db: Path, model, horizon_days: int, cutoff: pd.Timestamp,
              console: Console) -> pd.DataFrame:
    """Profiles as of `cutoff` (the deployed model gives the LTV; churn, cold start and
    interests are fitted on windows before the cutoff) into profiles.parquet and the store."""
    from ltv.online import open_store
    from ltv.online.profiles import write_profiles as store_profiles
    from ltv.profiles.build import build_profiles, write_profiles

    with console.status("profiles: segments, churn risk, cold start, interests"):
        frame = build_profiles(db, cutoff, horizon_days, ltv_model=model)
    write_profiles(frame, out / "profiles.parquet")
    with open_store(f"sqlite:///{out / 'online.db'}") as store:
        store_profiles(store, frame)
    console.print(f"profiled {len(frame):,} customers into {out / 'profiles.parquet'} and the "
                  "online store")
    return frame


def _showcase(profiles: pd.DataFrame) -> str:
    """A repeat buyer with interests: the profile with the most to show."""
    rich = profiles[profiles["has_purchase"] & ~profiles["cold_start"].astype(bool)]
    if "top_interests" in rich:
        rich = rich[rich["top_interests"].notna()]
    chosen = rich if not rich.empty else profiles
    return str(chosen.sort_values("ltv", ascending=False)["customer_id"].iloc[len(chosen) // 10])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(server: subprocess.Popen, url: str, timeout_s: float = 120) -> None:
    """Poll GET /readyz of a starting `ltv serve` process until it answers 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"ltv serve exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"ltv serve was not ready after {timeout_s:.0f} s")
