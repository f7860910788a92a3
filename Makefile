# Two entry points do all set-up on a fresh machine (see README):
#   make demo   creates .venv, installs everything, plays the built-in teaching demo
#   make test   creates .venv, installs everything (dev extras too), runs lint, types and tests
# llama-cpp-python builds from source on first install (about 5 minutes on 2 cores).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test check lint format bench mtpb-table clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/assistant demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy assistant

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(PY) -m pytest -q -p no:cacheprovider

check: test

bench: $(STAMP)
	for b in bench/bench_*.py; do \
		case $$b in *mtpb_table*) continue;; esac; $(PY) $$b || exit 1; done

# The MTPB table on the two built-in models (~20-30 min on 2 cores; resumable).
mtpb-table: $(STAMP)
	$(PY) bench/bench_mtpb_table.py --markdown bench-out/mtpb-table.md

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
