# Two entry points do all set-up on a fresh machine (see README):
#   make demo   creates .venv, installs everything, plays the built-in teaching demo
#   make test   creates .venv, installs everything (dev extras too), runs lint, types and tests
#   make test-fast   only the unit tier (pure logic: no kernel, model or TUI), under 30 s
# Tests come in cost tiers, pytest markers declared by folder (tests/conftest.py) or in each test
# file: unit, kernel (real Jupyter kernels, the fork server), llama (a GGUF through llama.cpp),
# tui (Pilot, snapshots, REPL), acceptance (whole-benchmark runs), plus real_model and slow; pick
# any with `.venv/bin/python -m pytest -m "kernel and not tui"`.
# llama-cpp-python builds from source on first install (about 5 minutes on 2 cores), once:
# assistant/models/cpufeatures.py first asks whether this CPU can run AMX code (a VM may list
# AMX without granting its tile state) and, where not, the build goes without native CPU
# detection. After it a probe runs a quantized model in a child process and, should that build
# still fault here, rebuilds it (the safety net, assistant/models/buildcheck.py).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast check lint format bench mtpb-table clean sandbox-tool

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$$($(PY) assistant/models/cpufeatures.py)" $(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m assistant.models.buildcheck --fix
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/assistant demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy assistant kernels
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint sandbox-tool
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m unit

# The sandbox tests need bubblewrap. Install Debian's package where we can (root or password-less
# sudo, apt), only when bwrap is missing; otherwise say loudly that those tests will not run.
sandbox-tool:
	@command -v bwrap >/dev/null 2>&1 || { \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  if command -v apt-get >/dev/null 2>&1 && { [ -z "$$SUDO" ] || sudo -n true 2>/dev/null; }; then \
	    echo "make: installing bubblewrap for the sandbox tests (apt-get install bubblewrap)"; \
	    $$SUDO apt-get install -y -q bubblewrap >/dev/null 2>&1 \
	      || { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q bubblewrap >/dev/null 2>&1; } \
	      || true; \
	  fi; }
	@command -v bwrap >/dev/null 2>&1 || { \
	  echo "************************************************************************"; \
	  echo "* WARNING: bubblewrap (bwrap) is not installed and could not be installed"; \
	  echo "* here: the sandbox tests (no network, read-only files) will be SKIPPED."; \
	  echo "* Install it (Debian/Ubuntu: apt install bubblewrap) and run make test."; \
	  echo "************************************************************************"; }

check: test

bench: $(STAMP)
	for b in bench/bench_*.py; do \
		case $$b in *mtpb_table*) continue;; esac; $(PY) $$b || exit 1; done

# The MTPB table on the two built-in models, all 115 problems (hours on 2 cores; resumable: the
# results JSONL under bench/mtpb-table/ are kept in the repository, a rerun runs what is left).
mtpb-table: $(STAMP)
	$(PY) bench/bench_mtpb_table.py --out bench/mtpb-table --markdown bench/mtpb-table/table.md

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
