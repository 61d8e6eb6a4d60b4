#!/bin/bash
# First boot of an app host (Amazon Linux 2023), run by cloud-init's runcmd: the CloudWatch agent,
# Docker, the backups file system when there is one, then the release's units. Each step that
# needs the network or AWS is retried (lib.sh). A step the host cannot serve without stops the
# boot when it fails for good, naming the step; the host never turns healthy and the Auto Scaling
# group replaces it. The CloudWatch agent is not such a step.
# Settings come from /etc/multitier/boot.env, written by cloud-init.
set -euo pipefail
# shellcheck source=lib.sh
source "${MULTITIER_ROOT:-}/usr/local/lib/multitier/lib.sh"
# shellcheck source=/dev/null
source "$MULTITIER_ROOT/etc/multitier/boot.env"

# First, so that the rest of this boot's log (/var/log/cloud-init-output.log) reaches CloudWatch.
agent_ctl="$MULTITIER_ROOT/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
optional "install the CloudWatch agent" dnf install -y amazon-cloudwatch-agent
if [[ -n "${AGENT_CONFIG_PARAMETER:-}" && -x "$agent_ctl" ]]; then
  optional "start the CloudWatch agent with its stored config" \
    "$agent_ctl" -a fetch-config -m ec2 -s -c "ssm:$AGENT_CONFIG_PARAMETER"
fi

step "install Docker" dnf install -y docker
systemctl enable --now docker.service

mkdir -p "$MULTITIER_ROOT$BACKUP_DIR"
if [[ -n "${EFS_ID:-}" ]]; then
  step "install the EFS mount helper" dnf install -y amazon-efs-utils
  mount_line="$EFS_ID:/ $BACKUP_DIR efs _netdev,tls,iam 0 0"
  if ! grep -qxF "$mount_line" "$MULTITIER_ROOT/etc/fstab" 2>/dev/null; then
    echo "$mount_line" >> "$MULTITIER_ROOT/etc/fstab"
  fi
  # The mount target's DNS name can take a minute or two to resolve after it is created.
  step "mount the backups file system" mount "$BACKUP_DIR"
fi

# multitier-app.service requires multitier-app-pull.service: the image is pulled (retried, with
# its own start timeout) before the release starts.
systemctl daemon-reload
systemctl enable multitier-app.service
echo "multitier: start the release" >&2
if ! systemctl start multitier-app.service; then
  journalctl --no-pager --lines 50 --unit multitier-app-pull.service --unit multitier-app.service >&2 || true
  fail "start the release"
fi
