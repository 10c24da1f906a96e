# Commercy: `make run` starts the product on its embedded defaults, `make test` runs
# every test. Both set up everything first (system packages, .venv, Python packages),
# so they work on a fresh Debian machine with Python 3.11, Node 20 and apt.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages: unixodbc is libodbc for pyodbc (Azure SQL through ODBC Driver 18);
# chromium is the real browser the end-to-end tests drive (Playwright, its executable
# path); fonts-noto-cjk so Hangul renders in it instead of empty boxes.
APT_PACKAGES := unixodbc chromium fonts-noto-cjk
NODE_STAMP := node_modules/.installed
# checkov (the infra/ policy check) has its own venv: its pins clash with the product's.
TOOLS := .venv-tools
CHECKOV_VERSION := 3.3.30
TOOLS_STAMP := $(TOOLS)/.installed-$(CHECKOV_VERSION)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# pip's output goes to a log that is shown only when an install fails.
LOG := $(VENV)/install.log
QUIET = > $(LOG) 2>&1 || { cat $(LOG); exit 1; }

.PHONY: run test setup system data bench lint format clean

run: setup data
	@$(BIN)/commercy kpi summary
	@$(BIN)/commercy news ingest --sample
	@$(BIN)/commercy serve

test: setup
	$(BIN)/python -m pytest

setup: system $(STAMP) $(NODE_STAMP) $(TOOLS_STAMP)

system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV) (first time: a minute or two)"
	@$(PIP) install --upgrade pip $(QUIET)
	@$(PIP) install -r requirements.txt $(QUIET)
	@$(PIP) install --no-deps -e . $(QUIET)
	@touch $@

# The Microsoft 365 Agents Playground (a local Teams), pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json | $(STAMP)
	@echo "installing Node packages (the Agents Playground, Azurite)"
	@npm ci --no-audit --no-fund --loglevel=error > $(LOG).npm 2>&1 || { cat $(LOG).npm; exit 1; }
	@touch $@

$(TOOLS_STAMP):
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	@echo "installing checkov $(CHECKOV_VERSION) into $(TOOLS)"
	@$(TOOLS)/bin/python -m pip --quiet --disable-pip-version-check install checkov==$(CHECKOV_VERSION) > $(LOG).tools 2>&1 || { cat $(LOG).tools; exit 1; }
	@touch $@

# The sample year when the warehouse is empty; the days since, when it holds the sample.
data: setup
	@$(BIN)/commercy data generate --catch-up

bench: setup data
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_kpi.py
	$(BIN)/python bench/bench_parser.py
	$(BIN)/python bench/bench_bot.py
	$(BIN)/python bench/bench_alerts.py
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_rag.py
	$(BIN)/python bench/bench_llm.py
	$(BIN)/python bench/bench_tab.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(TOOLS) build .pytest_cache .ruff_cache
