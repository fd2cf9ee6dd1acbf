#!/bin/bash
# Installs the Debian packages qingfeng needs, by what it is for:
#
#   tools/deps.sh [GROUP...] [--check-extra PKG...]
#
#   build   compile and install (make, make install); the default
#   demo    build, plus PostgreSQL and what tools/demo.sh runs (make demo)
#   test    demo, plus what the tests use: valgrind, systemd-analyze, man, curl,
#           headless Chromium and CJK fonts, node and npm (the console's browser tests), cppcheck (make check)
#   bench   demo, plus bc and curl (make bench, make soak)
#   lint    cppcheck (make lint)
#   format  clang-format and git (make format)
#
# As root it runs apt-get; otherwise it prints the exact command and fails,
# because a half-provisioned machine gives confusing build errors later.
set -euo pipefail

BUILD=(gcc make pkg-config libpq-dev libcurl4-openssl-dev libconfig-dev libjansson-dev libssl-dev
       libsystemd-dev libmicrohttpd-dev)
DEMO=("${BUILD[@]}" postgresql-15 postgresql-client-15 perl procps util-linux)
LINT=(cppcheck)
TEST=("${DEMO[@]}" "${LINT[@]}" valgrind systemd groff-base man-db chromium fonts-noto-cjk poppler-utils pgbouncer curl nodejs npm
      libreoffice-calc-nogui prometheus python3-prometheus-client)
BENCH=("${DEMO[@]}" bc curl)
FORMAT=(clang-format git)

PKGS=()
groups=0
while [ $# -gt 0 ]; do
  case $1 in
    build) PKGS+=("${BUILD[@]}") ;;
    demo) PKGS+=("${DEMO[@]}") ;;
    test) PKGS+=("${TEST[@]}") ;;
    bench) PKGS+=("${BENCH[@]}") ;;
    lint) PKGS+=("${LINT[@]}") ;;
    format) PKGS+=("${FORMAT[@]}") ;;
    --check-extra) shift; PKGS+=("$@"); break ;;
    *) echo "usage: tools/deps.sh [build|demo|test|bench|lint|format]... [--check-extra PKG...]" >&2; exit 64 ;;
  esac
  groups=$((groups + 1))
  shift
done
[ $groups -gt 0 ] || PKGS+=("${BUILD[@]}")

missing=()
for p in "${PKGS[@]}"; do
  case " ${missing[*]} " in *" $p "*) continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    # Node.js from elsewhere (NodeSource's nodejs bundles npm, and
    # conflicts with Debian's npm package): its programs are what the
    # browser tests need, whichever package brought them
    case $p in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
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
# The tests need these packages' programs, never their services: no
# service may start as they install (prometheus would listen on :9090 on
# every address, postgresql would start a cluster nobody uses). invoke-rc.d
# asks policy-rc.d, and 101 means "not allowed"; an existing one is kept.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# written by qingfeng tools/deps.sh for the length of an install\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
