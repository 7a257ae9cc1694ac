# Two commands matter: `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3
# One BLAS thread everywhere: small matrix products run faster than with
# spinning threads on two cores, and results do not depend on the thread count.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: bench bench-speed bench-grading test book browser lint format unit nbval solutions other-cpu avx512-cpu release constraints venv clean help sysdeps grade gradescope export grade-sample sample-class feedback formgrader student-edition lm

help:
	@echo "make test    lint + format check + every test (what CI runs)"
	@echo "make book    build the Jupyter Book into _build/html"
	@echo "make lint    ruff lint and format check only"
	@echo "make format  apply ruff formatting and safe fixes"
	@echo "make unit    the pytest suite only"
	@echo "make browser the built book in Chromium: every page, search, navigation, screenshots"
	@echo "make nbval   re-run every chapter and compare its outputs (pytest --nbval)"
	@echo "make constraints  re-pin constraints.txt from the current .venv"
	@echo "make solutions    run every solution notebook top to bottom (pytest --nbval-lax)"
	@echo "make other-cpu    nbval and solutions again with another CPU's OpenBLAS kernels ($(OTHER_CPU))"
	@echo "make avx512-cpu   nbval and solutions again with OpenBLAS's AVX-512 kernels ($(AVX512_CPU)), where the CPU has AVX-512"
	@echo "make release      regenerate assignments/ from solutions/ with nbgrader"
	@echo "make grade ASSIGNMENT=a1_unfolding [SUBMISSIONS=dir-or-zip] [ROSTER=csv] [RESUME=1]"
	@echo "                   [STUDENT='id1 id2'] regrade only them; [PATTERN=regex] other platforms"
	@echo "                   [EXECUTOR=celery BROKER=redis://:PASSWORD@host:6379/0] on worker machines"
	@echo "make gradescope ASSIGNMENT=a1_unfolding  autograder.zip for Gradescope (same judge)"
	@echo "make export ASSIGNMENT=a1_unfolding ROSTER=csv [CANVAS_ID=n]  Canvas, Moodle, per-question CSVs"
	@echo "            autograde a class in parallel, sandboxed; grades, feedback, report in grading/"
	@echo "make feedback ASSIGNMENT=a3_gradients  feedback with the grades given by hand (nbgrader)"
	@echo "make formgrader   nbgrader's formgrader in JupyterLab, to grade written answers by hand"
	@echo "make grade-sample  grade the synthetic sample class in sample_class/ (try it first)"
	@echo "make student-edition  what students receive: dist/student/ and dist/student.zip"
	@echo "make sample-class  regenerate sample_class/ from the solutions"
	@echo "make bench   both benchmarks below (not part of make test)"
	@echo "make bench-speed    course_pkg against PyTorch and a textbook baseline"
	@echo "make bench-grading  grading time per submission and assignment; throughput locally and through Celery"
	@echo "make lm      retrain the book's KJV character LSTM (about 45 minutes on one core)"
	@echo "            and rewrite course_pkg/pretrained/kjv_lstm.npz"
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

# --dist loadfile keeps each test module in one process: the grading tests grade each
# assignment once per process and share it between their tests.
unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not browser" --durations=25 tests --doctest-modules course_pkg

# The built book in Debian's Chromium (/usr/bin/chromium); screenshots in _build/screenshots/
browser: book
	$(BIN)/python -m pytest -q -p no:xdist tests/test_browser.py

nbval: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q --nbval book --nbval-sanitize-with book/nbval_sanitize.cfg

solutions: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q --nbval-lax solutions

# OpenBLAS picks its matrix-product kernels by CPU, and NumPy its vectorised loops (tanh,
# exp, sums), so the last bits of a result differ from one CPU to another. Running the
# chapters and the solutions again with OpenBLAS's SandyBridge kernels (AVX without FMA) and
# NumPy's AVX2 loops instead of its AVX-512 ones shows that no stored output or test depends
# on this one. NumPy's AVX2 loops are what most readers' CPUs run (AMD before Zen 4, Intel's
# desktop chips without AVX-512); its SSE loops (CPUs from before 2013) are not checked: they
# are the slowest (chapter 8: 37 s here, 47 s with AVX2 loops, 58 s with SSE ones).
OTHER_CPU ?= SandyBridge
OTHER_NUMPY_OFF ?= X86_V4 AVX512_ICL AVX512_SPR
other-cpu: $(STAMP)
	OPENBLAS_CORETYPE=$(OTHER_CPU) NPY_DISABLE_CPU_FEATURES="$(OTHER_NUMPY_OFF)" \
	  $(MAKE) --no-print-directory nbval solutions

# And as on a CPU with AVX-512 (OpenBLAS's SkylakeX kernels, which an Intel AVX-512
# machine gets; this project's AMD Zen 5 machines get Haswell's), where this CPU has
# what those kernels use: elsewhere they would stop at the first instruction it lacks.
AVX512_CPU ?= SkylakeX
AVX512_FLAGS := avx512f avx512cd avx512bw avx512dq avx512vl
avx512-cpu: $(STAMP)
	@if (for f in $(AVX512_FLAGS); do grep -qw $$f /proc/cpuinfo || exit 1; done); then \
	  OPENBLAS_CORETYPE=$(AVX512_CPU) $(MAKE) --no-print-directory nbval solutions; \
	else \
	  echo "avx512-cpu: NOT CHECKED: this CPU lacks one of $(AVX512_FLAGS)"; \
	fi

# nbgrader runs the `alembic` executable, so the venv's bin must be on PATH
release: $(STAMP)
	for a in $$(ls solutions); do \
	  PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_assignment "$$a" --force || exit 1; \
	done

constraints: $(STAMP)
	{ echo "# Exact versions the tests, notebooks and book were run with (make constraints)."; \
	  $(BIN)/pip freeze --exclude-editable | grep -vi '^course.pkg' | sed 's/+cpu$$//'; } > constraints.txt

# System packages: bubblewrap (the grader's sandbox), chromium (browser tests of the book),
# postgresql (the gradebook-server test) and redis-server (the celery executor's broker).
# Installed when missing and we are root on Debian.
sysdeps:
	@missing=""; command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q $$missing >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null; }; \
	  else echo "warning: install$$missing (sandbox, browser, gradebook server, broker)"; fi; fi

ASSIGNMENT ?= a1_unfolding
grade: $(STAMP) sysdeps
	$(BIN)/python -m autograder grade $(ASSIGNMENT) $(if $(RESUME),--resume) \
	  $(if $(SUBMISSIONS),--submissions $(SUBMISSIONS)) $(if $(ROSTER),--roster $(ROSTER)) \
	  $(if $(PATTERN),--pattern '$(PATTERN)') $(foreach s,$(STUDENT),--student $(s)) \
	  $(if $(EXECUTOR),--executor $(EXECUTOR)) $(if $(BROKER),--broker '$(BROKER)')

# Gradescope's autograder.zip for one assignment: grading/<assignment>/gradescope/
gradescope: $(STAMP)
	$(BIN)/python -m autograder gradescope $(ASSIGNMENT)

# Grades for Canvas and Moodle and per question, with the grades entered by hand (ROSTER needed)
export: $(STAMP)
	$(BIN)/python -m autograder export $(ASSIGNMENT) --roster $(ROSTER) \
	  $(if $(CANVAS_ID),--canvas-assignment-id $(CANVAS_ID))

# What a student receives: dist/student/ and dist/student.zip (see RELEASED and
# SOLUTIONS_PUBLISHED in nbgrader_config.py). Nothing of the instructor's is in it.
student-edition: $(STAMP)
	$(BIN)/python -m autograder edition

# after grading answers by hand in the formgrader: nbgrader's feedback, in grading/feedback/
feedback: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_feedback $(ASSIGNMENT) --force
	$(BIN)/python -m autograder harden grading/feedback

formgrader: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ServerApp.default_url=/formgrader \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

grade-sample: $(STAMP) sysdeps
	$(BIN)/python -m autograder grade a1_unfolding --submissions sample_class/a1_unfolding \
	  --roster sample_class/a1_unfolding/roster.csv --out grading/sample --no-gradebook

sample-class: $(STAMP)
	rm -rf sample_class/a1_unfolding
	$(BIN)/python -m autograder sample a1_unfolding sample_class/a1_unfolding

# Every check, each stage timed.
TEST_STAGES := lint unit solutions nbval other-cpu avx512-cpu browser
test: sysdeps $(STAMP)
	@set -e; for stage in $(TEST_STAGES); do \
	  start=$$(date +%s); $(MAKE) --no-print-directory $$stage; \
	  echo "== make $$stage: $$(( $$(date +%s) - start )) s"; done

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

BENCH_THREADS ?= 1
bench: bench-speed bench-grading

bench-speed: $(STAMP)
	BENCH_THREADS=$(BENCH_THREADS) OPENBLAS_NUM_THREADS=$(BENCH_THREADS) OMP_NUM_THREADS=$(BENCH_THREADS) \
	  MKL_NUM_THREADS=$(BENCH_THREADS) $(BIN)/python bench/run.py

bench-grading: $(STAMP) sysdeps
	$(BIN)/python bench/grading.py

lm: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m course_pkg.experiments.language_model

clean:
	rm -rf _build .pytest_cache .ruff_cache
