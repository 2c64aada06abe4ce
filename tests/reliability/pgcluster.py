"""A private PostgreSQL server for a test that restarts it (the shared one on 5432 serves everyone else)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from deploy.stack import free_port


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


class PrivateCluster:
    """initdb'd in a temporary directory, listening on 127.0.0.1 on a free port; `restart()` is a real
    fast shutdown and start of the server (every connection dropped)."""

    def __init__(self) -> None:
        binaries = pg_bin()
        if binaries is None:
            raise FileNotFoundError(
                "PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed"
            )
        self.bin = binaries
        self.root = Path(tempfile.mkdtemp(prefix="daogou-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # the server refuses root
        subprocess.run([*prefix, str(self.bin / tool), *args], check=True, capture_output=True, timeout=120)

    def pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", *args)

    def __enter__(self) -> PrivateCluster:
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.pg_ctl(
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"
        )
        return self

    def restart(self) -> None:
        self.pg_ctl("-m", "fast", "restart")

    def __exit__(self, *exc: object) -> None:
        try:
            self.pg_ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
