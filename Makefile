# The two commands a new user needs: `make run` and `make test`.
# `make run STORE=postgres` runs on PostgreSQL (a pip-installed server unless TJ_*_DATABASE_URL);
# `make run STORE=postgres WORKERS=4` with four uvicorn workers per service.
VENV ?= .venv
STORE ?= sqlite
WORKERS ?= 1
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: chromium run test lint openapi token verify-audit bench-journey bench-reporting rebuild-reporting migrate-reporting clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m services.run --store $(STORE) --workers $(WORKERS)

# The browser tests (tests/browser/) drive Debian's Chromium, never a downloaded browser:
# installed here when missing and apt-get can (as root); otherwise those tests skip, saying so.
chromium:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      || echo "could not install chromium: the browser tests will skip"; \
	  else echo "no /usr/bin/chromium: the browser tests will skip (apt-get install chromium)"; fi

test: $(STAMP) chromium
	$(VENV)/bin/ruff check services tests bench
	$(VENV)/bin/ruff format --check services tests bench
	$(VENV)/bin/mypy services
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix services tests bench
	$(VENV)/bin/ruff format services tests bench

openapi: $(STAMP)
	$(PY) -m services.common.export_openapi

token: $(STAMP)
	$(PY) -m services.common.issuer $(ARGS)

verify-audit: $(STAMP)
	$(PY) -m services.common.audit verify $(ARGS)

bench-journey: $(STAMP)
	$(PY) bench/journey_writes.py

bench-reporting: $(STAMP)
	$(PY) bench/reporting.py

rebuild-reporting: $(STAMP)
	$(PY) -m services.reporting.rebuild

migrate-reporting: $(STAMP)
	$(PY) -m services.reporting.migrate

clean:
	rm -rf $(VENV) data
