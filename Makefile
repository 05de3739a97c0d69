# Two commands do all the set-up on a fresh machine:
#   make run   install, prepare the datasets, start the app on http://localhost:8501
#   make test  the same set-up plus Debian's chromium, then every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test setup dev data browser bench checkpoints clean

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

bench: dev checkpoints
	$(PY) benchmarks/epoch_speed.py
	$(PY) benchmarks/draw_latency.py
	$(PY) benchmarks/seed_experiment.py
	$(PY) benchmarks/evaluate_speed.py
	$(PY) benchmarks/run_estimate.py

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

clean:
	rm -rf $(VENV) data runs .pytest_cache
