"""The composition root every service shares: one call builds the FastAPI app with its
lifespan (database engine, Kafka broker with tracing, outbox relay, JWT verifier, object store),
the command bus on the service's unit of work, the clock, health and readiness probes,
Prometheus metrics and problem+json errors. Services add only their unit of work, routers,
consumers (`runtime.consumer(...).on(Event, handler)`), periodic jobs (`runtime.every`) and
domain error mapping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI, Query, Response
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from guakao_shared.auth import CurrentUser, JwtVerifier
from guakao_shared.clock import Clock
from guakao_shared.commands import CommandBus
from guakao_shared.db import make_engine, make_session_factory
from guakao_shared.deadletters import read_dead_letters
from guakao_shared.guard import RequestGuard
from guakao_shared.idempotency import IdempotencyKeyReused
from guakao_shared.identity import Role, require_role
from guakao_shared.inbox import InboxConsumer
from guakao_shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from guakao_shared.objectstore import S3DocumentStore
from guakao_shared.openapi import install_openapi
from guakao_shared.outbox import OutboxRelay, Retention
from guakao_shared.problems import ProblemError, install_problem_handlers
from guakao_shared.process import definition
from guakao_shared.refusals import STATUS_OF
from guakao_shared.settings import ServiceSettings
from guakao_shared.telemetry import (
    instrument_app,
    instrument_engine,
    setup_telemetry,
    shutdown_telemetry,
)
from guakao_shared.topology import dead_letter_topic
from guakao_shared.uow import SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)

U = TypeVar("U", bound=SqlAlchemyUnitOfWork)
PeriodicJob = Callable[[datetime], Coroutine[Any, Any, object]]


class HttpMetricsMiddleware:
    """Request counts and latency by route template (pure ASGI: keeps the trace context intact)."""

    def __init__(self, app: Any, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], route, status).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], route).observe(
                time.perf_counter() - start
            )


class ServiceRuntime(Generic[U]):
    """Everything one service process holds. Build it, register consumers and periodic jobs,
    then `create_app()`. `unit_of_work` builds the service's unit of work from the runtime (its
    session factory and the adapters it needs): the bus, consumers and jobs all use it."""

    def __init__(
        self,
        service: str,
        settings: ServiceSettings,
        *,
        unit_of_work: Callable[[ServiceRuntime[U]], U],
    ) -> None:
        self.service = service
        self.settings = settings
        self.tracer_provider = setup_telemetry(service, log_level=settings.log_level)
        definition()  # a broken process definition stops the process here, with line and reason
        self.engine = make_engine(settings.database_url)
        instrument_engine(self.engine)
        self.session_factory = make_session_factory(self.engine)
        self.broker = KafkaBroker(
            settings.kafka_bootstrap,
            client_id=f"guakao-{service}",
            enable_idempotence=True,
            acks="all",
            middlewares=[KafkaTelemetryMiddleware(tracer_provider=self.tracer_provider)],
            logger=logging.getLogger("guakao.kafka"),  # JSON logs with trace ids, like the rest
        )
        self.relay = OutboxRelay(
            self.engine,
            service=service,
            kafka_bootstrap=settings.kafka_bootstrap,
            poll_interval_s=settings.relay_poll_interval_s,
            batch_size=settings.relay_batch_size,
            retention=Retention(
                settings.outbox_retention_days,
                settings.inbox_retention_days,
                settings.idempotency_retention_days,
            ),
        )
        self.documents = S3DocumentStore(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        self.verifier = JwtVerifier(
            settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        self.clock = Clock(
            allow_override=settings.allow_clock_override,
            setting=f"{settings.model_config.get('env_prefix', '')}ALLOW_CLOCK_OVERRIDE",
        )
        self._make_uow = unit_of_work
        self.bus: CommandBus[U] = CommandBus(self.unit_of_work)
        self.consumers: list[InboxConsumer[U]] = []
        self.background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._broker_started = asyncio.Event()

    def unit_of_work(self) -> U:
        return self._make_uow(self)

    def consumer(self, name: str, *, topics: Sequence[str]) -> InboxConsumer[U]:
        """An idempotent consumer group `<service>.<name>` on `topics`; add handlers with `.on`."""
        consumer = InboxConsumer(
            service=self.service,
            name=name,
            uow_factory=self.unit_of_work,
            broker=self.broker,
            max_attempts=self.settings.consumer_max_attempts,
            retry_backoff_s=self.settings.consumer_retry_backoff_s,
        )
        consumer.subscribe(*topics)
        self.consumers.append(consumer)
        return consumer

    def every(self, interval_s: float, job: PeriodicJob, *, name: str) -> None:
        """Run `job(now)` every `interval_s` seconds while the process runs. A failed run is
        logged and the next one happens on time; the job itself must be safe to run twice."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await job(self.clock.now())
                except Exception:
                    log.exception("periodic job %s failed; retrying at the next interval", name)

        loop.__name__ = name
        self.background.append(loop)

    async def _start_broker(self) -> None:
        """Kafka may be down when we start: keep trying in the background, never crash."""
        delay = 0.5
        while True:
            try:
                await self.broker.start()
                self._broker_started.set()
                log.info("kafka broker connected (%d consumer(s))", len(self.consumers))
                return
            except Exception as exc:
                log.warning("kafka not reachable yet (%s); retrying in %.1fs", exc, delay)
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self._start_broker(), name="broker-start")]
        if self.settings.relay_enabled:
            tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        tasks += [asyncio.create_task(job(), name=job.__name__) for job in self.background]
        try:
            yield
        finally:
            self.relay.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.broker.stop()
            await self.engine.dispose()
            shutdown_telemetry()

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"down: {type(exc).__name__}"
        checks["kafka"] = "ok" if self._broker_started.is_set() else "connecting"
        if self.settings.relay_enabled:
            checks["outbox_relay"] = "active" if self.relay.active else "standby"
        return checks

    def create_app(
        self,
        *,
        title: str,
        version: str,
        routers: Sequence[APIRouter],
        domain_errors: Mapping[type[Exception], int] | None = None,
        description: str = "",
    ) -> FastAPI:
        app = FastAPI(
            title=title,
            version=version,
            description=description,
            lifespan=self.lifespan,
            docs_url="/docs",
            openapi_url="/openapi.json",
        )
        app.state.runtime = self
        app.state.jwt_verifier = self.verifier
        install_problem_handlers(
            app, {IdempotencyKeyReused: 422, **STATUS_OF, **(domain_errors or {})}
        )
        for router in routers:
            app.include_router(router)

        @app.get("/health/live", tags=["ops"], include_in_schema=False)
        async def live() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/health/ready", tags=["ops"], include_in_schema=False)
        async def ready(response: Response) -> dict[str, Any]:
            checks = await self.readiness()
            ok = checks["database"] == "ok" and checks["kafka"] == "ok"
            response.status_code = 200 if ok else 503
            return {"status": "ok" if ok else "not ready", "checks": checks}

        @app.get(
            "/v1/admin/dead-letters",
            tags=["ops"],
            summary="Messages this service's consumers could not process",
        )
        async def dead_letters(
            user: CurrentUser,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        ) -> list[dict[str, Any]]:
            require_role(user, Role.PROCESS_ADMIN, action="reading dead letters")
            found = await read_dead_letters(
                self.settings.kafka_bootstrap, dead_letter_topic(self.service), limit=limit
            )
            return [d.view() for d in found]

        @app.post(
            "/v1/admin/dead-letters/{dlq_id}/replay",
            tags=["ops"],
            status_code=202,
            summary="Send a dead letter back to the topic it came from",
        )
        async def replay(dlq_id: str, user: CurrentUser) -> dict[str, Any]:
            require_role(user, Role.PROCESS_ADMIN, action="replaying dead letters")
            found = await read_dead_letters(
                self.settings.kafka_bootstrap, dead_letter_topic(self.service), limit=100_000
            )
            letter = next((d for d in reversed(found) if d.id == dlq_id), None)
            if letter is None or not letter.origin_topic:
                raise ProblemError(404, "Not found", f"no dead letter {dlq_id} to replay")
            if letter.truncated:
                raise ProblemError(
                    409,
                    "Conflict",
                    f"dead letter {dlq_id} holds only the beginning of a message too large to "
                    f"dead-letter whole; re-publish it from {letter.origin_topic} partition "
                    f"{letter.origin_partition} offset {letter.origin_offset}",
                    rule="truncated_dead_letter",
                )
            keep = {k: v for k, v in letter.headers.items() if not k.startswith("dlq.")}
            await self.broker.publish(
                letter.body,
                topic=letter.origin_topic,
                key=letter.origin_key.encode() if letter.origin_key else None,
                headers={**keep, "dlq.replayed-from": dlq_id, "dlq.replayed-by": user.sub},
            )
            log.warning(
                "dead letter %s replayed to %s by %s", dlq_id, letter.origin_topic, user.sub
            )
            return {"replayed": dlq_id, "to": letter.origin_topic}

        @app.get("/metrics", tags=["ops"], include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        install_openapi(app)  # every refusal documented, as problem+json
        app.add_middleware(
            RequestGuard,
            verifier=self.verifier,
            max_json_bytes=self.settings.max_json_bytes,
            max_upload_bytes=self.settings.max_upload_bytes,
        )
        app.add_middleware(HttpMetricsMiddleware, service=self.service)
        instrument_app(app)
        return app
