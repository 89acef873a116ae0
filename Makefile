# vsumlab: every target runs inside .venv (created by `make install`).
# Training targets pass ARGS="..." through to the CLI, e.g. ARGS="--trainer.fast_dev_run=true".
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
VSUMLAB := $(VENV)/bin/vsumlab
# torch and torchvision come first so that pip takes the builds this machine has on disk;
# override on other machines, e.g. TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
GENERATED ?= data/generated
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help install test test-fast lint bench demo data-synth clean

help:  ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

install: $(VENV)/.installed  ## create .venv and install vsumlab (editable) with dev extras

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

test: install  ## run the whole test suite (unit + slow end-to-end)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: install  ## unit tests only
	$(PY) -m pytest -n 2 -m "not slow" $(PYTEST_ARGS)

lint: install  ## ruff
	$(VENV)/bin/ruff check src tests benchmarks

bench: install  ## run every benchmark script and print its figures
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

data-synth: install  ## build the embedded synthetic TVSum-like and SumMe-like sets
	$(VSUMLAB) data synth --kind tvsum --out $(GENERATED)/synthetic_tvsum.h5 --seed 0 --force
	$(VSUMLAB) data synth --kind summe --out $(GENERATED)/synthetic_summe.h5 --seed 1 --force

demo: data-synth  ## evaluate the built-in baselines on the synthetic TVSum-like set
	$(VSUMLAB) eval human --dataset $(GENERATED)/synthetic_tvsum.h5
	$(VSUMLAB) eval baselines --dataset $(GENERATED)/synthetic_tvsum.h5

clean:  ## remove generated data and runs (keeps .venv)
	rm -rf $(GENERATED) runs lightning_logs wandb
