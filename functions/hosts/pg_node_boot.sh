#!/bin/bash
# First boot of a PostgreSQL node (Amazon Linux 2023): packages, the VIP on a dummy interface,
# the shared EFS data volume, credentials and TLS material, then the node agent.
# Settings come from /etc/multitier/pg.env, written by cloud-init.
set -euo pipefail
# shellcheck source=/dev/null
source /etc/multitier/pg.env

dnf install -y "postgresql${PG_MAJOR}-server" "postgresql${PG_MAJOR}" amazon-efs-utils jq openssl

# Shared data volume: only the primary's agent runs PostgreSQL on it.
mkdir -p "$SHARED_DIR"
echo "$EFS_ID:/ $SHARED_DIR efs _netdev,tls,iam 0 0" >> /etc/fstab
mount "$SHARED_DIR"
install -d -m 0700 -o postgres -g postgres "$PGDATA"
install -d -m 0750 -o postgres -g postgres /var/log/multitier

# Credentials from Secrets Manager, for initdb on the very first start.
install -d -m 0700 -o postgres -g postgres /etc/multitier/pg
aws secretsmanager get-secret-value --region "$REGION" --secret-id "$SECRET_ARN" \
  --query SecretString --output text | jq -r .password > /etc/multitier/pg/pwfile
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$VIP" \
  -keyout /etc/multitier/pg/server.key -out /etc/multitier/pg/server.crt
chown postgres:postgres /etc/multitier/pg/*
chmod 0600 /etc/multitier/pg/pwfile /etc/multitier/pg/server.key

systemctl daemon-reload
systemctl enable --now multitier-vip.service multitier-pg-agent.service
