# Two commands do everything on a fresh machine with Python 3.11+:
#   make report   demo exports -> DuckDB -> every report -> reports/index.html (`sla report --demo-if-empty`)
#   make test     the whole test suite
PY ?= python3
# Compiled bytecode is cached (__pycache__/, git-ignored) even where the environment says not to:
# without it every `sla` process, rendering helper and test worker compiles sla_lib and the tests
# again (0.15 s a process, 2 s a test collection)
unexport PYTHONDONTWRITEBYTECODE
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install report test lint lab bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

report: $(STAMP)
	$(BIN)/sla report --demo-if-empty
	@echo "Open: $(CURDIR)/reports/index.html"

# two workers (or one per core on a bigger machine); each test file stays on one worker, so a
# file's shared fixtures are built once; the longest files first (tests/conftest.py)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check .

lab: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,lab]'
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_render.py

clean:
	rm -rf reports data/processed/*.duckdb data/processed/*.wal
