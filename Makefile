# The README's two commands: `make quickstart` (main job) and `make test` (whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is installed first, pinned, so pip never resolves an incompatible build;
# override on machines with another index, e.g. make TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.footreid-installed

.PHONY: install browser quickstart demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/footreid quickstart

# the web demo of the quickstart's experiment (after make quickstart), on 127.0.0.1:7860
demo: $(STAMP)
	$(VENV)/bin/footreid serve runs/quickstart/experiment

test: $(STAMP) browser
	$(PY) -m pytest

# Debian's Chromium for the browser tests (never Playwright's own download). Best effort:
# without root or apt those tests skip, except where FOOTREID_REQUIRE_BROWSER=1 (CI) fails them.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  >/dev/null; } || echo "note: /usr/bin/chromium is absent: the browser tests will skip"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
