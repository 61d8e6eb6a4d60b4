#!/bin/bash
# multitier-pg start|stop|handover|status|check|upgrade: PostgreSQL on the shared EFS data directory, for the node
# agent, which calls `start` only while this node is primary and holds the lease.
#
# This node knows its own server by the postmaster's pid and start time, recorded in a node-local
# file at start: the postmaster.pid on the shared volume may be another node's, and a process
# list of user postgres may hold another node's server (on one machine, in the drill).
#
# Seams, all unset on a node: MULTITIER_ROOT (path prefix), IMDS_ENDPOINT (lib.sh), PG_BIN (the
# server programs' directory; Debian keeps them off PATH), PG_PORT, PG_LISTEN_VIP=false (the
# drill cannot bind the VIP; nodes listen on it).
set -euo pipefail
ROOT=${MULTITIER_ROOT:-}
# shellcheck source=lib.sh
source "$ROOT/usr/local/lib/multitier/lib.sh"
# shellcheck source=/dev/null
source "$ROOT/etc/multitier/pg.env"
# The cluster's superuser and the app's database, as the master secret names them (the boot).
# shellcheck source=/dev/null
source "$ROOT/etc/multitier/pg/cluster.env"

PG_BIN=${PG_BIN:-/usr/bin}
PG_PORT=${PG_PORT:-5432}
CONF=$ROOT/etc/multitier/pg
RUN=$ROOT/run/multitier
OWN_PID=$RUN/postmaster.pid
DATA=$ROOT$PGDATA
LOG=$ROOT/var/log/multitier/postgresql.log
# A node is down for the cluster once its heartbeat write takes longer than this.
CHECK_TIMEOUT=${CHECK_TIMEOUT:-4}
# The WAL archive and restores (pg_archive.sh): `restore` fills an empty data directory from
# vip.restore's archive instead of initdb; `restored`, after the start, waits for its recovery.
ARCHIVER=$ROOT/usr/local/sbin/multitier-pg-archive
# How long a stop waits for its checkpoint before it stops the server anyway.
CHECKPOINT_TIMEOUT=${CHECKPOINT_TIMEOUT:-30}

as_postgres() { runuser -u postgres -- "$@"; }

# The admin session: the OS user postgres, mapped to the cluster's superuser by peer auth.
PSQL=(--no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 --host="$RUN"
  --port="$PG_PORT" --username="$DB_USER")
sql() { as_postgres "$PG_BIN/psql" "${PSQL[@]}" --dbname=postgres --command="$1"; }

# The start time (clock ticks since boot) of a live process; nothing if there is none.
started_at() {
  local stat fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  read -r -a fields <<< "${stat##*) }"
  [[ "${fields[0]}" == Z || "${fields[0]}" == X ]] || echo "${fields[19]}"
}

# This node's own postmaster, if it runs: the pid recorded at start, with the same start time.
own_pid() {
  local pid started
  [[ -f "$OWN_PID" ]] || return 1
  read -r pid started < "$OWN_PID"
  # A postmaster that died before its start time was read left none: it is no process of ours.
  [[ -n "$pid" && -n "$started" && "$(started_at "$pid")" == "$started" ]] && echo "$pid"
}

listen_addresses() {
  if [[ "${PG_LISTEN_VIP:-true}" == true ]]; then
    echo "$VIP,$(imds meta-data/local-ipv4)"
  else
    imds meta-data/local-ipv4
  fi
}

# Who may connect to the data directory $1 (default: the cluster's).
write_access() {
  local data=${1:-$DATA}
  {
    echo "local all all peer map=node"
    for cidr in $APP_CIDRS; do
      echo "hostssl all all $cidr scram-sha-256"
    done
  } > "$data/pg_hba.conf"
  echo "node postgres $DB_USER" > "$data/pg_ident.conf"
  chown postgres:postgres "$data/pg_hba.conf" "$data/pg_ident.conf"
  chmod 0600 "$data/pg_hba.conf" "$data/pg_ident.conf"
}

start() {
  if [[ ! -f "$DATA/PG_VERSION" && -n "${RESTORE_CLUSTER:-}" ]]; then
    "$ARCHIVER" restore
  elif [[ ! -f "$DATA/PG_VERSION" ]]; then
    as_postgres "$PG_BIN/initdb" --pgdata="$DATA" --username="$DB_USER" \
      --pwfile="$CONF/pwfile" --auth-local=peer --auth-host=scram-sha-256 --data-checksums
  fi
  # The lease says no other node runs PostgreSQL on this directory: a pid file is a leftover of
  # a fenced node, whose pid may happen to be alive here.
  rm -f "$DATA/postmaster.pid"
  write_access
  install -d -m 0755 -o postgres -g postgres "$RUN" "$(dirname "$LOG")"
  # A long --timeout (pg_ctl's default is 60 s): crash recovery takes as long as it takes; the
  # agent renews the lease meanwhile.
  as_postgres "$PG_BIN/pg_ctl" --pgdata="$DATA" --log="$LOG" --wait --timeout=3600 start \
    -o "-c listen_addresses='$(listen_addresses)' -c port=$PG_PORT \
        -c unix_socket_directories='$RUN' -c ssl=on \
        -c ssl_cert_file='$CONF/server.crt' -c ssl_key_file='$CONF/server.key' \
        -c password_encryption=scram-sha-256 \
        -c hba_file='$DATA/pg_hba.conf' -c ident_file='$DATA/pg_ident.conf' \
        -c archive_mode=on -c archive_timeout=$ARCHIVE_TIMEOUT \
        -c archive_command='pgbackrest --config=$ROOT/etc/pgbackrest/pgbackrest.conf \
          --stanza=$CLUSTER archive-push %p'"
  local pid
  pid=$(head -n 1 "$DATA/postmaster.pid")
  echo "$pid $(started_at "$pid")" > "$OWN_PID"
  "$ARCHIVER" restored
  # Idempotent, so a start cut short after initdb completes on the next one.
  if [[ -z "$(sql "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]]; then
    sql "CREATE DATABASE \"$DB_NAME\" OWNER \"$DB_USER\""
  fi
  app_roles
  sql "CREATE SCHEMA IF NOT EXISTS multitier;
    CREATE TABLE IF NOT EXISTS multitier.heartbeat (node text PRIMARY KEY, at timestamptz NOT NULL)"
}

# The app's roles (an owner, the app's login acting as it, a read-only login), made when the
# cluster is: roles.py turns the logins the boot read into SQL, which reaches psql through a pipe
# (passwords never on a command line, only their verifiers in the SQL). Once they exist this
# does nothing: rotations own their passwords from then on, and the credentials function makes
# the roles on a cluster older than them. The logins' file stays (root, 0600): a restore
# (pg_archive.sh) sets the new stack's passwords from it.
app_roles() {
  [[ -f "$CONF/logins.json" ]] || return 0
  if [[ "$(sql "SELECT count(*) FROM pg_roles
    WHERE rolname IN ('$OWNER_ROLE', '$APP_LOGIN', '$READER_LOGIN')")" != 3 ]]; then
    python3 "$ROOT/usr/local/lib/multitier/roles.py" < "$CONF/logins.json" \
      | as_postgres "$PG_BIN/psql" "${PSQL[@]}" --dbname="$DB_NAME" > /dev/null
  fi
}

# A fast stop (a shutdown checkpoint; clients are disconnected); a server that does not stop in
# time is killed, and the next start recovers from the crash.
stop() {
  local pid
  pid=$(own_pid) || return 0
  as_postgres "$PG_BIN/pg_ctl" --pgdata="$DATA" --mode=fast --timeout=10 --wait stop \
    || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$OWN_PID"
}

# The clean stop of a demoted primary (a switchover), which still holds the lease: a checkpoint
# while clients still write (bounded: a hung server gets none), then the fast stop, whose
# shutdown checkpoint is short after it, so the next start replays next to no WAL.
handover() {
  status || return 0
  timeout "$CHECKPOINT_TIMEOUT" runuser -u postgres -- "$PG_BIN/psql" "${PSQL[@]}" \
    --dbname=postgres --command="CHECKPOINT" > /dev/null || true
  stop
}

# pg_upgrade of the shared data directory to this node's major (PG_BIN), from the server
# programs of the major that made it (OLD_BIN): on the primary, with failover paused and
# PostgreSQL stopped (RUNBOOKS.md, Upgrade PostgreSQL to a new major version). In copy mode:
# the old directory stays beside it, untouched, as data.<old major>; going back is moving it
# back (before the new server has run, nothing is lost).
upgrade() {
  local old_bin=${1:?usage: multitier-pg upgrade OLD_BINDIR} old new work checksums=()
  if status; then
    echo "multitier-pg: PostgreSQL runs here: pause failover and stop it first" >&2
    return 1
  fi
  old=$(< "$DATA/PG_VERSION")
  new=$("$PG_BIN/postgres" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
  if [[ "$old" == "$new" ]]; then
    echo "multitier-pg: the data directory is PostgreSQL $new already" >&2
    return 1
  fi
  # The new cluster must checksum its pages as the old one does (pg_upgrade refuses otherwise).
  if as_postgres "$old_bin/pg_controldata" "$DATA" | grep -Eq '^Data page checksum version: +[1-9]'; then
    checksums=(--data-checksums)
  fi
  work=$DATA.$new
  rm -rf "$work"
  as_postgres "$PG_BIN/initdb" --pgdata="$work" --username="$DB_USER" \
    --pwfile="$CONF/pwfile" --auth-local=peer --auth-host=scram-sha-256 "${checksums[@]}"
  write_access "$work"
  install -d -m 0755 -o postgres -g postgres "$RUN"
  # pg_upgrade writes its logs where it runs: the node-local run directory.
  (cd "$RUN" && as_postgres "$PG_BIN/pg_upgrade" --old-datadir="$DATA" --new-datadir="$work" \
    --old-bindir="$old_bin" --new-bindir="$PG_BIN" --username="$DB_USER" --socketdir="$RUN")
  mv "$DATA" "$DATA.$old"
  mv "$work" "$DATA"
  echo "multitier-pg: upgraded from PostgreSQL $old to $new; the old directory is $DATA.$old"
}

# Whether this node's own postmaster runs.
status() { own_pid > /dev/null; }

# A real write through this node's own server, bounded by CHECK_TIMEOUT: what a heartbeat means.
# A hung postmaster, a full or stuck volume, or a dead server all fail it.
check() {
  status || return 1
  timeout "$CHECK_TIMEOUT" runuser -u postgres -- "$PG_BIN/psql" "${PSQL[@]}" --dbname=postgres --command="
    SET statement_timeout = '${CHECK_TIMEOUT}s';
    INSERT INTO multitier.heartbeat VALUES ('$(hostname)', now())
    ON CONFLICT (node) DO UPDATE SET at = excluded.at" > /dev/null
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  handover) handover ;;
  upgrade) upgrade "${2:-}" ;;
  status) status ;;
  check) check ;;
  *) echo "usage: $0 start|stop|handover|status|check|upgrade OLD_BINDIR" >&2; exit 2 ;;
esac
