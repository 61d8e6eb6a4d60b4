#!/bin/bash
# Turns an Amazon Linux 2023 instance into the NAT of the VPC: forwarding on, the VPC's egress
# masqueraded behind this instance's address. Run by multitier-nat.service at every boot: the
# kernel keeps none of it across a reboot, and this is the one place it is written.
# Settings (VPC_CIDR) come from /etc/multitier/nat.env, written by cloud-init.
#
# Self-contained on purpose: the NAT's user data holds nothing the other hosts share (lib.sh),
# because any change of it replaces the instance, and with it the VPC's only egress.
set -euo pipefail
MULTITIER_ROOT=${MULTITIER_ROOT:-}
# shellcheck source=/dev/null
source "$MULTITIER_ROOT/etc/multitier/nat.env"

# step NAME CMD...: run CMD until it succeeds, at most RETRY_ATTEMPTS times (8), the pause between
# two attempts doubling from RETRY_FIRST_DELAY (2) up to 30 s, as lib.sh's step does on the other
# hosts; when every attempt failed, stop the boot with a line naming the step.
step() {
  local name=$1 attempt=1 delay=${RETRY_FIRST_DELAY:-2} status
  shift
  echo "multitier: $name" >&2
  until "$@"; do
    status=$?
    if ((attempt >= ${RETRY_ATTEMPTS:-8})); then
      echo "multitier: boot failed: $name (status $status)" >&2
      exit "$status"
    fi
    echo "multitier: attempt $attempt failed (status $status), again in ${delay}s: $name" >&2
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

# The image has no iptables: the first boot installs it, later boots need no network for it.
if ! rpm -q iptables-nft > /dev/null 2>&1; then
  step "install iptables" dnf install -y iptables-nft
fi

# The interface of the default route, once the network has brought it up.
# shellcheck disable=SC2329 # run by retry
default_interface() {
  local iface
  iface=$(ip route show default | awk '{print $5; exit}') || return
  [[ -n "$iface" ]] && echo "$iface"
}

# Idempotent: whatever an earlier run left, the chains end up as written here.
# shellcheck disable=SC2329 # run by retry
forward() {
  sysctl -w net.ipv4.ip_forward=1 || return
  iptables -t nat -F POSTROUTING || return
  iptables -t nat -A POSTROUTING -o "$iface" -s "$VPC_CIDR" -j MASQUERADE || return
  iptables -F FORWARD || return
  iptables -A FORWARD -s "$VPC_CIDR" -j ACCEPT || return
  iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT || return
  iptables -P FORWARD DROP
}

iface=$(step "find the default route" default_interface)
step "forward and masquerade $VPC_CIDR through $iface" forward
