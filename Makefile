# The two set-up commands (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/breachcomms

.PHONY: demo test lint install bench-import

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

## Run the demo: web UI on http://127.0.0.1:8000 with a demo incident, worker and provider sandbox (SQLite).
demo: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py demo_setup
	DJANGO_DEBUG=1 $(BIN)/python manage.py demo

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy breachcomms config

## Run every check: lint, types, the suite on PostgreSQL (+ Redis, Chromium), then the SQLite-marked tests.
test: lint
	DATABASE_URL=$(DATABASE_URL) $(BIN)/pytest
	DATABASE_URL=sqlite:////tmp/breachcomms-test.sqlite3 $(BIN)/pytest -m sqlite -q

bench-import: install
	$(BIN)/python manage.py bench_import --rows 1000000
