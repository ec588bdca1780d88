# Two commands do everything on a fresh machine:  `make demo`  and  `make test`.
# The first install compiles quickfix from source (about 8 minutes on 2 cores); pip caches
# the wheel, so later installs take seconds.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Kubernetes manifests (scripts/k8s-lint.sh): schemas of this Kubernetes version, and checkov in
# a venv of its own (checkov pins packaging<24; pytest 9 in $(VENV) needs packaging>=24).
K8S_VERSION  ?= 1.31.0
CHECKOV_VENV ?= $(VENV)/tools/checkov
CHECKOV      ?= $(CHECKOV_VENV)/bin/checkov

.PHONY: help venv install services browser lint typecheck test unit demo bench db-upgrade clean

help:
	@echo "make demo    venv + install + services + migrate, then run the demo end to end"
	@echo "make test    venv + install + services, then ruff, mypy, hadolint and the test suite"
	@echo "make lint    ruff, mypy, hadolint, yamllint"
	@echo "make bench   the benchmarks (oms bench)"

venv: $(BIN)/python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

install: $(STAMP)

$(STAMP): $(BIN)/python pyproject.toml
	@echo "[install] installing the project and its dev tools into $(VENV)"
	@$(BIN)/python -c "import quickfix" 2>/dev/null || \
	    echo "[install] quickfix is not installed yet: compiling it takes about 8 minutes the first time"
	$(BIN)/pip install --quiet --progress-bar off -e '.[dev]'
	@touch $(STAMP)

services:
	@bash scripts/ensure-services.sh

browser:
	@bash scripts/ensure-chromium.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	$(BIN)/yamllint -s compose.yaml
	@test -x $(CHECKOV) || { echo "[lint] installing checkov into $(CHECKOV_VENV)"; \
	    $(BIN)/python -m venv $(CHECKOV_VENV) && \
	    $(CHECKOV_VENV)/bin/pip install --quiet --progress-bar off 'checkov>=3.2,<4'; }
	YAMLLINT=$(BIN)/yamllint KUBERNETES_VALIDATE=$(BIN)/kubernetes-validate PYTHON=$(BIN)/python \
	    CHECKOV=$(CHECKOV) K8S_VERSION=$(K8S_VERSION) bash scripts/k8s-lint.sh

# OMS_TEST_DISRUPTIVE=1 lets the outage tests restart the machine's shared RabbitMQ: fine for
# `make test` (CI runs alone), not for a bare `pytest` beside other test runs.
test: install services browser lint
	OMS_TEST_DISRUPTIVE=1 $(BIN)/pytest $(PYTEST_ARGS)

unit: install
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

db-upgrade: install services
	$(BIN)/oms db upgrade

# The demo migrates its own database itself (oms_demo); options: make demo DEMO_ARGS="--duration 20"
demo: install services
	$(BIN)/oms demo $(DEMO_ARGS)

bench: install services
	$(BIN)/oms bench $(BENCH_ARGS)

clean:
	rm -rf var bench-out test-artifacts .pytest_cache .mypy_cache .ruff_cache
