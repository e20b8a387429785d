# Outlay commands. `make run` and `make test` set themselves up (virtualenv + dependencies) when needed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test test-fast lint bench-ingest bench-nab bench-anomaly bench-forecast bench-optimizer bench-api bench-iac fuzz-api proto migrate clean compose-up check-deploy web

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or run: make PYTHON=python3 …)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	@# The dashboard (web/) is built when missing or older than its sources, where npm exists.
	@if command -v npm >/dev/null 2>&1; then \
	  if [ ! -f web/dist/index.html ] || [ -n "$$(find web/src web/index.html web/package.json -newer web/dist/index.html)" ]; then \
	    $(MAKE) web; fi; \
	else echo "npm not found: the dashboard is not built (the API works without it)"; fi
	$(VENV)/bin/outlay run

web:
	cd web && npm ci --no-audit --no-fund && npm run build

test: setup
	$(VENV)/bin/pytest -q -p no:cacheprovider --durations=20

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check outlay services tests bench
	$(VENV)/bin/mypy outlay services

bench-ingest: setup
	$(PY) -m bench.ingest

bench-nab: setup
	$(PY) -m bench.nab

bench-forecast: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m bench.forecast

bench-optimizer: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m bench.optimizer

bench-anomaly: setup
	$(PY) -m bench.anomaly

bench-api: setup
	$(PY) -m bench.api

# IaC estimates against the peer's goldens (shared/data/iac_infracost), and a 2,000-resource plan timed.
bench-iac: setup
	$(PY) -m bench.iac

# schemathesis over every REST route against the real PostgreSQL; exits non-zero on any failure.
fuzz-api: setup
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/integration/test_gateway_fuzz.py

# gRPC stubs from proto/ into outlay/rpc/ (committed; tests/unit/test_proto_stubs.py fails when they are stale).
proto: setup
	$(PY) -m grpc_tools.protoc -I proto --python_out=. --pyi_out=. --grpc_python_out=. proto/outlay/rpc/*.proto

migrate: setup
	$(VENV)/bin/outlay migrate

compose-up:
	docker compose up --build

check-deploy: setup
	$(PY) -m outlay.deploy.check

clean:
	rm -rf $(VENV) .outlay build *.egg-info
