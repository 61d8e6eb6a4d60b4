# The two entry points of the README. Both create the virtualenv on first use.
STACK ?= dev
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)

.PHONY: plan test check lint drill bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

plan: $(VENV)/.installed
	$(PY) -m tools.plan $(STACK) $(if $(JSON),--json $(JSON))

# Copy multitier:app.release from Pulumi.$(FROM).yaml into Pulumi.$(TO).yaml (see README).
.PHONY: promote
promote: $(VENV)/.installed
	$(if $(and $(FROM),$(TO)),,$(error usage: make promote FROM=<stack> TO=<stack>, e.g. FROM=dev TO=staging))
	$(PY) -m tools.promote $(FROM) $(TO)

# Plan two revisions under the mocks and compare them per URN; TO defaults to the working tree,
# every stack and database mode unless STACK is given (tools/plancompare).
.PHONY: compare
compare: $(VENV)/.installed
	$(if $(FROM),,$(error usage: make compare FROM=<rev> [TO=<rev>] [STACK=<stack>] [JSON=<file>]))
	$(PY) -m tools.plancompare $(FROM) $(TO) $(if $(filter-out file,$(origin STACK)),--stack $(STACK)) \
		$(if $(JSON),--json $(JSON))

# The vip cluster's operator verbs, with the operator's AWS credentials (tools/dbctl; RUNBOOKS.md):
# make status STACK=dev; make switchover STACK=dev [TO=i-…]; make pause STACK=dev REASON="…";
# make resume STACK=dev. FUNCTION=<failover function> instead of STACK without the Pulumi CLI.
.PHONY: switchover pause resume status
DBCTL_WHERE = $(if $(FUNCTION),--function $(FUNCTION),--stack $(STACK))
switchover pause resume status: $(VENV)/.installed
	$(if $(or $(FUNCTION),$(filter-out file,$(origin STACK))),,$(error usage: make $@ STACK=<stack> (or FUNCTION=<failover function>)))
	$(PY) -m tools.dbctl $@ $(DBCTL_WHERE) $(if $(TO),--to $(TO)) $(if $(REASON),--reason "$(REASON)") \
		$(if $(REGION),--region $(REGION))

# The policy pack as `pulumi policy publish` uploads it: a directory that needs nothing else of
# the repository (tools/policy_pack.py; see README, "Security policy").
.PHONY: policy-pack
policy-pack: $(VENV)/.installed
	$(PY) -m tools.policy_pack build/policy-pack

# The fast tier, about a minute: lint, then every test not marked slow (no drill, schema check,
# hosts' interpreter, moto, plan command as a process, or whole stack matrix).
.PHONY: check
check: lint
	$(VENV)/bin/pytest -m "not slow"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# A real CPython 3.9, the hosts' /usr/bin/python3, for the tests of host code (tools/host_python.sh).
HOST_PYTHON := .cache/host-python/python3
$(HOST_PYTHON):
	tools/host_python.sh .cache/host-python

# cloud-init's schema of #cloud-config, from Debian's package, for the user-data tests
# (tools/cloud_init_schema.sh).
CLOUD_INIT_SCHEMA := .cache/cloud-init/schema-cloud-config-v1.json
$(CLOUD_INIT_SCHEMA):
	tools/cloud_init_schema.sh .cache/cloud-init

# An older PostgreSQL major (Debian bullseye's 13), for the test of the vip cluster's pg_upgrade
# (tools/old_postgres.sh).
OLD_POSTGRES := .cache/postgres-13/usr/lib/postgresql/13/bin/postgres
$(OLD_POSTGRES):
	tools/old_postgres.sh .cache/postgres-13

test: lint $(HOST_PYTHON) $(CLOUD_INIT_SCHEMA) $(OLD_POSTGRES)
	$(VENV)/bin/pytest
	$(PY) -m drill --only event=2,schedule=1,hang=1,slow-start=1,spike=1,switchover=1,pause=1,rotation=2

# The failover drill with real PostgreSQL, every kind of fault (DRILL="--nodes 3 --only hang=5").
drill: $(VENV)/.installed $(HOST_PYTHON)
	$(PY) -m drill $(DRILL)

# Every benchmark, or some of them: BENCH="program lambda drill".
bench: $(VENV)/.installed
	$(PY) -m benchmarks $(BENCH)
