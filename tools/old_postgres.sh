#!/bin/bash
# An older PostgreSQL major than the machine's (Debian bookworm's 15) for the test of the vip
# cluster's major upgrade (tests/test_pg_upgrade.py): Debian bullseye's postgresql-13 and the
# libraries bookworm lacks, downloaded with apt and unpacked with dpkg -x into DIR (nothing is
# installed system-wide), as tools/host_python.sh does for Python 3.9. Its server programs are
# DIR/usr/lib/postgresql/13/bin; they run with LD_LIBRARY_PATH=DIR/usr/lib/x86_64-linux-gnu,
# and find their share and lib directories relative to themselves.
#
#   tools/old_postgres.sh DIR
set -euo pipefail
dir=$1
[[ -x "$dir/usr/lib/postgresql/13/bin/postgres" ]] && exit 0

apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
echo "deb http://deb.debian.org/debian bullseye main" > "$apt_dir/sources.list"
apt_options=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Sandbox::User=root"
)
apt-get -qq "${apt_options[@]}" update
# libpq5 is bookworm's (the same soname, newer): pg_ctl 13 runs with it.
(cd "$apt_dir/debs" && apt-get -qq "${apt_options[@]}" download \
  postgresql-13 libicu67 libssl1.1 libldap-2.4-2)
mkdir -p "$dir"
for deb in "$apt_dir"/debs/*.deb; do
  dpkg -x "$deb" "$dir"
done
chmod -R a+rX "$dir"  # the postgres user runs them
LD_LIBRARY_PATH="$dir/usr/lib/x86_64-linux-gnu" "$dir/usr/lib/postgresql/13/bin/postgres" --version
