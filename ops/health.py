"""Health checks for the processes `make run` starts, and the banner with the URLs.

Runs as one process under the supervisor: it waits until every service answers, prints where to
find them, then keeps watching and reports any service that stops or comes back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from daogou.config import Settings, get_settings


@dataclass(frozen=True)
class Service:
    name: str
    url: str  # what a person opens
    health_url: str  # what answers 200 when the service is ready


def services(s: Settings) -> list[Service]:
    rasa = f"http://{s.host}:{s.rasa_port}"
    return [
        Service("order service", f"{s.orders_url}/docs", f"{s.orders_url}/health"),
        Service(
            "action server",
            f"http://{s.host}:{s.actions_port}/webhook",
            f"http://{s.host}:{s.actions_port}/health",
        ),
        # the REST channel's health route: Rasa's HTTP API (/status) is off by default (deploy/rasa.py)
        Service("rasa server (REST)", f"{rasa}/webhooks/rest/webhook", f"{rasa}/webhooks/rest/"),
        Service("rasa server (socket.io)", f"{rasa}/socket.io", f"{rasa}/webhooks/rest/"),
        Service("chat page", f"http://{s.host}:{s.web_port}/", f"http://{s.host}:{s.web_port}/health"),
        Service(
            "staff console", f"http://{s.host}:{s.web_port}/staff/", f"http://{s.host}:{s.web_port}/staff/"
        ),
    ]


def check(service: Service, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(service.health_url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def status(s: Settings | None = None) -> dict[str, bool]:
    return {svc.name: check(svc) for svc in services(s or get_settings())}


def watch(interval: float = 2.0, max_wait: float = 600.0) -> None:
    """Wait for every service, print the banner, then report changes until stopped."""
    s = get_settings()
    all_services = services(s)
    started = time.monotonic()
    up: dict[str, bool] = {}
    announced = False
    while True:
        for svc in all_services:
            ok = check(svc)
            if up.get(svc.name) != ok and (announced or ok):
                print(f"[health] {svc.name}: {'up' if ok else 'DOWN'}", flush=True)
            up[svc.name] = ok
        if not announced and all(up.values()):
            announced = True
            width = max(len(x.name) for x in all_services)
            lines = [f"  {x.name:<{width}}  {x.url}" for x in all_services]
            print(
                "\n".join(
                    [
                        "",
                        "Daogou is ready (%.0f s):" % (time.monotonic() - started),
                        *lines,
                        "  Ctrl-C stops everything.",
                        "",
                    ]
                ),
                flush=True,
            )
        elif not announced and time.monotonic() - started > max_wait:
            down = [name for name, ok in up.items() if not ok]
            print(f"[health] still not up after {max_wait:.0f} s: {', '.join(down)}", flush=True)
            started = time.monotonic()
        time.sleep(interval)
