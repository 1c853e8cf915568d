# Two commands for a fresh machine: `make demo` and `make test`.
# A GPU user picks another torch build, e.g. `make demo TORCH="torch==2.13.0 --index-url <url>"`.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
DEMO_OUT ?= demo_out

.PHONY: install demo test clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/trackdiffusion demo --out $(DEMO_OUT)

test: install
	$(BIN)/python -m pytest -q -n 2

clean:
	rm -rf $(VENV) $(DEMO_OUT)
