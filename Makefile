# Alliance Program Manager: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check

.DEFAULT_GOAL := help
.PHONY: help run demo translations test test-fast lint typecheck pytest bytecode system-deps node-deps assets lock clean soak bench bench-deps bench-sweep

# pytest-xdist: WORKERS processes (4 on the 2-core machines: most of the slow tests wait on a
# whole running system, a browser or an injected fault, and wait beside the ones that compute).
# With --dist loadscope, tests/scheduling.py hands out a test at a time, the waiting ones
# first, and keeps a module's tests on one worker where they share a module-scoped fixture.
# Worker gwN uses the databases <TEST_DB_PREFIX>_gwN_* and Redis database TEST_REDIS_DB - N
# (15 unless set: 15, 14, 13, 12), so TEST_REDIS_DB must be at least WORKERS - 1.
WORKERS ?= 4
XDIST   := -n $(WORKERS) --dist loadscope
# The inner loop: the unit and integration tests, without the whole-system runs (e2e), the
# injected faults, the browser and the OpenAPI contract runs.
FAST    := -m "not e2e and not fault and not browser" --ignore=tests/contract

help:
	@echo "make run    install, migrate and start the whole system (embedded servers by default)"
	@echo "make demo   load a living program into the running system (AGENCY_PROFILE=federal: OSHA's)"
	@echo "make test   install, then ruff, mypy and every test (unit, integration, e2e, faults, browser)"
	@echo "            on WORKERS=4 processes (pytest-xdist); PYTEST_ARGS=... adds pytest options"
	@echo "make test-fast  the unit and integration tests alone (no e2e, faults, browser, contract)"
	@echo "make bench  every benchmark against the raw parts, one table (not in make test; docs/performance.md)"
	@echo "make soak   SUBMISSIONS=2000: the whole system under injected faults (not in make test)"
	@echo "make lock   re-resolve requirements/*.lock from pyproject.toml"
	@echo "make assets re-vendor USWDS into shared/static/uswds/ (after changing package.json)"

# Install a lock file and the project (editable) into the venv: with uv, which takes seconds
# where pip takes half a minute, and with pip where uv cannot be installed or fails (a
# machine with only pip's configured indexes, say). pip's find-links (/opt/wheels on the CI
# machines) are passed on to uv. Both compile the packages' bytecode as they install (uv only
# when asked): where PYTHONDONTWRITEBYTECODE is set, as on the CI machines, Python never
# writes it later, and every process of a running system would compile SQLAlchemy, Flask and
# Celery from source again (2.4 s instead of 0.6 s to start a worker).
FIND_LINKS = $(shell $(PIP) config get global.find-links 2>/dev/null)
define install_locked
{ $(PIP) install -q uv >/dev/null 2>&1 && \
  $(BIN)/uv pip install -q --compile-bytecode --python $(PY) $(if $(FIND_LINKS),--find-links $(FIND_LINKS)) -r $(1) && \
  $(BIN)/uv pip install -q --python $(PY) --no-deps -e . ; } || \
{ echo "[make] uv could not install $(1): installing with pip"; \
  $(PIP) install -q -r $(1) && \
  { $(PIP) install -q --no-deps -e . 2>/dev/null || $(PIP) install --no-deps -e . ; } ; }
endef

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "[make] Python 3.11 or newer is needed: install it, or run 'make PYTHON=python3.11 ...'"; exit 1; }
	@echo "[make] creating the virtual environment in $(VENV)/"
	@$(PYTHON) -m venv $(VENV) || { echo "[make] could not create a venv: install python3-venv (Debian: apt-get install python3-venv)"; exit 1; }

$(VENV)/.run-installed: requirements/run.lock pyproject.toml | $(PY)
	@echo "[make] installing the locked dependencies (requirements/run.lock) ..."
	@$(call install_locked,requirements/run.lock)
	@touch $@

$(VENV)/.dev-installed: requirements/dev.lock pyproject.toml | $(PY)
	@echo "[make] installing the locked dependencies with the test tools (requirements/dev.lock) ..."
	@$(call install_locked,requirements/dev.lock)
	@touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	@echo "[make] starting everything (web, one worker per service, beat); Ctrl-C stops it all"
	@$(BIN)/alliance run

# The catalogs of what partners read (shared/i18n.py): extract the marked strings, bring each
# language's .po up to date, compile the .mo files the apps load (both are committed).
translations: $(VENV)/.dev-installed
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k gettext -k ngettext:1,2 -o shared/translations/messages.pot --no-location --sort-output --omit-header services shared
	$(BIN)/pybabel update -i shared/translations/messages.pot -d shared/translations -l es --no-wrap --no-fuzzy-matching
	$(BIN)/pybabel compile -d shared/translations

# A living program in the system `make run` started (run it in a second terminal): staff, the
# profile's alliances through the import, three years of reports, roundtables, new proposals.
demo: $(VENV)/.run-installed
	@$(BIN)/alliance demo

# Operating-system tools the tests use: Debian's docker-compose validates docker-compose.yml
# without a Docker engine; Debian's chromium runs the browser (accessibility) tests, which
# drive it with Playwright (Playwright never downloads a browser here); Debian's nginx checks
# and runs the gateways' configurations (tests/deploy/test_gateway_nginx.py; the service the
# package would start is stopped and disabled: the tests run their own). kubectl, which renders
# deploy/kubernetes/, is no Debian package: without it tests/deploy/test_kubernetes.py skips.
system-deps:
	@command -v docker-compose >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "[make] installing docker-compose (Debian package) ..."; \
	    (apt-get install -y -qq docker-compose >/dev/null 2>&1 || \
	      (apt-get update -qq >/dev/null && apt-get install -y -qq docker-compose >/dev/null)); \
	  else \
	    echo "[make] docker-compose is missing: install Debian's docker-compose package (as root: apt-get install docker-compose)"; exit 1; \
	  fi; }
	@[ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "[make] installing chromium (Debian package) for the browser tests ..."; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	      (apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null)); \
	  else \
	    echo "[make] /usr/bin/chromium is missing: install Debian's chromium package (as root: apt-get install chromium)"; exit 1; \
	  fi; }
	@{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "[make] installing nginx (Debian package) for the gateway tests ..."; \
	    (apt-get install -y -qq nginx >/dev/null 2>&1 || \
	      (apt-get update -qq >/dev/null && apt-get install -y -qq nginx >/dev/null)); \
	    (systemctl disable --now nginx >/dev/null 2>&1 || true); \
	  else \
	    echo "[make] nginx is missing: install Debian's nginx package (as root: apt-get install nginx)"; exit 1; \
	  fi; }

# Node packages the tests use (axe-core) and that 'make assets' vendors (USWDS), pinned in
# package-lock.json. Never needed by 'make run': the vendored USWDS files are committed.
node-deps:
	@if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  command -v npm >/dev/null 2>&1 || { echo "[make] npm is missing: install Node.js 18+ and npm (Debian: apt-get install nodejs npm)"; exit 1; }; \
	  echo "[make] installing the locked Node packages (npm ci: axe-core, USWDS) ..."; \
	  npm ci --no-audit --no-fund --loglevel=error || exit 1; \
	fi

# Copy the compiled USWDS subset from node_modules/ into shared/static/uswds/.
assets: | $(PY)
	@$(PY) -m deploy.assets

lint: $(VENV)/.dev-installed
	@echo "[make] ruff"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	@echo "[make] mypy"
	@$(BIN)/mypy .

# The project's bytecode and pytest's rewritten test modules (its assertion rewriting), written
# once before the tests. Where PYTHONDONTWRITEBYTECODE is set, as on the CI machines, neither
# Python nor pytest ever writes them, and each of the suite's few hundred Python processes (the
# four pytest workers, every process of a whole system) would compile again what it imports:
# pytest's workers spent 8 of their 10 s of collecting on rewriting the same modules.
bytecode: $(VENV)/.dev-installed
	@$(PY) -m compileall -q -j0 conftest.py bench deploy services shared tests >/dev/null
	@out=$$(PYTHONDONTWRITEBYTECODE= $(PY) -m pytest --collect-only -qq -p no:cacheprovider 2>&1) || \
	  { echo "$$out"; echo "[make] the tests could not be collected (above)"; exit 1; }

pytest: $(VENV)/.dev-installed system-deps node-deps bytecode
	@echo "[make] pytest (servers: POSTGRES_URL/REDIS_URL if set, else containers, else embedded)"
	@$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

# ruff and mypy run beside pytest (its workers spend their first seconds starting up and
# migrating their databases), and the Node packages install beside the Python ones; make fails
# if any of them does.
test:
	@$(MAKE) --no-print-directory -j4 lint typecheck pytest

test-fast: $(VENV)/.dev-installed system-deps bytecode
	@echo "[make] pytest: unit and integration tests (no e2e, faults, browser or contract)"
	@$(PY) -m pytest $(XDIST) $(FAST) $(PYTEST_ARGS)

# Not part of 'make test': proposals at a fixed rate through the whole system while faults are
# injected (bench/soak.py); prints what was acknowledged, stored, reviewed and delivered.
soak: $(VENV)/.dev-installed
	@$(PY) -m bench.soak --submissions $(or $(SUBMISSIONS),2000) --rate $(or $(RATE),20)

# One report-deadline sweep with 10,000 and with 1,000,000 scheduled reports, DUE of them due
# Every benchmark of docs/performance.md, each against a baseline of the raw parts, and one table
# at the end (bench/__main__.py; BENCH=intake,notify for some). Not part of `make test`.
bench: $(VENV)/.dev-installed bench-deps
	@$(PY) -m bench $(subst $(comma), ,$(BENCH))

comma := ,

# wrk, the HTTP load generator of the intake and staff-page benchmarks (Debian's package).
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "[make] installing wrk (Debian package) for the benchmarks ..."; \
	    (apt-get install -y -qq wrk >/dev/null 2>&1 || \
	      (apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null)); \
	  else \
	    echo "[make] wrk is missing: install Debian's wrk package (as root: apt-get install wrk)"; exit 1; \
	  fi; }

# (bench/sweep.py; needs POSTGRES_URL, default the local server). Not part of `make test`.
bench-sweep: $(VENV)/.dev-installed
	@DUE=$(or $(DUE),1000) $(PY) -m bench.sweep

lock: $(VENV)/.dev-installed
	@$(PIP) install -q uv
	$(BIN)/uv pip compile pyproject.toml -o requirements/run.lock --python-version 3.11 -q
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements/dev.lock --python-version 3.11 -q

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
