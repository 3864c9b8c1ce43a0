# Two commands matter: `make run` starts the platform, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The interpreter named by .python-version (pyenv), else python3.13 on PATH.
BASE_PYTHON := $(shell (pyenv which python || $$HOME/.pyenv/bin/pyenv which python || command -v python3.13) 2>/dev/null | head -n 1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast venv native system-deps static bench hardening clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || { test -n "$(BASE_PYTHON)" || { echo "Python 3.13 not found: install it (pyenv install 3.13.0)"; exit 1; }; $(BASE_PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# The engine's compiled inner loops (compression/engine/native/): pip builds them from
# pyproject.toml with cffi, in place (an editable install). Rebuilt whenever the engine's own
# loader says the library is missing or was built from other sources (its build id).
native: $(VENV)/.installed
	@$(PY) -c "import sys; from compression.engine import native; sys.exit(not native.status().ok)" \
		|| $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .

venv: $(VENV)/.installed native

# Debian packages the tests and benchmarks drive (browser tests, the pngquant baseline, nginx in
# front of gunicorn in `manage.py serve`; Debian puts nginx in /usr/sbin, off some users' PATH).
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v pngquant >/dev/null \
			|| ! { command -v nginx || test -x /usr/sbin/nginx; } >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium pngquant nginx >/dev/null; \
		else echo "Install Debian's chromium, pngquant and nginx (sudo apt-get install chromium pngquant nginx)"; exit 1; fi; \
	fi

# Collected static files: gunicorn serves them through whitenoise's manifest, so every command
# that starts gunicorn (run, the serve/load/fault tests) needs them.
static: venv
	SECRET_KEY=collectstatic-only $(PY) manage.py collectstatic --noinput -v 0

.run/secret_key:
	@mkdir -p .run && $(BASE_PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@ && chmod 600 $@

# nginx on HOST:PORT in front of gunicorn (needs Debian's nginx; SERVE_ARGS=--no-proxy runs without).
run: venv static .run/secret_key
	SECRET_KEY_FILE=.run/secret_key $(PY) manage.py migrate --noinput
	SECRET_KEY_FILE=.run/secret_key $(PY) manage.py serve --host $(HOST) --port $(PORT) $(SERVE_ARGS)

# The import contracts of pyproject.toml (the layers of docs/platform-contract.md), then the suite.
test: venv system-deps static
	SECRET_KEY=insecure-test-key $(VENV)/bin/lint-imports
	SECRET_KEY=insecure-test-key $(VENV)/bin/pytest $(PYTEST_ARGS)

# The quick loop: the contracts and every test not marked slow, browser or worker.
test-fast: venv static
	SECRET_KEY=insecure-test-key $(VENV)/bin/lint-imports
	SECRET_KEY=insecure-test-key $(VENV)/bin/pytest -m "not slow and not browser and not worker" $(PYTEST_ARGS)

bench: venv system-deps
	SECRET_KEY=insecure-bench-key $(PY) bench/bench_engine.py

# The slow hardening checks (issues 6 and 13), bounded in count and time: a load run against
# gunicorn and workers on loopback, 200 slow clients against `manage.py serve` with and without
# nginx (needs nginx), hostile files and geometry against the served platform, then PostgreSQL
# restarted under live web and workers (needs PostgreSQL).
hardening: venv static
	SECRET_KEY=insecure-bench-key $(PY) bench/load.py --users 20 --images 10 --direct 1 --phase3-direct 2 --duration-limit 600
	SECRET_KEY=insecure-bench-key $(PY) bench/slow_clients.py --connections 200 --duration 30
	SECRET_KEY=insecure-bench-key $(PY) bench/hostile_served.py
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} SECRET_KEY=insecure-bench-key $(PY) bench/faults.py --timeout 240

clean:
	rm -rf $(VENV) .run staticfiles build *.egg-info compression/engine/native/_native*.so
