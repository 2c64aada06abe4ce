"""Order service benchmark: order throughput at 1/10/50 concurrent clients on SQLite and PostgreSQL,
stock lookup latency, an oversell race, and the cost of the ORM + HTTP stack relative to a raw insert.

Each database gets a fresh shop (all stores, the first PRODUCTS catalogue items, the demo stock
generator). The service runs as it would be deployed on this machine: a real
`uvicorn order_service.main:app --workers WORKERS` process (one worker per core, DB_POOL_SIZE
connections each). The load comes from this process through `Connection`, a minimal keep-alive
HTTP/1.1 client on uvloop whose own CPU time is reported per level (client_cpu_ms_per_order,
client_cpu_share), so it can be seen not to be the bottleneck, next to the service's
(server_cpu_ms_per_order, all uvicorn processes). Every order is a real order: a
delivery of 1 unit of a random well-stocked SKU (200 SKUs, so concurrent orders do meet on the same
stock rows) for a random customer, with its own Idempotency-Key.

orm_http_overhead_ratio = raw single-statement INSERT rate (one connection, one commit per row, the
driver alone) ÷ API order rate at 1 client, on PostgreSQL, measured in the same run: how many times
more work than one bare insert an order costs end to end (HTTP, validation, auth, reservations,
order + lines + reservations + event, commit).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.common import summarise_ms, write_result
from deploy.process import free_port, spawn

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PRODUCTS = 3000
WORKERS = int(os.environ.get("BENCH_ORDERS_WORKERS", str(os.cpu_count() or 2)))
POOL_SIZE = int(os.environ.get("BENCH_ORDERS_POOL", "12"))
DURATION_S = float(os.environ.get("BENCH_ORDERS_SECONDS", "6"))
CONCURRENCY = (1, 10, 50)
TOKEN = "bench-service-token"
CUSTOMERS = 50


def build(url: str) -> dict:
    """Migrate and load the shop; give the benchmark SKUs ample warehouse stock."""
    from catalog import load_products, load_stores
    from demo import shop as demo
    from order_service.core.db import make_engine, make_sessionmaker
    from order_service.core.migrate import upgrade
    from order_service.services import auth, stock

    upgrade(url)
    engine = make_engine(url, pool_size=2)
    products = load_products()[:PRODUCTS]
    started = time.perf_counter()
    summary = demo.load(engine, products, load_stores())
    load_s = time.perf_counter() - started
    skus = [p.sku for p in products[:200]]
    with make_sessionmaker(engine)() as session:
        for sku in skus:
            stock.move(session, location_id=0, sku=sku, quantity=1_000_000, kind="receipt", note="benchmark")
        customers = [auth.resolve(session, "web", f"bench-{i}", "")[0] for i in range(CUSTOMERS)]
        session.commit()
        big_box = [
            loc
            for (loc,) in session.execute(
                __import__("sqlalchemy").text(
                    "SELECT id FROM locations WHERE store_type = 'BigBox' ORDER BY id"
                )
            )
        ]
    engine.dispose()
    return {
        "skus": skus,
        "customers": customers,
        "stores": big_box,
        "load_s": round(load_s, 1),
        "stock_rows": summary.stock_rows,
    }


def headers(customer: str | None = None, key: str | None = None) -> dict[str, str]:
    h = {"Authorization": f"Bearer {TOKEN}"}
    if customer:
        h["X-Customer-Id"] = customer
    if key:
        h["Idempotency-Key"] = key
    return h


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just what the service answers (Content-Length
    bodies). httpx's AsyncClient cost ~1.5 ms of CPU per request at 10 clients and ~5 ms at 50 (its
    pool bookkeeping grows with the connection count), on the same two cores the server needs: the
    load generator throttled what it measured. This costs a few tens of microseconds."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, base: str) -> Connection:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: object = None
    ) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}",
            f"Content-Length: {len(payload)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        if body is not None:
            head.append("Content-Type: application/json")
        self.writer.write("\r\n".join(head).encode() + b"\r\n\r\n" + payload)
        status_line, *lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        length = None
        for line in lines:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding":
                raise RuntimeError(f"unexpected Transfer-Encoding: {value.strip()}")
        if length is None:
            raise RuntimeError(f"no Content-Length in the answer to {method} {path}")
        return int(status_line.split(" ", 2)[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def run(coro):
    """Run the load on uvloop, as the server does: the client's event loop is part of its CPU cost."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


async def order_load(base: str, shop: dict, concurrency: int, seconds: float) -> dict:
    """`concurrency` clients, each on its own connection, place orders back to back for `seconds`.
    Also reports the load generator's own CPU time, to show it is not what limits the rate."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    connections = [await Connection.open(base) for _ in range(concurrency)]
    stop = time.perf_counter() + seconds

    async def buyer(conn: Connection, rng: random.Random) -> None:
        while time.perf_counter() < stop:
            body = {
                "lines": [{"sku": rng.choice(shop["skus"]), "quantity": 1}],
                "fulfilment": "delivery",
                "delivery_address": "1 Benchmark Road, Springfield",
            }
            t0 = time.perf_counter()
            status, _ = await conn.request(
                "POST", "/orders", headers(rng.choice(shop["customers"]), uuid.uuid4().hex), body
            )
            if status == 201:
                latencies.append(time.perf_counter() - t0)
            else:
                errors[status] = errors.get(status, 0) + 1

    cpu0, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(buyer(conn, random.Random(i)) for i, conn in enumerate(connections)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    for conn in connections:
        conn.close()
    return {
        "orders": len(latencies),
        "orders_per_s": round(len(latencies) / elapsed, 1),
        "errors": errors,
        **summarise_ms(latencies),
        "client_cpu_ms_per_order": round(1000 * cpu / max(1, len(latencies)), 3),
        "client_cpu_share": round(cpu / elapsed, 3),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


async def stock_lookups(base: str, shop: dict, n: int = 400) -> dict:
    """Sequential GET /stores/{id}/stock/{sku} as a shopper, on one keep-alive connection."""
    rng = random.Random(7)
    samples = []
    conn = await Connection.open(base)
    for _ in range(n):
        path = f"/stores/{rng.choice(shop['stores'])}/stock/{rng.choice(shop['skus'])}"
        t0 = time.perf_counter()
        status, body = await conn.request("GET", path, headers(shop["customers"][0]))
        samples.append(time.perf_counter() - t0)
        assert status == 200, body
    conn.close()
    return summarise_ms(samples)


async def oversell_race(base: str, url: str, shop: dict, units: int = 10, buyers: int = 50) -> dict:
    """`buyers` concurrent pick-up orders for the last `units` of a SKU at one store."""
    from sqlalchemy import select

    from order_service.core.db import make_engine, make_sessionmaker
    from order_service.models import StockLevel
    from order_service.services import stock

    store, sku = shop["stores"][0], shop["skus"][-1]
    engine = make_engine(url, pool_size=1)
    with make_sessionmaker(engine)() as session:
        row = session.get(StockLevel, (store, sku))
        current = (row.on_hand - row.reserved) if row else 0
        if current != units:
            stock.move(
                session, location_id=store, sku=sku, quantity=units - current, kind="adjustment", note="race"
            )
        session.commit()
    body = {"lines": [{"sku": sku, "quantity": 1}], "fulfilment": "pickup", "store_id": store}
    async with httpx.AsyncClient(
        base_url=base, timeout=60, trust_env=False, limits=httpx.Limits(max_connections=buyers)
    ) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    "/orders",
                    json=body,
                    headers=headers(shop["customers"][i % len(shop["customers"])], uuid.uuid4().hex),
                )
                for i in range(buyers)
            )
        )
    sold = sum(r.status_code == 201 for r in responses)
    with make_sessionmaker(engine)() as session:
        on_hand, reserved = session.execute(
            select(StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.location_id == store, StockLevel.sku == sku
            )
        ).one()
    engine.dispose()
    return {
        "units": units,
        "buyers": buyers,
        "sold": sold,
        "rejected_409": sum(r.status_code == 409 for r in responses),
        "on_hand": on_hand,
        "reserved": reserved,
        "oversold": max(0, sold - units) + max(0, reserved - on_hand),
    }


def service_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the service: the uvicorn supervisor `pid` and its workers (/proc)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # from field 3 (state) on
        except OSError:  # the process ended meanwhile
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def raw_insert_rate(url: str, seconds: float = 3.0) -> float:
    """Single-statement INSERTs, one commit each, straight through the driver."""
    n, stop = 0, time.perf_counter() + seconds
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, customer TEXT, sku TEXT, qty INT, at TEXT)"
        )
        started = time.perf_counter()
        while time.perf_counter() < stop:
            conn.execute(
                "INSERT INTO bench_raw (customer, sku, qty, at) VALUES (?, ?, 1, datetime('now'))", ("c", "s")
            )
            n += 1
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw (id serial PRIMARY KEY, customer text, sku text, qty int, at timestamptz)"
        )
        started = time.perf_counter()
        while time.perf_counter() < stop:
            conn.execute(
                "INSERT INTO bench_raw (customer, sku, qty, at) VALUES (%s, %s, 1, now())", ("c", "s")
            )
            n += 1
    elapsed = time.perf_counter() - started
    conn.close()
    return n / elapsed


class Database:
    """A fresh database for one benchmark: a temporary SQLite file or a new PostgreSQL database."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self) -> str:
        if self.kind == "sqlite":
            self._tmp = tempfile.TemporaryDirectory(prefix="daogou-bench-")
            return f"sqlite:///{self._tmp.name}/orders.db"
        import sqlalchemy as sa

        self.name = f"daogou_bench_{uuid.uuid4().hex[:8]}"
        self._admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{self.name}"

    def __exit__(self, *exc: object) -> None:
        if self.kind == "sqlite":
            self._tmp.cleanup()
            return
        import sqlalchemy as sa

        with self._admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


def run_database(kind: str) -> dict:
    with Database(kind) as url:
        shop = build(url)
        raw = raw_insert_rate(url)
        port = free_port()
        proc = spawn(url, port, env={"SERVICE_TOKEN": TOKEN, "DB_POOL_SIZE": str(POOL_SIZE)}, workers=WORKERS)
        base = f"http://127.0.0.1:{port}"
        try:
            out = {
                "load_demo_s": shop["load_s"],
                "stock_rows": shop["stock_rows"],
                "raw_insert_per_s": round(raw, 1),
            }
            out["stock_lookup"] = run(stock_lookups(base, shop))
            for c in CONCURRENCY:
                cpu0 = service_cpu_s(proc.pid)
                level = out[f"c{c}"] = run(order_load(base, shop, c, DURATION_S))
                level["server_cpu_ms_per_order"] = round(
                    1000 * (service_cpu_s(proc.pid) - cpu0) / max(1, level["orders"]), 3
                )
                print(f"  {kind} c{c}: {out[f'c{c}']}", flush=True)
            out["race"] = asyncio.run(oversell_race(base, url, shop))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        return out


def main() -> None:
    details: dict = {
        "workers": WORKERS,
        "db_pool_size_per_worker": POOL_SIZE,
        "seconds_per_level": DURATION_S,
        "products": PRODUCTS,
        "cpus": os.cpu_count(),
        "deployment": f"production-like: uvicorn --workers {WORKERS} (one per core), {POOL_SIZE} "
        "pooled connections and as many handler threads per worker",
        "load_generator": "keep-alive HTTP/1.1 on uvloop in one process, one connection per client; "
        "its CPU per order is in each level's client_cpu_ms_per_order",
        "note": "service, database and load generator share the machine with other work; "
        f"load average at start {os.getloadavg()[0]:.1f}",
    }
    for kind in ("sqlite", "postgres"):
        print(f"benchmarking {kind} …", flush=True)
        details[kind] = run_database(kind)
    sq, pg = details["sqlite"], details["postgres"]
    metrics = {
        **{f"orders_per_s_sqlite_c{c}": sq[f"c{c}"]["orders_per_s"] for c in CONCURRENCY},
        **{f"orders_per_s_postgres_c{c}": pg[f"c{c}"]["orders_per_s"] for c in CONCURRENCY},
        "order_p95_ms_postgres_c50": pg["c50"]["p95_ms"],
        "stock_lookup_p95_ms": sq["stock_lookup"]["p95_ms"],
        "stock_lookup_p95_ms_postgres": pg["stock_lookup"]["p95_ms"],
        "oversold_units": sq["race"]["oversold"] + pg["race"]["oversold"],
        "orm_http_overhead_ratio": round(pg["raw_insert_per_s"] / pg["c1"]["orders_per_s"], 2),
        "orm_http_overhead_ratio_sqlite": round(sq["raw_insert_per_s"] / sq["c1"]["orders_per_s"], 2),
    }
    write_result("orders", metrics, details)


if __name__ == "__main__":
    main()
