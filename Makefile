# The commands a newcomer needs: `make run` (local server) and `make test` (the whole suite).
# Both create the virtual environment first; it is rebuilt when pyproject.toml changes.

# The Lambda runtime's Python (3.13) when pyenv has it, else python3.13, else python3.
PYTHON ?= $(shell p=$$(pyenv prefix 3.13.0 2>/dev/null) && [ -x "$$p/bin/python3" ] && echo "$$p/bin/python3" \
          || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PORT ?= 3000
EMULATOR_PORT ?= 4566
TENANTS ?= 1
CREDENTIALS_FILE ?=

.PHONY: run test test-fast lint build bench cost load dashboard emulator openapi schemas venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	exec $(BIN)/scim-local --port $(PORT) --tenants $(TENANTS) $(if $(CREDENTIALS_FILE),--credentials-file $(CREDENTIALS_FILE))

test: $(STAMP)
	$(BIN)/pytest

# The fast middle of the pyramid: the pure SCIM rules and the use cases against the in-memory store (seconds).
test-fast: $(STAMP)
	$(BIN)/pytest tests/unit tests/usecases tests/store -k "not dynamodb"

lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint --region us-east-1

# sam build without Docker needs the runtime's exact Python (3.13) first on PATH.
build: $(STAMP)
	PATH="$(dir $(PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 $(BIN)/sam build

bench: $(STAMP)
	$(BIN)/python bench/connection.py
	$(BIN)/python bench/keepalive.py
	$(BIN)/python bench/users.py
	$(BIN)/python bench/groups.py
	$(BIN)/python bench/events.py

# The AWS cost per million operations of Entra's two request mixes, and per month for a 10,000-user tenant (docs/costs.md).
cost: $(STAMP)
	$(BIN)/python bench/cost.py

# A bounded local load run: Entra's initial sync of USERS users and GROUPS groups against the local server.
USERS ?= 10000
GROUPS ?= 500
load: $(STAMP)
	$(BIN)/python -m devtools.load --users $(USERS) --groups $(GROUPS)

# AWS emulated for `sam local` (no AWS account): DynamoDB, Secrets Manager and SQS on EMULATOR_PORT, and .emulator/
# with the --env-vars file, the seeded IdP's Secret Token and the sample events filled in (docs/local-server.md).
emulator: $(STAMP)
	exec $(BIN)/scim-emulator --port $(EMULATOR_PORT)

# The management API's OpenAPI document, from its routes and pydantic models (docs/management-api.openapi.json).
openapi: $(STAMP)
	$(BIN)/python -m devtools.openapi

# The change events' JSON Schema, from their pydantic models: docs/events.schema.json and template.yaml's registry.
schemas: $(STAMP)
	$(BIN)/python -m devtools.schemas

# The operations dashboard of template.yaml, drawn from the metrics of the local server on PORT (after `make run`).
dashboard: $(STAMP)
	$(BIN)/python -m devtools.dashboard --port $(PORT)

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache
