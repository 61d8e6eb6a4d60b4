#!/bin/bash
# A real CPython 3.9, the /usr/bin/python3 of Amazon Linux 2023, for checking host code as the
# hosts run it: Debian bullseye's python3.9 packages, downloaded with apt and unpacked with
# dpkg -x into DIR (nothing is installed system-wide). DIR/python3 runs it.
#
#   tools/host_python.sh DIR
set -euo pipefail
dir=$1
[[ -x "$dir/python3" ]] && exit 0

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
(cd "$apt_dir/debs" && apt-get -qq "${apt_options[@]}" download \
  python3.9-minimal libpython3.9-minimal libpython3.9-stdlib)
mkdir -p "$dir"
for deb in "$apt_dir"/debs/*.deb; do
  dpkg -x "$deb" "$dir"
done
# It finds its standard library from where it lies: no PYTHONHOME, which its children (the
# agent's PostgreSQL commands, a system Python among them) would inherit.
ln -sf usr/bin/python3.9 "$dir/python3"
"$dir/python3" -c 'import sys; assert sys.version_info[:2] == (3, 9), sys.version'
