#!/bin/bash
# The multitier host library, sourced by every boot script: bounded retries for the steps that
# depend on the network or on AWS, boot steps that fail visibly, and instance metadata (IMDSv2).
# Cloud-init writes it to /usr/local/lib/multitier/lib.sh on every host.
#
# MULTITIER_ROOT prefixes every path the host owns: empty on a host, a directory where the tests
# and the drill lay out a host. IMDS_ENDPOINT is the instance metadata service (the drill
# emulates one per node).

MULTITIER_ROOT=${MULTITIER_ROOT:-}
IMDS_ENDPOINT=${IMDS_ENDPOINT:-http://169.254.169.254}
RETRY_ATTEMPTS=${RETRY_ATTEMPTS:-8}
RETRY_FIRST_DELAY=${RETRY_FIRST_DELAY:-2}
RETRY_MAX_DELAY=${RETRY_MAX_DELAY:-30}
OPTIONAL_ATTEMPTS=${OPTIONAL_ATTEMPTS:-4}

# retry CMD...: run CMD until it succeeds, at most RETRY_ATTEMPTS times, the pause between two
# attempts doubling from RETRY_FIRST_DELAY up to RETRY_MAX_DELAY seconds (defaults: 8 attempts
# over about two minutes). Returns the last attempt's status when every attempt failed.
# CMD may be a shell function; `set -e` does not apply inside it, so it returns its own failures.
retry() {
  local attempt=1 delay=$RETRY_FIRST_DELAY status
  while true; do
    "$@" && return 0
    status=$?
    if ((attempt >= RETRY_ATTEMPTS)); then
      echo "multitier: giving up after $attempt attempts (status $status): $*" >&2
      return "$status"
    fi
    echo "multitier: attempt $attempt failed (status $status), again in ${delay}s: $*" >&2
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > RETRY_MAX_DELAY ? RETRY_MAX_DELAY : delay * 2))
  done
}

# step NAME CMD...: a boot step the host cannot serve without, run with `retry`. When every
# attempt failed, the script stops here (`fail`) with the last attempt's status.
step() {
  local name=$1 status=0
  shift
  echo "multitier: $name" >&2
  retry "$@" || status=$?
  if ((status != 0)); then
    fail "$name" "$status"
  fi
}

# fail NAME [STATUS]: stop the boot here (exit STATUS, default 1) with a line naming the step
# that failed, in /var/log/cloud-init-output.log or the unit's journal.
fail() {
  echo "multitier: boot failed: $1 (status ${2:-1})" >&2
  exit "${2:-1}"
}

# optional NAME CMD...: a step the host serves without (the CloudWatch agent): retried
# OPTIONAL_ATTEMPTS times (default 4, about 15 s of pauses); a failure is logged and the boot
# goes on. Always returns 0, so `set -e` never stops the boot here.
optional() {
  local name=$1 status=0
  shift
  echo "multitier: $name" >&2
  RETRY_ATTEMPTS=$OPTIONAL_ATTEMPTS retry "$@" || status=$?
  if ((status != 0)); then
    echo "multitier: skipped, the host serves without it: $name (status $status)" >&2
  fi
  return 0
}

# imds PATH: one value from instance metadata (PATH below /latest/, e.g.
# meta-data/local-ipv4), with a fresh IMDSv2 token; retried.
imds() {
  local token
  token=$(retry curl -sSf --max-time 2 -X PUT "$IMDS_ENDPOINT/latest/api/token" \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 300") || return
  retry curl -sSf --max-time 2 -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/$1"
}
