#!/bin/bash
# multitier-pg-archive: the cluster's WAL archive and base backups in the stack's S3 bucket,
# through pgBackRest (its stanza is the cluster's name, its repository the cluster's prefix).
# PostgreSQL's archive_command runs pgBackRest's archive-push itself (multitier-pg start): the
# backup refuses an archive_command that does not name pgbackrest.
#
#   configure      write pgBackRest's config from pg.env (the boot, once)
#   tick           the timer, every minute, on every node; only the primary acts: create the
#                  stanza once, publish how old the newest archived segment is (the alarm), take
#                  a full backup when the last is older than ARCHIVE_FULL_BACKUP_HOURS (pgBackRest
#                  then expires what ARCHIVE_RETENTION_FULL no longer keeps)
#   backup         a full base backup now (the primary)
#   restore        fill the empty data directory from RESTORE_CLUSTER's archive, to
#                  RESTORE_TARGET (a time, or latest); `multitier-pg start` then starts it
#   restored       after that start: wait until recovery ends and the server is promoted, fail
#                  if PostgreSQL gave up or the archive ended before its newest segment, and give
#                  the cluster this stack's passwords
#
# Seams, all unset on a node: MULTITIER_ROOT (path prefix), PG_BIN, PG_PORT, and pgBackRest's own
# PGBACKREST_REPO1_* variables (the drill's S3 emulator: endpoint, port, CA, path-style, keys).
set -euo pipefail
ROOT=${MULTITIER_ROOT:-}
# shellcheck source=lib.sh
source "$ROOT/usr/local/lib/multitier/lib.sh"
# shellcheck source=/dev/null
source "$ROOT/etc/multitier/pg.env"

PG_BIN=${PG_BIN:-/usr/bin}
PG_PORT=${PG_PORT:-5432}
CONF=$ROOT/etc/multitier/pg
RUN=$ROOT/run/multitier
DATA=$ROOT$PGDATA
CONFIG=$ROOT/etc/pgbackrest/pgbackrest.conf
RESTORE_CONFIG=$ROOT/etc/pgbackrest/restore.conf
EXPECTS=$DATA/multitier-restore-expects

as_postgres() { runuser -u postgres -- "$@"; }
own() { as_postgres pgbackrest --config="$CONFIG" --stanza="$CLUSTER" "$@"; }
source_() { as_postgres pgbackrest --config="$RESTORE_CONFIG" --stanza="$RESTORE_CLUSTER" "$@"; }
psql_() {
  # shellcheck source=/dev/null
  source "$CONF/cluster.env"
  as_postgres "$PG_BIN/psql" --no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 \
    --host="$RUN" --port="$PG_PORT" --username="$DB_USER" --dbname=postgres "$@"
}

# section BUCKET CLUSTER [SETTING...]: pgBackRest's settings for one cluster's prefix of a
# bucket, as its stanza. On AWS: the instance role's credentials (key-type auto, IMDSv2), the
# region's endpoint.
section() {
  # shellcheck source=/dev/null
  source "$CONF/cluster.env"
  printf '%s\n' "[global]" repo1-type=s3 "repo1-s3-bucket=$1" "repo1-s3-region=$REGION" \
    "repo1-s3-endpoint=s3.$REGION.amazonaws.com" repo1-s3-key-type=auto "repo1-path=/$2" \
    "log-path=$ROOT/var/log/multitier" "lock-path=$RUN/pgbackrest" "${@:3}" "[$2]" \
    "pg1-path=$DATA" "pg1-socket-path=$RUN" "pg1-port=$PG_PORT" "pg1-user=$DB_USER"
}

configure() {
  install -d -m 0755 "$(dirname "$CONFIG")"
  # Bundles: many small files in few objects, fewer requests.
  section "$ARCHIVE_BUCKET" "$CLUSTER" repo1-bundle=y start-fast=y \
    "repo1-retention-full=$ARCHIVE_RETENTION_FULL" > "$CONFIG"
  if [[ -n "${RESTORE_CLUSTER:-}" ]]; then
    section "$RESTORE_BUCKET" "$RESTORE_CLUSTER" > "$RESTORE_CONFIG"
  fi
  # The boot writes secrets under umask 077: postgres runs pgBackRest and reads these.
  chmod 0644 "$ROOT"/etc/pgbackrest/*.conf
}

# Whether this node's own server runs and is out of recovery.
primary() {
  "$ROOT/usr/local/sbin/multitier-pg" status && [[ "$(psql_ -c "SELECT pg_is_in_recovery()")" == f ]]
}

tick() {
  primary || return 0
  local marker=$ROOT$SHARED_DIR/archive-stanza-$CLUSTER age
  [[ -f "$marker" ]] || { own stanza-create && touch "$marker"; }
  # Seconds since the newest segment reached the archive (since the start, if none did yet).
  optional "publish the archive's age" aws cloudwatch put-metric-data --region "$REGION" \
    --namespace multitier/database --metric-name ArchiveAgeSeconds --unit Seconds \
    --dimensions "cluster=$CLUSTER" --value "$(psql_ -c "SELECT extract(epoch FROM now() -
      greatest(last_archived_time, pg_postmaster_start_time()))::int FROM pg_stat_archiver")"
  # When the newest full backup finished (0: there is none).
  age=$(own --output=json info | jq '[.[0].backup[] | select(.type == "full").timestamp.stop]
    | max // 0')
  if (($(date +%s) - age >= ARCHIVE_FULL_BACKUP_HOURS * 3600)); then backup; fi
}

backup() { own stanza-create && own backup --type=full; }

restore() {
  local target=()
  [[ "$RESTORE_TARGET" == latest ]] \
    || target=(--type=time "--target=$RESTORE_TARGET" --target-action=promote)
  install -d -m 0700 -o postgres -g postgres "$DATA"
  step "restore $RESTORE_CLUSTER to $RESTORE_TARGET" source_ restore "${target[@]}"
  # The newest segment in the archive now: a `latest` restore must reach it.
  source_ --output=json info | jq -r '.[0].archive[-1].max' > "$EXPECTS"
}

restored() {
  [[ -f "$EXPECTS" ]] || return 0
  # shellcheck source=/dev/null
  source "$CONF/cluster.env"
  local timeline parent lsn byte last
  # Recovery replays every segment since the backup, as long as that takes; it ends promoted, or
  # with PostgreSQL stopped (a segment or the target missing).
  until [[ "$(psql_ -c "SELECT pg_is_in_recovery()" 2> /dev/null)" == f ]]; do
    if ! "$ROOT/usr/local/sbin/multitier-pg" status; then
      echo "restore: PostgreSQL stopped in recovery (its log says why)" >&2
      exit 1
    fi
    sleep 1
  done
  # A `latest` restore ends where the archive does, or where a segment is missing: where it
  # ended is the switch point in the new timeline's history; the segment holding the byte before
  # it (16 MB segments) must be the archive's newest.
  if [[ "$RESTORE_TARGET" == latest ]]; then
    timeline=$((16#$(psql_ -c "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")))
    read -r parent lsn _ < <(tail -n 1 "$DATA/pg_wal/$(printf %08X "$timeline").history")
    byte=$((16#${lsn%/*} * 2 ** 32 + 16#${lsn#*/} - 1))
    last=$(printf %08X%08X%08X "$parent" $((byte / 2 ** 32)) $((byte % 2 ** 32 / 2 ** 24)))
    if [[ "$last" < "$(cat "$EXPECTS")" ]]; then
      "$ROOT/usr/local/sbin/multitier-pg" stop
      echo "restore: a segment is missing: recovery ended in $last, the archive in" \
        "$(< "$EXPECTS")" >&2
      exit 1
    fi
  fi
  # This stack's passwords: the master's, then the app's logins (roles.py, idempotent).
  python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import roles
print(roles.set_password(sys.argv[2], open(sys.argv[3]).read().strip())[0])' \
    "$ROOT/usr/local/lib/multitier" "$DB_USER" "$CONF/pwfile" | psql_ > /dev/null
  python3 "$ROOT/usr/local/lib/multitier/roles.py" < "$CONF/logins.json" \
    | psql_ --dbname="$DB_NAME" > /dev/null
  rm -f "$EXPECTS"
}

case "${1:-}" in
  configure) configure ;;
  tick) tick ;;
  backup) backup ;;
  restore) restore ;;
  restored) restored ;;
  *) echo "usage: $0 configure|tick|backup|restore|restored" >&2; exit 2 ;;
esac
