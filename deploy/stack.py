"""Daogou's processes on one machine, each under its own control: the order service, N action servers,
M Rasa servers and, when N or M is above one, nginx in front of them (deploy/nginx.conf.template).

`make run` starts one of each under honcho. The reliability tests, the load benchmark and a
one-machine scale-out (`python -m deploy.stack --rasa 2 --actions 2`) use this module instead,
because they stop, pause and restart single processes. The commands are the Procfile's, with the
Rasa server started through bot/server.py (action time budget and apology on failure), and every
process gets the environment `make run` gives it (`daogou config --env`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from daogou.config import Settings, exported_environment
from deploy.process import free_port
from deploy.rasa import READY_PATH

ROOT = Path(__file__).resolve().parent.parent
APP_BIN = ROOT / ".venv" / "bin"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
NGINX_TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"


class BalancerUnavailable(RuntimeError):
    """Several instances were asked for, but nginx is not installed."""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def settings_env(overrides: dict[str, str]) -> dict[str, str]:
    """The environment `make run` gives its processes (`daogou config --env`): every setting, with
    `overrides` (environment variable names) taking precedence over this process's environment."""
    settings = Settings(**{key.lower(): value for key, value in overrides.items()})
    return {**os.environ, **overrides, **exported_environment(settings)}


def prepare_state(state_dir: Path) -> None:
    """A state directory with the demo shop loaded, the FAQ index and the product graph built (what
    `make run` does first, plus the graph cache, so that action servers started from a copy start fast)."""
    env = {**os.environ, "STATE_DIR": str(state_dir)}
    env.pop("DATABASE_URL", None)
    for args in (["db", "upgrade"], ["db", "load-demo"], ["faq", "build"], ["kg", "build"]):
        subprocess.run([str(APP_BIN / "daogou"), *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _group_pids(leader: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == leader:  # process group id
                pids.append(int(entry.name))
    return pids


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_url: str | None  # None: ready when the port accepts connections
    port: int
    popen: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers (a hung process)."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def stop(self, timeout: float = 30.0) -> None:
        if not self.running:
            return
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait(10)

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would end it."""
        if self.running:
            self._signal(signal.SIGKILL)
            self.popen.wait(10)

    def wait_ready(self, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            if self._ready():
                return
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        if self.ready_url is None:
            with socket.socket() as sock:
                sock.settimeout(0.5)
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        try:
            response = httpx.get(self.ready_url, timeout=2, trust_env=False)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def usage(self) -> tuple[float, float]:
        """(CPU seconds used so far, resident memory in MB) of the process and its children."""
        tick = os.sysconf("SC_CLK_TCK")
        cpu = rss = 0.0
        for pid in _group_pids(self.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            cpu += (int(fields[11]) + int(fields[12])) / tick
            rss += (
                next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
                / 1024
            )
        return cpu, rss


class Stack:
    """One order service, `actions` action servers and `rasa` Rasa servers; nginx when either is above one.

    `settings` are extra settings (environment variables of daogou/config.py), e.g. TRACKER_STORE_URL
    and LOCK_STORE=redis for several Rasa servers.
    """

    def __init__(
        self,
        state_dir: Path,
        model: Path,
        *,
        rasa: int = 1,
        actions: int = 1,
        settings: dict[str, str] | None = None,
    ) -> None:
        if rasa < 1 or actions < 1:
            raise ValueError("a stack needs at least one Rasa server and one action server")
        self.state_dir, self.model = Path(state_dir), Path(model)
        self.logs = self.state_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        balanced = rasa > 1 or actions > 1
        nginx = nginx_binary() if balanced else None
        if balanced and nginx is None:
            raise BalancerUnavailable("several instances need nginx (apt-get install nginx)")
        ports = {
            "RASA_PORT": free_port(),
            "ACTIONS_PORT": free_port(),
            "ORDERS_PORT": free_port(),
            "WEB_PORT": free_port(),
        }
        self.env = settings_env(
            {"STATE_DIR": str(self.state_dir), **{k: str(v) for k, v in ports.items()}, **(settings or {})}
        )
        self.host = self.env["HOST"]
        self.internal_host = self.env["INTERNAL_HOST"]  # action servers and their balancer
        self.rasa_url = f"http://{self.host}:{ports['RASA_PORT']}"  # what shoppers' clients call
        self.actions_url = f"http://{self.internal_host}:{ports['ACTIONS_PORT']}"  # what Rasa calls
        # Rasa's HTTP API: off unless the settings give it a token (deploy/rasa.py)
        self.rasa_api_token = self.env.get("RASA_API_TOKEN", "")
        self.action_server_token = self.env["ACTION_SERVER_TOKEN"]
        self.orders_url = self.env["ORDER_SERVICE_URL"]

        rasa_ports = [ports["RASA_PORT"]] if not balanced else [free_port() for _ in range(rasa)]
        action_ports = [ports["ACTIONS_PORT"]] if not balanced else [free_port() for _ in range(actions)]
        orders_port = ports["ORDERS_PORT"]
        self.orders = Process(
            "orders",
            [
                str(APP_BIN / "uvicorn"),
                "order_service.main:app",
                "--host",
                self.host,
                "--port",
                str(orders_port),
                "--log-level",
                "warning",
            ],
            self.env,
            self.logs / "orders.log",
            f"{self.orders_url}/health",
            orders_port,
        )
        self.actions = [
            Process(
                f"actions-{i}",
                [str(APP_BIN / "python"), "-m", "actions"],
                {**self.env, "ACTIONS_PORT": str(port)},
                self.logs / f"actions-{i}.log",
                f"http://{self.internal_host}:{port}/health",
                port,
            )
            for i, port in enumerate(action_ports)
        ]
        self.rasa = [
            Process(
                f"rasa-{i}",
                [
                    str(APP_BIN / "python"),
                    "-m",
                    "deploy.rasa",
                    "--model",
                    str(self.model),
                    "--port",
                    str(port),
                ],
                # behind nginx, the channels' per-address limits read the client from X-Forwarded-For
                {"SANIC_PROXIES_COUNT": "1", **self.env} if balanced else self.env,
                self.logs / f"rasa-{i}.log",
                f"http://{self.host}:{port}{READY_PATH}",
                port,
            )
            for i, port in enumerate(rasa_ports)
        ]
        self.balancer: Process | None = None
        if balanced:
            conf = self._render_nginx(rasa_ports, action_ports, ports)
            self.balancer = Process(
                "nginx",
                [nginx, "-c", str(conf), "-p", str(conf.parent)],
                self.env,
                self.logs / "nginx.log",
                None,
                ports["RASA_PORT"],
            )

    def _render_nginx(self, rasa_ports: list[int], action_ports: list[int], ports: dict[str, int]) -> Path:
        folder = self.state_dir / "nginx"
        folder.mkdir(exist_ok=True)
        servers = lambda host, plist: "\n".join(f"        server {host}:{p} max_fails=0;" for p in plist)  # noqa: E731
        text = NGINX_TEMPLATE.read_text()
        for key, value in {
            "WORKERS": "1",
            "STATE": str(folder),
            "HOST": self.host,
            "INTERNAL_HOST": self.internal_host,
            "RASA_PORT": str(ports["RASA_PORT"]),
            "ACTIONS_PORT": str(ports["ACTIONS_PORT"]),
            "RASA_SERVERS": servers(self.host, rasa_ports),
            "ACTION_SERVERS": servers(self.internal_host, action_ports),
        }.items():
            text = text.replace("{{" + key + "}}", value)
        conf = folder / "nginx.conf"
        conf.write_text(text)
        return conf

    @property
    def processes(self) -> list[Process]:
        return [self.orders, *self.actions, *self.rasa, *([self.balancer] if self.balancer else [])]

    def start(self, timeout: float = 900.0) -> Stack:
        for proc in self.processes:
            proc.start()
        for proc in self.processes:
            proc.wait_ready(timeout)
        return self

    def restart(self, procs: list[Process], timeout: float = 900.0) -> None:
        for proc in procs:
            proc.stop()
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.wait_ready(timeout)

    def close(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def instance_url(self, i: int) -> str:
        """One Rasa server directly, bypassing the balancer."""
        return f"http://{self.host}:{self.rasa[i].port}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Start Daogou with several Rasa and action servers behind nginx."
    )
    parser.add_argument("--rasa", type=int, default=2)
    parser.add_argument("--actions", type=int, default=2)
    parser.add_argument("--model", type=Path, required=True, help="trained Rasa model (.tar.gz)")
    parser.add_argument(
        "--state-dir", type=Path, required=True, help="prepared state (`daogou db load-demo`, `faq build`)"
    )
    args = parser.parse_args()
    stack = Stack(args.state_dir, args.model, rasa=args.rasa, actions=args.actions).start()
    print(f"Daogou is ready: {stack.rasa_url}/webhooks/rest/webhook  (Ctrl-C stops it)", flush=True)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        stack.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
