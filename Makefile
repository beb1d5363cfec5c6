# One customer, one journey: the developer menu.
#   make dev      set up what is missing, run the local runtime (API on 127.0.0.1:3000) and play the demo journey
#   make test     set up what is missing, lint, type-check and run every test (in parallel)
#   make unit | integration | e2e   one layer of the tests; make deep: the property tests at full strength
#   make env      print the lines that point the AWS CLI at the running runtime: eval "$(make -s env)"
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

# pip prints hundreds of lines, or with --quiet nothing for minutes: a line per 15 packages it resolves instead
# (its warnings and errors go to stderr, untouched).
PIP_INSTALL = $(strip pip install --disable-pip-version-check --progress-bar off)
PIP_PROGRESS = awk '/^Collecting /{n++; if (n % 15 == 1) {printf "  %3d packages resolved (%s)\n", n, $$2; fflush()}} \
  /^Installing collected packages/{printf "  installing %d packages...\n", n; fflush()}' 

$(VENV)/.installed: requirements/layer.txt requirements/dev.txt
	@echo "setting up $(VENV) from PyPI (once: 3 to 5 minutes on 2 cores)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; $(PY) -m $(PIP_INSTALL) -r requirements/dev.txt | $(PIP_PROGRESS)
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	@echo "setting up $(SAM_VENV), the SAM CLI, from PyPI (once: 1 to 2 minutes on 2 cores)"
	@test -x $(SAM_VENV)/bin/python || $(SAM_PYTHON) -m venv $(SAM_VENV)
	@set -o pipefail; $(SAM_VENV)/bin/python -m $(PIP_INSTALL) -r requirements/sam.txt | $(PIP_PROGRESS)
	@touch $@

# The analytics.js browser test loads the pinned @segment/analytics-next of its lock file, from npm (never a CDN).
ANALYTICS_JS := tests/e2e/analytics_js
$(ANALYTICS_JS)/node_modules/.installed: $(ANALYTICS_JS)/package.json $(ANALYTICS_JS)/package-lock.json
	@command -v npm >/dev/null || { echo "the analytics.js browser test needs npm: make browser installs it as root" \
	  "(apt-get install npm), or install Node.js and npm yourself" >&2; exit 1; }
	@echo "installing the pinned analytics.js for its browser test (npm ci in $(ANALYTICS_JS))"
	@cd $(ANALYTICS_JS) && npm ci --no-audit --no-fund --loglevel=warn
	@touch $@

.PHONY: help setup dev demo serve test unit integration e2e deep lint format token env openapi validate build bench \
  deploy clean browser analytics-js smoke staff-user test-journeys import move-outbound
help: ## this menu
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

setup: $(VENV)/.installed $(SAM_VENV)/.installed ## create the virtualenvs (product, SAM CLI)

dev: $(VENV)/.installed ## run the local runtime and play the demo journey (Ctrl-C stops)
	$(PY) -m local_runtime serve --demo

serve: $(VENV)/.installed ## run the local runtime without the demo
	$(PY) -m local_runtime serve

demo: $(VENV)/.installed ## play the demo journey against a running local runtime
	$(PY) -m local_runtime demo --url http://127.0.0.1:$(PORT)

# The browser tests drive Debian's chromium through chromium-driver (never a downloaded browser); the analytics.js
# test needs npm. On a fresh machine another apt (unattended-upgrades) may hold dpkg's lock: wait for it, bounded.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
APT_LOCK_TIMEOUT ?= 600
APT_GET = DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=$(APT_LOCK_TIMEOUT)
browser: ## install Debian's chromium, chromium-driver (and npm) for the browser tests when missing (needs root)
	@packages="$$( { [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; } || echo chromium chromium-driver fonts-noto-cjk)"; \
	command -v npm >/dev/null || packages="$$packages npm"; \
	if [ -z "$$packages" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing$$packages for the browser tests (apt-get)"; \
	  $(PYTHON) tools/apt_lock.py --timeout $(APT_LOCK_TIMEOUT) && \
	  $(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends $$packages; \
	else \
	  echo "the browser tests need$$packages: run as root on Debian, or" \
	    "sudo apt-get install$$packages (the tests fail without them)" >&2; exit 1; \
	fi

analytics-js: browser $(ANALYTICS_JS)/node_modules/.installed ## the pinned analytics.js for its browser test (npm ci)

# pytest-xdist: a worker per core (at most TEST_MAX_WORKERS); a worker that runs out of tests takes some of
# another's (worksteal: with a file per worker, one slow file kept a worker busy for 10 minutes while the other
# idled); TEST_WORKERS=1 runs everything in this process.
TEST_WORKERS ?= auto
TEST_MAX_WORKERS ?= 4
XDIST = $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --maxprocesses $(TEST_MAX_WORKERS) --dist worksteal)
WITH_SAM = PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0

test: $(VENV)/.installed $(SAM_VENV)/.installed browser analytics-js lint ## lint, type-check and run every test (parallel)
	$(WITH_SAM) $(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

unit: $(VENV)/.installed ## the unit tests only (tests/unit: no AWS, no runtime, no browser; seconds)
	$(PY) -m pytest tests/unit $(XDIST) $(PYTEST_ARGS)

integration: $(VENV)/.installed $(SAM_VENV)/.installed ## handlers on moto, the local runtime, the template, sam build
	$(WITH_SAM) $(PY) -m pytest tests/integration tests/local_runtime tests/infrastructure $(XDIST) $(PYTEST_ARGS)

e2e: $(VENV)/.installed browser analytics-js ## journeys through the runtime: SDKs, analytics.js, the console in chromium
	$(PY) -m pytest tests/e2e $(XDIST) $(PYTEST_ARGS)

deep: $(VENV)/.installed ## the property tests at full strength (slow; CI runs it after make test when time allows)
	DEEP_PROPERTIES=1 $(PY) -m pytest -m property $(XDIST) $(PYTEST_ARGS)

test-journeys: $(VENV)/.installed ## the journeys' time-travel tests (tests/journeys: the shipped ones and yours)
	$(PY) -m pytest tests/journeys $(XDIST) $(PYTEST_ARGS)

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

env: $(VENV)/.installed ## print shell lines that point the AWS CLI and boto3 at the runtime (eval them)
	@$(PY) -m local_runtime env --moto-endpoint http://127.0.0.1:$(MOTO_PORT)

token: $(VENV)/.installed ## print a development JWT: make token ROLE=agent [SUB=...]
	@$(PY) -m local_runtime token --role $(or $(ROLE),customer) $(if $(SUB),--sub $(SUB))

openapi: $(VENV)/.installed ## regenerate docs/openapi*.json, docs/canonical-event.schema.json and docs/journey.schema.json
	$(PY) -m local_runtime openapi --out docs/openapi.json
	$(PY) -m local_runtime openapi --function ProfilesApiFunction --out docs/openapi-profiles.json
	$(PY) -m local_runtime openapi --function CartsApiFunction --out docs/openapi-carts.json
	$(PY) -m local_runtime openapi --function HandoffApiFunction --out docs/openapi-handoff.json
	$(PY) -m local_runtime openapi --function OutboundStoresApiFunction --out docs/openapi-stores.json
	$(PY) -m local_runtime openapi --function KpisApiFunction --out docs/openapi-kpis.json
	PYTHONPATH=shared $(PY) -c 'import json; from omnichannel.canonical_event import CanonicalEvent; \
	  print(json.dumps(CanonicalEvent.model_json_schema(), indent=2, ensure_ascii=False))' > docs/canonical-event.schema.json
	$(PY) -m local_runtime openapi --function JourneysApiFunction --out docs/openapi-journeys.json
	$(PY) -m local_runtime openapi --function JourneysSurveyFunction --out docs/openapi-journeys-surveys.json
	PYTHONPATH=shared:functions/journeys $(PY) -c 'import json; from journeys.models.definition import journey_schema; \
	  print(json.dumps(journey_schema(), indent=2, ensure_ascii=False))' > docs/journey.schema.json

validate: $(SAM_VENV)/.installed ## sam validate --lint
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint

build: $(SAM_VENV)/.installed $(VENV)/.installed ## sam build (needs python3.13 on PATH: the venv provides it)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build

bench: $(VENV)/.installed browser ## print the benchmark figures
	@for b in bench/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# After a deploy: make smoke API_URL=<ApiUrl output> WRITE_KEY=... TOKEN=<staff access token> META_APP_SECRET=...
# Against a running `make serve` / `make dev` the defaults work (dev write key and secret, a dev admin token).
API_URL ?= http://127.0.0.1:$(PORT)
WRITE_KEY ?= dev-write-key
META_APP_SECRET ?= dev-meta-app-secret
smoke: $(VENV)/.installed ## a journey through the SDKs and a signed webhook, read back: API_URL= WRITE_KEY= TOKEN=
	@$(PY) -m tools.smoke --api-url "$(API_URL)" --write-key "$(WRITE_KEY)" --token "$(TOKEN)" \
	  --meta-app-secret "$(META_APP_SECRET)" $(if $(KEEP),--keep)

# Console users on AWS: make staff-user EMAIL=ayse@shop.com.tr ROLE=agent|admin [STACK=omnichannel-prod]
STACK ?= omnichannel-dev
staff-user: $(VENV)/.installed ## create a console user in the agent or admin group: EMAIL= ROLE=agent|admin [STACK=]
	@$(PY) -m tools.staff_user --email "$(EMAIL)" --role "$(ROLE)" --stack "$(STACK)" \
	  $(if $(USER_POOL_ID),--user-pool-id "$(USER_POOL_ID)")

# Once, after the deploy that gives outbound its own table: make move-outbound [STACK=omnichannel-prod] [DELETE=1]
move-outbound: $(VENV)/.installed ## copy stores, stock, offers and outbox from HandoffTable to OutboundTable: [STACK=] [DELETE=1]
	@$(PY) -m tools.move_outbound --stack "$(STACK)" $(if $(DELETE),--delete)

deploy: build ## sam deploy --guided (needs AWS credentials)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --guided

clean: ## remove virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache $(ANALYTICS_JS)/node_modules
