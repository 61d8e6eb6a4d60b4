#!/bin/bash
# Pulls the release's image once per host, for multitier-app-pull.service: before the app unit
# starts, retried, under its own start timeout, so that a slow registry does not count against
# the app's.
# Settings come from /etc/multitier/boot.env, written by cloud-init.
set -euo pipefail
# shellcheck source=lib.sh
source "${MULTITIER_ROOT:-}/usr/local/lib/multitier/lib.sh"
# shellcheck source=/dev/null
source "$MULTITIER_ROOT/etc/multitier/boot.env"

registry="${IMAGE%%/*}"

# One attempt. Private ECR images need a registry login, whose token lasts 12 hours: log in at
# every pull. Public images need none.
# shellcheck disable=SC2329 # run by retry
pull() {
  if [[ "$registry" == *.dkr.ecr.*.amazonaws.com ]]; then
    local password
    password=$(aws ecr get-login-password --region "$REGION") || return
    docker login --username AWS --password-stdin "$registry" <<< "$password" || return
  fi
  docker pull "$IMAGE"
}

# A reboot starts the image this host pulled at its first boot: the release it was launched
# for, whether or not the registry answers now.
if docker image inspect "$IMAGE" > /dev/null 2>&1; then
  echo "multitier: $IMAGE is here already" >&2
  exit 0
fi
step "pull the release image $IMAGE" pull
