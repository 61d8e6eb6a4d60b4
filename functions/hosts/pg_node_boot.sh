#!/bin/bash
# First boot of a PostgreSQL node (Amazon Linux 2023): packages, the shared EFS data volume, the
# credentials and the cluster's TLS certificate, then the VIP and the node agent. Every step that
# needs the network or AWS retries (lib.sh); a step that fails for good fails the boot, and the
# agent never starts, so the node never reports ready and is never promoted.
# Settings come from /etc/multitier/pg.env, written by cloud-init.
set -euo pipefail
ROOT=${MULTITIER_ROOT:-}
# shellcheck source=lib.sh
source "$ROOT/usr/local/lib/multitier/lib.sh"
# shellcheck source=/dev/null
source "$ROOT/etc/multitier/pg.env"

step "install the EFS mount helper and jq" dnf install -y amazon-efs-utils jq

# Shared data volume: only the primary's agent runs PostgreSQL on it. Mount targets can take a
# minute to answer in DNS after they are created, hence the retries.
mkdir -p "$ROOT$SHARED_DIR"
if ! grep -qs "^$EFS_ID:/ " "$ROOT/etc/fstab"; then
  echo "$EFS_ID:/ $SHARED_DIR efs _netdev,tls,iam 0 0" >> "$ROOT/etc/fstab"
fi
mountpoint -q "$ROOT$SHARED_DIR" || step "mount the shared data volume" mount "$ROOT$SHARED_DIR"

# The data directory decides the major: a server of another major refuses it. engineVersion
# (PG_MAJOR) makes a new cluster; once one exists, a node installs what made it, and says so
# when the config names another (a major upgrade is pg_upgrade's: RUNBOOKS.md).
major=$PG_MAJOR
if [[ -f "$ROOT$PGDATA/PG_VERSION" ]]; then
  made_by=$(< "$ROOT$PGDATA/PG_VERSION")
  [[ "$made_by" =~ ^[0-9]+$ ]] || fail "read the data directory's PG_VERSION ($made_by)"
  if [[ "$made_by" != "$PG_MAJOR" ]]; then
    echo "multitier: the data directory was made by PostgreSQL $made_by; engineVersion names" \
      "$PG_MAJOR, which applies to a new cluster only: installing $made_by" >&2
  fi
  major=$made_by
fi
step "install PostgreSQL $major and pgBackRest" \
  dnf install -y "postgresql${major}-server" "postgresql${major}" pgbackrest
install -d -m 0700 -o postgres -g postgres "$ROOT$PGDATA"
install -d -m 0750 -o postgres -g postgres "$ROOT/var/log/multitier"

# The master password (for initdb on the very first start) and the cluster's certificate and key,
# made once per stack by the program: every node serves the same certificate for the VIP. The
# master secret also names the cluster's superuser and the app's database: they are fixed when
# the cluster is created, whatever the stack's config says later. The app's and the read-only
# logins' secrets hold the passwords the first primary creates those roles with.
secret() {
  step "read the $1 secret" aws secretsmanager get-secret-value --region "$REGION" \
    --secret-id "$2" --query SecretString --output text
}
conf=$ROOT/etc/multitier/pg
install -d -m 0700 -o postgres -g postgres "$conf"
master=$(secret master "$SECRET_ARN")
tls=$(secret TLS "$TLS_SECRET_ARN")
app=$(secret app "$APP_SECRET_ARN")
reader=$(secret read-only "$READONLY_SECRET_ARN")
umask 077
jq -r .password <<< "$master" > "$conf/pwfile"
jq -r '"DB_USER=\(.username)\nDB_NAME=\(.dbname)"' <<< "$master" > "$conf/cluster.env"
jq -r .certificate <<< "$tls" > "$conf/server.crt"
jq -r .private_key <<< "$tls" > "$conf/server.key"
printf '%s\n%s\n%s\n' "$master" "$app" "$reader" | jq -s --arg owner "$OWNER_ROLE" \
  '{database: .[0].dbname, owner: $owner, master: .[0].username,
    app: [.[1].username, .[1].password], readonly: [.[2].username, .[2].password]}' \
  > "$conf/logins.json"
chown postgres:postgres "$conf/pwfile" "$conf/server.crt" "$conf/server.key"

"$ROOT/usr/local/sbin/multitier-pg-archive" configure

step "reload systemd" systemctl daemon-reload
step "start the VIP, the node agent and the archive's timer" systemctl enable --now \
  multitier-vip.service multitier-pg-agent.service multitier-pg-archive.timer
