#!/bin/bash
# Runs at every boot of the bastion (cloud-init's per-boot scripts): claims the bastion's Elastic
# IP for this instance, so the SSH address stays the same when the Auto Scaling group replaces
# the instance; restarts sshd on the hardened settings cloud-init wrote; applies the package
# updates of the image's release. Each step that needs the network or AWS is retried (lib.sh);
# one that fails for good stops the boot, naming the step.
# Settings come from /etc/multitier/bastion.env, written by cloud-init.
set -euo pipefail
# shellcheck source=lib.sh
source "${MULTITIER_ROOT:-}/usr/local/lib/multitier/lib.sh"
# shellcheck source=/dev/null
source "$MULTITIER_ROOT/etc/multitier/bastion.env"

# imds retries each request itself.
instance_id=$(imds meta-data/instance-id) || fail "read this instance's id"
step "claim the bastion address" aws ec2 associate-address --region "$REGION" \
  --allocation-id "$ALLOCATION_ID" --instance-id "$instance_id" --allow-reassociation

# A drop-in sshd refuses would lock everyone out: check it before the restart.
sshd -t
systemctl restart sshd.service

step "upgrade packages" dnf upgrade -y
# A new OpenSSH runs from the next start on.
systemctl try-restart sshd.service
