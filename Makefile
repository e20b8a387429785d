# Outlay commands. `make run` and `make test` set themselves up (virtualenv + dependencies) when needed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test test-fast lint bench-ingest bench-nab bench-anomaly bench-forecast bench-optimizer bench-api bench-iac bench-nlq bench-web fuzz-api proto migrate clean compose-up check-deploy web vsix

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

# The VS Code extension (ide/vscode) as ide/vscode/outlay-vscode.vsix: `code --install-extension` it (docs/ide.md).
vsix:
	cd ide/vscode && npm ci --no-audit --no-fund && npx vsce package --skip-license --out outlay-vscode.vsix

test: setup
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --durations=20

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

# The dashboard built (npm ci when node_modules is missing or stale, the build when web/dist is), then in headless
# chromium: the overview's first spend figure (median of cold loads) and the gzip size of the JavaScript it loads,
# against a static page with no JS served by the same gateway.
bench-web: setup
	$(PY) -m bench.web

# The offline question parser on tests/fixtures/ask/phrasings.yaml: per-shape accuracy and a last line of JSON.
bench-nlq: setup
	$(PY) -m bench.nlq

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
