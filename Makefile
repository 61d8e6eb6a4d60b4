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
	$(PY) -m tools.plan $(STACK) $(if $(JSON),--json $(JSON)) $(if $(STACK_FILE),--stack-file $(STACK_FILE))

# Copy multitier:app.release from Pulumi.$(FROM).yaml into Pulumi.$(TO).yaml and commit it, TO
# being promoted from FROM only (multitier:promotion.from; see RUNBOOKS.md, "Promoting").
.PHONY: promote
promote: $(VENV)/.installed
	$(if $(and $(FROM),$(TO)),,$(error usage: make promote FROM=<stack> TO=<stack>, e.g. FROM=dev TO=staging))
	$(PY) -m tools.promote $(FROM) $(TO)

# Where the app's instance refresh is (status, checkpoint, guard alarms, rollback, hosts' versions):
# `pulumi up` returns when it starts. Needs AWS credentials; GROUP defaults to the stack's asgName.
.PHONY: refresh-status
refresh-status: $(VENV)/.installed
	$(PY) -m tools.refresh_status $(or $(GROUP),$$(pulumi stack output asgName -s $(STACK)))

# Write the image the Amazon Linux SSM parameter resolves to today into STACK's release
# (multitier:app.release.ami), so that it moves and rolls back with the release (tools/pin_image.py).
.PHONY: pin-image
pin-image: $(VENV)/.installed
	$(if $(filter-out file,$(origin STACK)),,$(error usage: make pin-image STACK=<stack>))
	$(PY) -m tools.pin_image $(STACK)

# Put back the release STACK ran before its last promotion, from git history, and commit it
# (tools/rollback.py); refused as `make promote` refuses. A second rollback is refused.
.PHONY: rollback
rollback: $(VENV)/.installed
	$(if $(filter-out file,$(origin STACK)),,$(error usage: make rollback STACK=<stack>))
	$(PY) -m tools.rollback $(STACK)

# Plan two revisions under the mocks and compare them per URN; TO defaults to the working tree,
# every stack and database mode unless STACK is given (tools/plancompare).
.PHONY: compare
compare: $(VENV)/.installed
	$(if $(FROM),,$(error usage: make compare FROM=<rev> [TO=<rev>] [STACK=<stack>] [JSON=<file>]))
	$(PY) -m tools.plancompare $(FROM) $(TO) $(if $(filter-out file,$(origin STACK)),--stack $(STACK)) \
		$(if $(JSON),--json $(JSON))

# What `pulumi up` of TO does to a stack deployed from FROM: each resource created, deleted,
# replaced, updated in place or rolled, stateful losses first (tools/forecast); TO defaults to the
# working tree. Exits 1 when a stateful resource is replaced or deleted.
.PHONY: diff
diff: $(VENV)/.installed
	$(if $(FROM),,$(error usage: make diff FROM=<rev> [TO=<rev>] [STACK=<stack>] [JSON=<file>]))
	$(PY) -m tools.forecast $(FROM) $(TO) $(if $(filter-out file,$(origin STACK)),--stack $(STACK)) \
		$(if $(JSON),--json $(JSON))

# Restore the managed database's latest backup (or SNAPSHOT) into a throwaway instance in the
# stack's network, log in with the app's login, report the times, delete it (RUNBOOKS.md,
# "Prove a restore works"). Needs AWS credentials and the Pulumi CLI (or OUTPUTS=<json file>).
.PHONY: restore-check
restore-check: $(VENV)/.installed
	$(if $(filter-out file,$(origin STACK)),,$(error usage: make restore-check STACK=<stack> [SNAPSHOT=<name>] [OUTPUTS=<file>]))
	$(PY) -m tools.restore_check $(STACK) $(if $(SNAPSHOT),--snapshot $(SNAPSHOT)) \
		$(if $(OUTPUTS),--outputs $(OUTPUTS))

# Draw what the stack's plan declares: docs/diagram-$(STACK).dot (committed, checked by the
# tests) and the PNG Graphviz renders from it (Debian's graphviz; tools/diagram).
.PHONY: diagram
diagram: $(VENV)/.installed
	$(PY) -m tools.diagram $(STACK)

# The starting IAM policy for whoever runs `pulumi up`, `refresh` and `destroy` of the stack,
# scoped by name and tag where AWS allows; notes and the way to confirm it on stderr
# (tools/deployer; ACCOUNT=<id> puts the account in the ARNs, SPLIT=1 one document per policy).
.PHONY: deployer-policy
deployer-policy: $(VENV)/.installed
	@$(PY) -m tools.deployer $(STACK) $(if $(ACCOUNT),--account $(ACCOUNT)) $(if $(SPLIT),--split)

# What the stack costs a month, per component, from the dated price table in tools/cost/prices.py
# (its usage assumptions printed with it), and its Elastic IPs against the region's quota.
.PHONY: cost
cost: $(VENV)/.installed
	@$(PY) -m tools.cost $(STACK)

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
