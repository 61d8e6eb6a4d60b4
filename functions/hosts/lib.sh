#!/bin/bash
# The multitier host library, sourced by every boot script: bounded retries for the steps that
# depend on the network or on AWS, and instance metadata (IMDSv2).
#
# MULTITIER_ROOT prefixes every path the host owns: empty on a host, a directory where the tests
# and the drill lay out a host. IMDS_ENDPOINT is the instance metadata service (the drill
# emulates one per node).

MULTITIER_ROOT=${MULTITIER_ROOT:-}
IMDS_ENDPOINT=${IMDS_ENDPOINT:-http://169.254.169.254}
RETRY_ATTEMPTS=${RETRY_ATTEMPTS:-8}
RETRY_FIRST_DELAY=${RETRY_FIRST_DELAY:-2}
RETRY_MAX_DELAY=${RETRY_MAX_DELAY:-30}

# retry CMD...: run CMD until it succeeds, at most RETRY_ATTEMPTS times, the pause between two
# attempts doubling from RETRY_FIRST_DELAY up to RETRY_MAX_DELAY seconds (defaults: 8 attempts
# over about two minutes). Returns the last attempt's status when every attempt failed.
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

# imds PATH: one value from instance metadata (PATH below /latest/, e.g.
# meta-data/local-ipv4), with a fresh IMDSv2 token; retried.
imds() {
  local token
  token=$(retry curl -sSf --max-time 2 -X PUT "$IMDS_ENDPOINT/latest/api/token" \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 300") || return
  retry curl -sSf --max-time 2 -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/$1"
}
