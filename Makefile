# One customer, one journey: the developer menu.
#   make dev      set up what is missing, run the local runtime (API on 127.0.0.1:3000) and play the demo journey
#   make test     set up what is missing, lint, type-check and run every test
#   make token ROLE=customer|agent|admin [SUB=...]   print a development JWT the local runtime accepts
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.13; use the same interpreter locally when the machine has it (pyenv or PATH).
PYTHON ?= $(shell (PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null) || (python3.13 -c 'print()' >/dev/null 2>&1 && command -v python3.13) || command -v python3)
SAM_PYTHON ?= $(PYTHON)
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
PORT ?= 3000
MOTO_PORT ?= 5000
export PORT MOTO_PORT

$(VENV)/.installed: requirements/layer.txt requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	@test -x $(SAM_VENV)/bin/python || $(SAM_PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/sam.txt
	@touch $@

.PHONY: help setup dev demo serve test unit lint format token openapi validate build bench deploy clean browser import
help: ## this menu
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

setup: $(VENV)/.installed $(SAM_VENV)/.installed ## create the virtualenvs (product, SAM CLI)

dev: $(VENV)/.installed ## run the local runtime and play the demo journey (Ctrl-C stops)
	$(PY) -m local_runtime serve --demo

serve: $(VENV)/.installed ## run the local runtime without the demo
	$(PY) -m local_runtime serve

demo: $(VENV)/.installed ## play the demo journey against a running local runtime
	$(PY) -m local_runtime demo --url http://127.0.0.1:$(PORT)

# The console's browser tests drive Debian's chromium through chromium-driver (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
browser: ## install Debian's chromium and chromium-driver for the console's tests when missing (needs root)
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and chromium-driver for the console's browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-cjk; \
	else \
	  echo "the console's browser tests need $(CHROMIUM) and $(CHROMEDRIVER): run as root on Debian, or" \
	    "sudo apt-get install chromium chromium-driver fonts-noto-cjk (the tests fail without them)" >&2; exit 1; \
	fi

test: $(VENV)/.installed $(SAM_VENV)/.installed browser lint ## lint, type-check and run every test
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(PY) -m pytest $(PYTEST_ARGS)

unit: $(VENV)/.installed ## the fast tests only (no SAM CLI)
	$(PY) -m pytest -m "not sam" $(PYTEST_ARGS)

lint: $(VENV)/.installed ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed ## apply ruff's formatting and fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

import: $(VENV)/.installed ## import history: make import FILE=history.jsonl|.csv|spend.csv [URL=...] [WRITE_KEY=...] [TOKEN=...]
	@test -n "$(FILE)" || { echo "usage: make import FILE=history.jsonl [URL=https://<ApiUrl>] [WRITE_KEY=...] [TOKEN=...]" >&2; exit 2; }
	$(PY) -m history_import "$(FILE)" --url "$(or $(URL),http://127.0.0.1:$(PORT))" $(if $(WRITE_KEY),--write-key "$(WRITE_KEY)") $(if $(TOKEN),--token "$(TOKEN)")

token: $(VENV)/.installed ## print a development JWT: make token ROLE=agent [SUB=...]
	@$(PY) -m local_runtime token --role $(or $(ROLE),customer) $(if $(SUB),--sub $(SUB))

openapi: $(VENV)/.installed ## regenerate docs/openapi*.json and docs/canonical-event.schema.json from the code
	$(PY) -m local_runtime openapi --out docs/openapi.json
	$(PY) -m local_runtime openapi --function ProfilesApiFunction --out docs/openapi-profiles.json
	$(PY) -m local_runtime openapi --function CartsApiFunction --out docs/openapi-carts.json
	$(PY) -m local_runtime openapi --function HandoffApiFunction --out docs/openapi-handoff.json
	$(PY) -m local_runtime openapi --function HandoffStoresApiFunction --out docs/openapi-handoff-stores.json
	PYTHONPATH=shared:functions/kpis $(PY) -c 'import json; from kpis.handler import openapi_document; \
	  print(json.dumps(json.loads(openapi_document()), indent=2, ensure_ascii=False))' > docs/openapi-kpis.json
	PYTHONPATH=shared $(PY) -c 'import json; from omnichannel.canonical_event import CanonicalEvent; \
	  print(json.dumps(CanonicalEvent.model_json_schema(), indent=2, ensure_ascii=False))' > docs/canonical-event.schema.json

validate: $(SAM_VENV)/.installed ## sam validate --lint
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint

build: $(SAM_VENV)/.installed $(VENV)/.installed ## sam build (needs python3.13 on PATH: the venv provides it)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build

bench: $(VENV)/.installed browser ## print the benchmark figures
	@for b in bench/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

deploy: build ## sam deploy --guided (needs AWS credentials)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --guided

clean: ## remove virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
