# Two commands matter: `make demo` (embedded profile, no server needed) and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
# Compile bytecode at install: with PYTHONDONTWRITEBYTECODE set (as on CI) every worker process would
# otherwise compile every module from source at start-up (~2 s each).
export UV_COMPILE_BYTECODE := 1

.PHONY: install bytecode demo test test-unit lint typecheck pytest faults soak bench compose-check clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed

# The project's own modules too (cheap when up to date), for the worker processes tests and demos start.
bytecode: install
	@$(PY) -m compileall -q jiraplus core access sync orchestration notifications telemetry ops fakejira demo bench tests

demo: bytecode
	$(PY) -m demo

# lint-imports checks the import contracts in pyproject.toml; building the graph takes a quarter of a
# second, so no cache directory to keep out of git.
lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

typecheck: install
	$(VENV)/bin/mypy .

pytest: bytecode
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The unit layer alone, on the embedded settings: seconds, and no PostgreSQL, Redis or worker needed.
test-unit: install
	$(VENV)/bin/pytest --ds=tests.settings_unit tests/*/unit $(PYTEST_ARGS)

faults: bytecode  # tests/faults plus the fault scenarios that live beside their feature's tests
	$(VENV)/bin/pytest -m faults $(PYTEST_ARGS)

soak: bytecode  # the long soak; CI runs a 40 s one as part of the suite
	SOAK_SECONDS=$${SOAK_SECONDS:-600} $(VENV)/bin/pytest tests/faults -k soak -s $(PYTEST_ARGS)

bench: bytecode
	$(PY) -m bench.sync_full

compose-check:
	docker-compose config -q

clean:
	rm -rf $(VENV) $(TOOLS) var
