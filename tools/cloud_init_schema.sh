#!/bin/bash
# cloud-init's schema of #cloud-config documents, for the user-data tests: the JSON file that
# Debian bookworm's cloud-init 22.4.2 package carries, downloaded with apt and unpacked with
# dpkg -x into DIR (nothing is installed). Amazon Linux 2023 runs cloud-init 22.2.2, which Debian
# never shipped in a release; tests/test_user_data.py says how the two schemas differ.
# DIR/schema-cloud-config-v1.json is the schema, DIR/VERSION the Debian package's version.
#
#   tools/cloud_init_schema.sh DIR
set -euo pipefail
dir=$1
upstream=22.4.2
schema=usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json
[[ -f "$dir/schema-cloud-config-v1.json" && -f "$dir/VERSION" ]] && exit 0

apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$apt_dir/root"
echo "deb http://deb.debian.org/debian bookworm main" > "$apt_dir/sources.list"
apt_options=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Sandbox::User=root"
)
apt-get -qq "${apt_options[@]}" update
# Bookworm's point releases change the Debian revision (22.4.2-1+deb12uN), never the upstream
# version: take the current revision, refuse anything else.
version=$(apt-cache "${apt_options[@]}" show cloud-init | awk '/^Version:/ {print $2; exit}')
if [[ "$version" != "$upstream"-* ]]; then
  echo "cloud_init_schema.sh: bookworm has cloud-init $version, not $upstream" >&2
  exit 1
fi
(cd "$apt_dir/debs" && apt-get -qq "${apt_options[@]}" download "cloud-init=$version")
dpkg -x "$apt_dir"/debs/cloud-init_*.deb "$apt_dir/root"
mkdir -p "$dir"
cp "$apt_dir/root/$schema" "$dir/schema-cloud-config-v1.json"
echo "$version" > "$dir/VERSION"
