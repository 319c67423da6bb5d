# syntax=docker/dockerfile:1
# The image of any guakao service. Build it from the repository root (the uv workspace), e.g.
#   docker build -f deploy/docker/service.Dockerfile -t guakao/approvals-svc \
#     --build-arg SERVICE_DIR=approvals-svc --build-arg PACKAGE=approvals-svc \
#     --build-arg MODULE=approvals_svc --build-arg PORT=8002 .
# (services/README.md lists each service's folder, package and port.) It holds the service's
# locked dependencies in a virtualenv and its Alembic migrations, nothing else: no sources of
# other services, no dev tools, no compilers.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- build: resolve and install
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE_DIR
ARG PACKAGE

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_CACHE_DIR=/var/cache/uv

RUN pip install uv==0.13.8

WORKDIR /src

# Third-party dependencies first, from the lockfile only: this layer is rebuilt when uv.lock or
# a pyproject changes, not on every source edit. --frozen installs exactly what uv.lock pins and
# does not need the other workspace members to be present.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY ${SERVICE_DIR}/pyproject.toml ${SERVICE_DIR}/
RUN --mount=type=cache,target=/var/cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package ${PACKAGE}

# Then the workspace packages this service needs, installed as regular (non-editable) wheels so
# that the runtime stage needs only the virtualenv.
COPY shared/ shared/
COPY ${SERVICE_DIR}/ ${SERVICE_DIR}/
RUN --mount=type=cache,target=/var/cache/uv \
    uv sync --frozen --no-dev --no-editable --package ${PACKAGE}

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE_DIR
ARG PACKAGE
ARG MODULE
ARG PORT

LABEL org.opencontainers.image.title="guakao ${PACKAGE}" \
      org.opencontainers.image.description="guakao ${PACKAGE}"

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVICE_DIR=${SERVICE_DIR} \
    MODULE=${MODULE} \
    PORT=${PORT}

# A fixed numeric uid/gid, so that Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 guakao \
    && useradd --system --uid 10001 --gid guakao --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin guakao

WORKDIR /app
COPY --from=build /app/.venv /app/.venv
# Migrations keep their repository paths so the documented command works unchanged:
#   alembic -c <service folder>/alembic.ini upgrade head
COPY ${SERVICE_DIR}/alembic.ini ${SERVICE_DIR}/alembic.ini
COPY ${SERVICE_DIR}/migrations/ ${SERVICE_DIR}/migrations/

USER 10001:10001
EXPOSE ${PORT}
STOPSIGNAL SIGTERM

# Liveness only: readiness (/health/ready) is for load balancers, and a container must not be
# restarted because Kafka or PostgreSQL is briefly away. The slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['PORT']}/health/live\", timeout=4)"]

# Migrate, then replace the shell with uvicorn so that it receives SIGTERM and drains.
# Kubernetes runs the migrations in an initContainer and overrides this command.
# --reset-contextvars: without it a request body over 64 KiB leaks its trace context into the
# next request on the same keep-alive connection (CPython asyncio bug).
CMD ["sh", "-c", "alembic -c \"$SERVICE_DIR/alembic.ini\" upgrade head && exec uvicorn \"$MODULE.entrypoints.app:create_app\" --factory --reset-contextvars --no-server-header --host 0.0.0.0 --port \"$PORT\""]
