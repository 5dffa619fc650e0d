# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
# The web server's port: `make run PORT=8101`, PORT in the environment, PORT in .env, or 8000.
ifeq ($(origin PORT),undefined)
PORT := $(or $(shell sed -n 's/^PORT=\([0-9][0-9]*\)[[:space:]]*$$/\1/p' .env 2>/dev/null | tail -n 1),8000)
endif
STAMP = $(VENV)/.installed

.PHONY: run test test-fast install lint format typecheck bench-inflight clean

# Re-installs only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The platform on the embedded default: web server on 127.0.0.1:$(PORT) and one worker.
# WEB_PORT tells every process where the web server is (links in webhooks point there): honcho
# gives each process a PORT of its own (the worker's is $(PORT)+100). Honcho reads no .env
# (--env /dev/null): it would put .env above this environment and serve .env's PORT whatever
# make was told; the settings read .env themselves, under what the environment sets.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py bootstrap_platform
	@echo "Seedream Studio: http://127.0.0.1:$(PORT)/  (Ctrl-C stops the web server and the worker)"
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(PORT) \
		$(BIN)/honcho --procfile Procfile.dev start --env /dev/null --port $(PORT)

## Lint, format check, the import contracts (pyproject.toml), then the whole test suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest

## The fast lane: the suite without browser tests, real worker processes or fuzzing campaigns
# (pytest markers), over two processes (pytest-xdist). Bytecode is written even where the shell
# says not to (PYTHONDONTWRITEBYTECODE): without it each process compiles every module again.
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -m "not browser and not worker and not fuzz" -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy accounts generations seedream_site studio_core

bench-inflight: $(STAMP)
	$(BIN)/python bench/inflight.py

clean:
	rm -rf var/test-media var/test-broker* var/test.sqlite3*
