"""Open-loop HTTP load generator for benchmarks/serving.py (run as its own process).

Requests are scheduled at fixed times (rate r: request i at t0 + i / r) whatever the server
does, and each latency is measured from its *scheduled* time, so a slow server cannot hide
its queueing delay by slowing the generator down (no coordinated omission). HTTP/1.1 with
keep-alive over a pool of raw asyncio connections: a full client library costs more CPU per
request than the server being measured, and the two share 2 cores.

Usage: python benchmarks/loadgen.py --url http://127.0.0.1:8080 --rate 1000 --seconds 10 \
           --bodies bodies.jsonl --out result.json
bodies.jsonl holds one JSON request body per line, used round-robin (POST /v1/predict).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlparse

import numpy as np


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, request: bytes) -> int:
        if self.writer is None:
            await self.open()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


def build_requests(host: str, path: str, bodies: list[bytes]) -> list[bytes]:
    return [(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
             f"Content-Length: {len(b)}\r\n\r\n").encode() + b for b in bodies]


async def run(url: str, rate: float, seconds: float, bodies: list[bytes],
              connections: int, path: str = "/v1/predict") -> dict:
    parsed = urlparse(url)
    requests = build_requests(parsed.netloc, path, bodies)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        conn = Connection(parsed.hostname, parsed.port)
        await conn.open()
        pool.put_nowait(conn)
    total = int(rate * seconds)
    latencies = np.full(total, np.nan)
    statuses: dict[int, int] = {}
    errors: list[str] = []

    async def one(i: int, scheduled: float) -> None:
        conn = await pool.get()
        try:
            status = await conn.post(requests[i % len(requests)])
            latencies[i] = time.perf_counter() - scheduled
            statuses[status] = statuses.get(status, 0) + 1
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            errors.append(repr(err))
            conn.writer = None  # reconnect on next use
        finally:
            pool.put_nowait(conn)

    # perf_counter, not loop.time(): uvloop's clock has millisecond resolution.
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    done = latencies[~np.isnan(latencies)]
    ms = done * 1000
    return {"rate": rate, "seconds": seconds, "sent": total, "completed": int(len(done)),
            "elapsed_s": elapsed, "throughput_rps": len(done) / elapsed,
            "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
            "p90_ms": float(np.percentile(ms, 90)) if len(ms) else None,
            "p99_ms": float(np.percentile(ms, 99)) if len(ms) else None,
            "max_ms": float(ms.max()) if len(ms) else None,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "errors": len(errors), "error_examples": errors[:3]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--bodies", required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--path", default="/v1/predict")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.bodies, "rb") as handle:
        bodies = [line.rstrip(b"\n") for line in handle if line.strip()]
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args.url, args.rate, args.seconds, bodies, args.connections,
                             args.path))
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
