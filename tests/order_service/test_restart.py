"""Every accepted order survives a hard restart: the service is killed with SIGKILL right after
answering 201, started again, and the orders are all there with their stock still held."""

from __future__ import annotations

import signal

import httpx
import pytest

from deploy.process import free_port, spawn
from tests.order_service.conftest import SERVICE_TOKEN, customer, level, order_body, set_stock

pytestmark = pytest.mark.slow


def _start(db_url: str, port: int):
    return spawn(db_url, port, env={"SERVICE_TOKEN": SERVICE_TOKEN})


def test_accepted_orders_survive_sigkill(engine, db_url):
    set_stock(engine, 0, "SKU-HP", 50)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(db_url, port)
    try:
        ids = []
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as http:
            for i in range(5):
                r = http.post(
                    "/orders",
                    json=order_body("SKU-HP", 2),
                    headers={**customer(), "Idempotency-Key": f"r{i}"},
                )
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    proc = _start(db_url, port)
    try:
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as http:
            for order_id in ids:
                r = http.get(f"/orders/{order_id}", headers=customer())
                assert r.status_code == 200 and r.json()["status"] == "pending"
            replay = http.post(
                "/orders", json=order_body("SKU-HP", 2), headers={**customer(), "Idempotency-Key": "r0"}
            )
            assert replay.status_code == 200 and replay.json()["id"] == ids[0]
    finally:
        proc.terminate()
        proc.wait(10)
    assert level(engine, 0, "SKU-HP") == (50, 10)
