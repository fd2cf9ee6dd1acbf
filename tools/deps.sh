#!/bin/bash
# Installs the Debian packages qingfeng needs to build, test and demo.
# As root it runs apt-get; otherwise it prints the exact command and fails,
# because a half-provisioned machine gives confusing build errors later.
set -euo pipefail

PKGS=(
  gcc make pkg-config perl procps util-linux valgrind
  libpq-dev libcurl4-openssl-dev libconfig-dev libjansson-dev libssl-dev
  libsystemd-dev libmicrohttpd-dev
  postgresql-15 postgresql-client-15
  systemd groff-base man-db
  chromium fonts-noto-cjk
  libreoffice-calc-nogui prometheus python3-prometheus-client
)
if [ "${1:-}" = "--check-extra" ]; then shift; PKGS+=("$@"); fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "qingfeng: missing Debian packages; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "qingfeng: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
