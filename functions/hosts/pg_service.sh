#!/bin/bash
# multitier-pg start|stop|status: PostgreSQL on the shared EFS data directory, for the node agent.
# The agent calls `start` only while this node is primary and holds the lease.
set -euo pipefail
# shellcheck source=/dev/null
source /etc/multitier/pg.env

as_postgres() { runuser -u postgres -- "$@"; }

listen_addresses() {
  local token node_ip
  token=$(curl -sS -X PUT http://169.254.169.254/latest/api/token \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
  node_ip=$(curl -sS -H "X-aws-ec2-metadata-token: $token" \
    http://169.254.169.254/latest/meta-data/local-ipv4)
  echo "$VIP,$node_ip"
}

write_hba() {
  {
    echo "local all postgres peer"
    echo "local all all scram-sha-256"
    for cidr in $APP_CIDRS; do
      echo "hostssl all all $cidr scram-sha-256"
    done
  } > "$PGDATA/pg_hba.conf"
  chown postgres:postgres "$PGDATA/pg_hba.conf"
  chmod 0600 "$PGDATA/pg_hba.conf"
}

start() {
  local fresh=false
  if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
    as_postgres initdb --pgdata="$PGDATA" --username="$DB_USER" --pwfile=/etc/multitier/pg/pwfile \
      --auth-local=peer --auth-host=scram-sha-256 --data-checksums
    fresh=true
  fi
  # The lease says no other node runs PostgreSQL on this directory: a pid file is a leftover of a
  # fenced node, whose pid may happen to be alive here.
  rm -f "$PGDATA/postmaster.pid"
  write_hba
  as_postgres pg_ctl --pgdata="$PGDATA" --log=/var/log/multitier/postgresql.log --wait start \
    -o "-c listen_addresses='$(listen_addresses)' -c ssl=on \
        -c ssl_cert_file=/etc/multitier/pg/server.crt -c ssl_key_file=/etc/multitier/pg/server.key \
        -c password_encryption=scram-sha-256 -c hba_file=$PGDATA/pg_hba.conf"
  if $fresh; then
    as_postgres psql --username="$DB_USER" --dbname=postgres \
      --command="CREATE DATABASE \"$DB_NAME\" OWNER \"$DB_USER\""
  fi
}

stop() {
  as_postgres pg_ctl --pgdata="$PGDATA" --mode=fast --timeout=10 --wait stop \
    || as_postgres pg_ctl --pgdata="$PGDATA" --mode=immediate stop \
    || pkill -KILL -u postgres -x postgres \
    || true
}

# Whether a postmaster runs on this host: pg_ctl status would trust a pid file on shared storage.
status() { pgrep -u postgres -x postgres > /dev/null; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
