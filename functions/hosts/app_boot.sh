#!/bin/bash
# First boot of an app host (Amazon Linux 2023): install Docker and the CloudWatch agent, mount
# the backups file system when there is one, then start the release as a systemd service.
# Settings come from /etc/multitier/boot.env, written by cloud-init.
set -euo pipefail
# shellcheck source=/dev/null
source /etc/multitier/boot.env

dnf install -y docker amazon-cloudwatch-agent
systemctl enable --now docker

mkdir -p "$BACKUP_DIR"
if [[ -n "${EFS_ID:-}" ]]; then
  dnf install -y amazon-efs-utils
  echo "$EFS_ID:/ $BACKUP_DIR efs _netdev,tls,iam 0 0" >> /etc/fstab
  mount "$BACKUP_DIR"
fi

if [[ -n "${AGENT_CONFIG_PARAMETER:-}" ]]; then
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
    -c "ssm:$AGENT_CONFIG_PARAMETER"
fi

# Private ECR images need a registry login; public images do not.
registry="${IMAGE%%/*}"
if [[ "$registry" == *.dkr.ecr.*.amazonaws.com ]]; then
  aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$registry"
fi

systemctl daemon-reload
systemctl enable --now multitier-app.service
