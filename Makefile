# Two commands matter: `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test book lint format unit venv clean help

help:
	@echo "make test    lint + format check + every test (what CI runs)"
	@echo "make book    build the Jupyter Book into _build/html"
	@echo "make lint    ruff lint and format check only"
	@echo "make format  apply ruff formatting and safe fixes"
	@echo "make unit    the pytest suite only"
	@echo "make clean   remove the built book and caches (keeps .venv)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,book,grading]"
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test: lint unit

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

clean:
	rm -rf _build .pytest_cache .ruff_cache
