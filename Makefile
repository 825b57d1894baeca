# Casefile: `make run` serves a fresh checkout; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
STAMP := $(VENV)/.installed

.PHONY: run serve test test-sqlite test-postgres lint typecheck security bench translations clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Compiled catalogues (.mo) are build output, not sources.
translations: $(STAMP)
	$(VENV)/bin/pybabel compile --statistics -d casefile/translations

# The web server and one job worker. Ctrl-C stops both: the worker hands its running jobs back to the queue
# (instance/queue.db), and the next `make run` finishes them.
run: $(STAMP) translations
	$(FLASK) db upgrade
	$(FLASK) users first-admin
	$(FLASK) jobs worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(FLASK) run --host 127.0.0.1 --port 5000

# Production serving on this machine: gunicorn with config/production/gunicorn.conf.py (threads, so slow field connections
# cannot stall anyone; CASEFILE_WEB_* to tune) and one job worker. Configure CASEFILE_* first (README).
serve: $(STAMP) translations
	$(FLASK) db upgrade
	$(FLASK) jobs worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(VENV)/bin/gunicorn -c config/production/gunicorn.conf.py app:app

# The suite runs twice: SQLite + local disk (with the browser tests), then PostgreSQL + S3 (moto server).
test: $(STAMP) translations
	bash .ci/services
	$(MAKE) lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: $(STAMP)
	CASEFILE_TEST_DB=sqlite CASEFILE_TEST_STORAGE=local $(PY) -m pytest -n 2 -q

test-postgres: $(STAMP)
	CASEFILE_TEST_DB=postgresql CASEFILE_TEST_STORAGE=s3 $(PY) -m pytest -n 2 -q -m "not e2e"

# ruff, then mypy over the whole package (pyproject.toml [tool.mypy]; custody/ and storage/ under --strict).
lint: $(STAMP)
	$(VENV)/bin/ruff check casefile tests app.py bench migrations
	$(VENV)/bin/ruff format --check casefile tests app.py bench migrations
	$(VENV)/bin/mypy

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Attack tooling on a throwaway local instance: bandit, pip-audit, sqlmap, schemathesis (.ci/security).
security: $(STAMP) translations
	bash .ci/security

# Speed and memory goals (not part of the test suite); see bench/README.md.
bench: $(STAMP)
	bash bench/run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
