# Two commands do all the set-up on a fresh machine:
#   make run   install, prepare the datasets, start the app on http://localhost:8501
#   make test  the same set-up plus Debian's chromium, then every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test setup dev data browser bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	@$(PY) -c "import torch, torchvision; print('torch', torch.__version__, '+ torchvision', torchvision.__version__, 'OK')" \
	  || { echo "torchvision does not load against the installed torch: install the matching pair from requirements.txt"; exit 1; }
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	touch $@

setup: $(VENV)/.installed data
dev: $(VENV)/.installed-dev data browser

data: $(VENV)/.installed
	$(PY) -m mnistcore data

# The browser tests drive Debian's chromium; Playwright cannot download its own here.
browser:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q chromium </dev/null || { apt-get update -q && apt-get install -y -q chromium </dev/null; }; \
	  else echo "chromium is missing: sudo apt-get install chromium"; exit 1; fi; \
	fi

run: setup
	$(PY) -m streamlit run streamlit_app.py --server.port $(PORT)

test: dev
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/epoch_speed.py

clean:
	rm -rf $(VENV) data runs .pytest_cache
