"""Start N `supportbot serve` processes on one database, one Redis and one index folder: the
scaled deployment on one machine, for the scaled-mode tests and the load benchmark.

    from benchmarks.servers import ServerGroup
    with ServerGroup(2, settings={"database_url": PG, "redis_url": REDIS, "index_dir": DIR,
                                  "embedding_model": "hash-64"}) as group:
        group.urls  # ["http://127.0.0.1:PORT1", "http://127.0.0.1:PORT2"], each /readyz 200

Each process is `python -m bot.cli serve --port P` with this checkout first on PYTHONPATH, so it
runs this code (not an installed copy), and the settings as `SUPPORTBOT_*` variables (the
caller's own `SUPPORTBOT_*` variables are dropped). Each process gets its own port, so a test
can send one request to one process and the next to another. Logs go to `<log_dir>/serve-N.log`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_env(settings: Mapping[str, Any], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a `supportbot` subprocess: `base` (default: this process's) without
    its SUPPORTBOT_* variables, this checkout first on PYTHONPATH, and `settings` as
    SUPPORTBOT_<NAME>."""
    env = {k: v for k, v in (base or os.environ).items() if not k.startswith("SUPPORTBOT_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.update({f"SUPPORTBOT_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class ServerGroup:
    """`count` server processes sharing `settings`; started on enter, stopped on exit."""

    def __init__(
        self,
        count: int,
        *,
        settings: Mapping[str, Any],
        log_dir: Path | None = None,
        workers: int = 1,
        ready_timeout: float = 180.0,  # a busy 2-core machine imports slowly
    ):
        self.count = count
        self.settings = dict(settings)
        self.log_dir = log_dir or Path(tempfile.gettempdir())
        self.workers = workers
        self.ready_timeout = ready_timeout
        self.ports = [free_port() for _ in range(count)]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def start(self) -> ServerGroup:
        env = serve_env(self.settings)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for n, port in enumerate(self.ports):
            with open(self.log_dir / f"serve-{n}.log", "wb") as log:
                command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
                if self.workers > 1:
                    command += ["--workers", str(self.workers)]
                self.processes.append(
                    subprocess.Popen(
                        command, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        try:
            for n, url in enumerate(self.urls):
                self._wait_ready(n, url)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, n: int, url: str) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.processes[n].poll() is not None:
                raise RuntimeError(f"server {n} exited: {self.log(n)[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server {n} not ready in {self.ready_timeout} s: {self.log(n)[-3000:]}")

    def log(self, n: int) -> str:
        return (self.log_dir / f"serve-{n}.log").read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL whoever is still there after 10 s."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def __enter__(self) -> ServerGroup:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
