# CardForge: `make run` for the demo back office, `make test` for lint and the whole suite,
# `make test-fast` for lint and every test not marked slow (under two minutes).
# `make lint`: ruff, migrations, import-linter contracts and mypy (all in pyproject.toml).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

# What pyscard needs to build, WeasyPrint to render, and the demo's virtual card printer.
RUN_PACKAGES := gcc libpcsclite-dev libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
  cups-ipp-utils dbus-daemon
# What the tests drive for real: pcscd + vpcd, OpenSC, yubico-piv-tool, SoftHSM2, Chromium, poppler,
# and the virtual IPP card printer (ippeveprinter, which needs a D-Bus daemon to start).
TEST_PACKAGES := $(RUN_PACKAGES) pcscd vsmartcard-vpcd opensc yubico-piv-tool softhsm2 chromium poppler-utils

.PHONY: run test test-fast lint format check-migrations system-packages test-system-packages clean

run: system-packages $(VENV)/.run-installed .env
	scripts/write-dotenv .env  # an older .env: adds what is new (attestation root, signer.env)
	scripts/run-demo

# The test process runs stations and the signer in one process (docs/signer.md): it reads the
# signer's secrets file and says it is a shared host; the workers tests start get what their
# role allows (tests/personalization/jobs/workers.py).
TEST_ENV := CARDFORGE_SIGNER_SECRETS_FILE=$(CURDIR)/var/signer.env CARDFORGE_DEVELOPMENT_SHARED_HOST=1

test: test-system-packages $(VENV)/.dev-installed .env var/signer.env lint
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.dev-installed .env var/signer.env lint
	$(TEST_ENV) $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed .env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

system-packages:
	scripts/ensure-system-packages $(RUN_PACKAGES)

test-system-packages:
	scripts/ensure-system-packages $(TEST_PACKAGES)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

.env:
	scripts/write-dotenv .env

var/signer.env: | .env
	scripts/write-dotenv .env

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .hypothesis .mypy_cache .import_linter_cache
