"""PostgreSQL restarted under load: the order service (pool_pre_ping, the client's retries) keeps
serving once the server is back, without a restart of its own."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import pytest

from deploy.stack import APP_BIN, ROOT, Process, free_port, settings_env
from order_service.client import OrderServiceClient, OrderServiceError
from tests.conftest import REQUIRE_SERVICES
from tests.reliability.pgcluster import PrivateCluster, pg_bin

pytestmark = [pytest.mark.slow, pytest.mark.stack, pytest.mark.postgres]

WORKERS, DURATION_S, RESTART_AT_S = 8, 14.0, 4.0


@pytest.fixture
def cluster():
    if pg_bin() is None:
        message = "PostgreSQL server binaries are not installed"
        if REQUIRE_SERVICES:
            pytest.fail(message + " and DAOGOU_REQUIRE_SERVICES=1 makes them mandatory")
        pytest.skip(message)
    with PrivateCluster() as running:
        yield running


async def _load(
    url: str, cluster: PrivateCluster
) -> tuple[list[tuple[float, float, str | None]], float, float]:
    """Shoppers resolving and reading their customer record; PostgreSQL restarts midway.
    Returns ([(start, latency, error)], restart began, restart ended) in seconds since the start."""
    samples: list[tuple[float, float, str | None]] = []
    t0 = time.monotonic()
    restart: dict[str, float] = {}

    async def shopper(worker: int) -> None:
        async with OrderServiceClient(url, timeout_s=2.0, retries=2) as client:
            n = 0
            while time.monotonic() - t0 < DURATION_S:
                started = time.monotonic()
                error = None
                try:
                    customer = await client.resolve_customer("web", f"pg-{worker}-{n}-{uuid.uuid4().hex[:6]}")
                    await client.get_customer(customer)
                except OrderServiceError as exc:
                    error = str(exc)[:200]
                samples.append((started - t0, time.monotonic() - started, error))
                n += 1

    async def restarter() -> None:
        await asyncio.sleep(RESTART_AT_S)
        restart["began"] = time.monotonic() - t0
        await asyncio.to_thread(cluster.restart)
        restart["ended"] = time.monotonic() - t0

    await asyncio.gather(restarter(), *(shopper(w) for w in range(WORKERS)))
    return samples, restart["began"], restart["ended"]


def test_order_service_recovers_from_postgres_restart(cluster, tmp_path):
    port = free_port()
    env = settings_env(
        {
            "DATABASE_URL": cluster.url,
            "STATE_DIR": str(tmp_path),
            "ORDERS_PORT": str(port),
            "DB_POOL_SIZE": "5",
        }
    )
    subprocess.run(
        [str(APP_BIN / "daogou"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    url = env["ORDER_SERVICE_URL"]
    orders = Process(
        "orders",
        [
            str(APP_BIN / "uvicorn"),
            "order_service.main:app",
            "--host",
            env["HOST"],
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env,
        tmp_path / "orders.log",
        f"{url}/health",
        port,
    )
    orders.start()
    try:
        orders.wait_ready(120)
        pid = orders.pid
        samples, began, ended = asyncio.run(_load(url, cluster))
        assert orders.running and orders.pid == pid, "the order service died:\n" + orders.log_tail()
    finally:
        orders.stop()
    before = [s for s in samples if s[0] + s[1] < began]
    settled = [s for s in samples if s[0] > ended + 2.0]
    failed = [s for s in samples if s[2]]
    print(
        f"\n{len(samples)} calls, {len(failed)} failed; restart took {ended - began:.1f} s; "
        f"slowest call {max(s[1] for s in samples):.2f} s"
    )
    assert before and all(s[2] is None for s in before), before[:3]
    assert len(settled) >= WORKERS, "too few calls after the restart"
    assert all(s[2] is None for s in settled), [s for s in settled if s[2]][:3]
    assert max(s[1] for s in samples) < 10, "a call hung"
