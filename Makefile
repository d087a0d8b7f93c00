# Pledgewatch: `make run` sets everything up and starts the daemon; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
CONFIG ?= config.toml
BIN := $(VENV)/bin

.PHONY: install run once demo test lint typecheck bench eval clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,dev,chart,serve,metrics]'
	touch $@

install: $(BIN)/.installed ## create .venv and install Pledgewatch with its test tools

run: install ## start the daemon with config.toml
	$(BIN)/pledgewatch run --config $(CONFIG)

once: install ## one cycle with config.toml, then exit
	$(BIN)/pledgewatch run --once --config $(CONFIG)

demo: install ## the offline demo
	$(BIN)/pledgewatch demo

test: install ## the whole test suite
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check monitor tests benchmarks

typecheck: install
	$(BIN)/mypy monitor

eval: install ## score the extractor on ../shared/eval/dev.jsonl
	$(BIN)/pledgewatch extract ../shared/eval/dev.jsonl -o /tmp/pledgewatch-dev.jsonl
	$(PYTHON) ../shared/eval/score.py ../shared/eval/dev.jsonl /tmp/pledgewatch-dev.jsonl

bench: install ## benchmarks (ratios measured in one run)
	$(BIN)/python benchmarks/bench_extract.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
