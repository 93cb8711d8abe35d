# Every routine task has one name here. Each target creates or reuses .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export AWS_EC2_METADATA_DISABLED := true
export SAM_CLI_TELEMETRY := 0

# `sam build` without Docker runs the functions' runtime (template.yaml's Runtime, e.g. python3.13) from PATH.
# pyenv machines keep it as an extra version: make it reachable beside the default one.
RUNTIME_PYTHON := $(shell sed -n 's/^ *Runtime: *\(python[0-9.]*\).*/\1/p' template.yaml | head -n 1)
PYENV_RUNTIME := $(shell pyenv versions --bare 2>/dev/null | grep -E '^$(subst python,,$(RUNTIME_PYTHON))\.' | tail -n 1)
ifneq ($(PYENV_RUNTIME),)
ifeq ($(PYENV_VERSION),)
export PYENV_VERSION := $(shell pyenv version-name 2>/dev/null):$(PYENV_RUNTIME)
endif
endif

.PHONY: help venv demo test unit integration sam build bench lint format clean

help:
	@echo "make demo   run the whole story on an embedded moto server"
	@echo "make test   lint and run every test"
	@echo "make lint   ruff check and ruff format --check"
	@echo "make bench  cost figures (API calls, sweep at scale, cold start) on moto's server"
	@echo "make build  sam build (the Lambda layer and functions, arm64, no Docker)"
	@echo "make sam    sam validate --lint, sam build, and the template and handler tests"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# checkov (the `scan` extra) lives in a virtual environment of its own: see pyproject.toml.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): pyproject.toml
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet '.[scan]'
	touch $(CHECKOV_STAMP)

venv: $(STAMP) $(CHECKOV_STAMP)

# The IAM policy evaluator the tests and the demo judge access with (evaluator/iam_evaluator): @cloud-copilot/iam-simulate
# on node, installed exactly as package-lock.json pins it. Never shipped to Lambda.
EVALUATOR := evaluator/iam_evaluator/node
EVALUATOR_STAMP := $(EVALUATOR)/node_modules/.installed

$(EVALUATOR_STAMP): $(EVALUATOR)/package.json $(EVALUATOR)/package-lock.json
	npm ci --prefix $(EVALUATOR) --no-audit --no-fund
	touch $(EVALUATOR_STAMP)

# The demo needs the `demo` extra only (boto3, click, rich, moto and its server: about 150 MB), not the whole `dev` one (SAM CLI, cfn-lint, every moto service: about 450 MB). Its
# own stamp, so `make test` still installs `dev` into the same .venv.
DEMO_STAMP := $(VENV)/.installed-demo

$(DEMO_STAMP): pyproject.toml
	@echo "==> $(VENV): installing secretshare with the demo extra (boto3, click, rich, moto and its server)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[demo]'
	touch $(DEMO_STAMP)

# The demo judges an app role of account A with the IAM evaluator (evaluator/iam_evaluator, node).
demo: $(DEMO_STAMP) $(EVALUATOR_STAMP)
	@echo "==> running the demo: an embedded moto server, the IAM evaluator on node"
	$(BIN)/secretshare demo

test: lint $(CHECKOV_STAMP) $(EVALUATOR_STAMP)
	$(BIN)/python -m pytest -n 2 -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

# The template checks (sam validate --lint for both templates, sam build) are tests in tests/sam, so `make test`
# runs them too.
sam: $(STAMP)
	$(BIN)/python -m pytest -q tests/sam

build: $(STAMP)
	$(BIN)/sam build --cached --parallel

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .aws-sam $(EVALUATOR)/node_modules

# Both parts by default (about 18 minutes on 2 cores); BENCH_ARGS=--quick (about 4), --moto or --latency for one part.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
