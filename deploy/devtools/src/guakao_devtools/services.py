"""The built services as real processes: migrations, start, readiness, stop; and `guakao run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from guakao_devtools.infra import Infra, Progress
from guakao_devtools.registry import REPO as REPO  # where `guakao` finds the repository
from guakao_devtools.registry import SERVICES, STARTED

# The services `make run` starts: those marked `started` in services.toml.
BUILT_SERVICES = STARTED
SERVICE_DIRS = {s.name: s.folder for s in SERVICES}


@dataclass
class ServiceProcess:
    """One service run as a real process (uvicorn), as it runs in production."""

    name: str
    port: int
    env: dict[str, str]
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **overrides: str) -> None:
        env = {**os.environ, **self.env, **overrides}
        # --reset-contextvars: without it a request body over 64 KiB leaks its trace context
        # into the next request on the same keep-alive connection (CPython asyncio bug).
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            f"{self.name}_svc.entrypoints.app:create_app",
            "--factory",
            "--reset-contextvars",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if self.log is None:
            self.proc = subprocess.Popen(argv, env=env, start_new_session=True)
            return
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name}-svc exited ({self.proc.returncode}):\n{self.tail()}"
                )
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}-svc not ready within {timeout:.0f}s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 60) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def migrate(infra: Infra, service: str) -> None:
    env = {**os.environ, **infra.service_env(service)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(SERVICE_DIRS[service] / "alembic.ini"),
            "upgrade",
            "head",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrations of {service}-svc failed:\n{result.stderr[-3000:]}")


def migrate_all(infra: Infra, progress: Progress) -> None:
    for service in BUILT_SERVICES:
        migrate(infra, service.name)
        progress(f"migrated {service.name} (database {service.name})")


def run_suite(infra: Infra, progress: Progress) -> int:
    """`make run`: infra up, migrations, every built service started; Ctrl-C stops them."""
    infra.up(progress)
    migrate_all(infra, progress)
    procs = []
    for service in BUILT_SERVICES:
        port = int(os.environ.get(f"GUAKAO_{service.name.upper()}_PORT", service.port))
        env = {
            **infra.service_env(service.name),
            f"{service.name.upper()}_ENVIRONMENT": "development",
        }
        procs.append(ServiceProcess(service.name, port, env))
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.wait_ready()
        lines = ["", "guakao is running:"]
        for proc in procs:
            lines.append(
                f"  {proc.name + '-svc':18} {proc.url}   docs {proc.url}/docs   "
                f"ready {proc.url}/health/ready   metrics {proc.url}/metrics"
            )
        lines += [
            f"  postgres           {infra.postgres.describe()}",
            f"  kafka              {infra.kafka.describe()}",
            f"  minio (S3)         {infra.minio.describe()}",
            "",
            "A token:  uv run guakao token --sub alice --role applicant --dept it",
            "Ctrl-C stops the services (the infrastructure keeps running: guakao infra down).",
        ]
        progress("\n".join(lines))
        while not stopping:
            for p in procs:
                code = None if p.proc is None else p.proc.poll()
                if code is not None:
                    progress(f"{p.name}-svc exited with {code}; stopping")
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        progress("stopping the services")
        for proc in procs:
            proc.stop()
