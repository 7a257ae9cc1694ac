# Two commands matter: `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test book lint format unit nbval solutions release constraints venv clean help

help:
	@echo "make test    lint + format check + every test (what CI runs)"
	@echo "make book    build the Jupyter Book into _build/html"
	@echo "make lint    ruff lint and format check only"
	@echo "make format  apply ruff formatting and safe fixes"
	@echo "make unit    the pytest suite only"
	@echo "make nbval   re-run every chapter and compare its outputs (pytest --nbval)"
	@echo "make constraints  re-pin constraints.txt from the current .venv"
	@echo "make solutions    run every solution notebook top to bottom (pytest --nbval-lax)"
	@echo "make release      regenerate assignments/ from solutions/ with nbgrader"
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

nbval: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q --nbval book --nbval-sanitize-with book/nbval_sanitize.cfg

solutions: $(STAMP)
	$(BIN)/python -m pytest -q -p no:xdist --nbval-lax solutions

# nbgrader runs the `alembic` executable, so the venv's bin must be on PATH
release: $(STAMP)
	for a in $$(ls solutions); do \
	  PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_assignment "$$a" --force || exit 1; \
	done

constraints: $(STAMP)
	{ echo "# Exact versions the tests, notebooks and book were run with (make constraints)."; \
	  $(BIN)/pip freeze --exclude-editable | grep -vi '^course.pkg' | sed 's/+cpu$$//'; } > constraints.txt

test: lint unit solutions

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

clean:
	rm -rf _build .pytest_cache .ruff_cache
