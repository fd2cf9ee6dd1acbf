#!/bin/bash
# Runs a command against a throwaway PostgreSQL cluster.
#
#   tools/pgtmp.sh COMMAND [ARGS...]
#
# The cluster lives in a private temp dir and listens only on a unix socket
# there (listen_addresses=''), so nothing is reachable over the network.
# initdb refuses to run as root, so as root the cluster belongs to the
# `postgres` user. PGHOST/PGPORT/PGUSER/PGDATABASE are exported for COMMAND,
# plus QF_PGDATA and QF_PGCTL so tests can restart the server (a test that
# does runs under a cluster of its own: own_cluster in tests/lib.sh, which
# runs it through this script again). The cluster is stopped and removed
# on every exit path.
set -euo pipefail

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ]; then bindir=$d; break; fi
done
if [ -z "$bindir" ]; then
  echo "pgtmp: no PostgreSQL server binaries found (run tools/deps.sh)" >&2
  exit 69
fi

dir=$(mktemp -d /tmp/qf-pg.XXXXXX)
runas=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  runas=(runuser -u postgres --)
  pguser=postgres
else
  pguser=$(id -un)
fi
chmod 700 "$dir"

started=0
cleanup() {
  rc=$?
  trap - EXIT INT TERM HUP
  if [ $started -eq 1 ]; then
    "${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  # a server that outlived pg_ctl (it should not) must not keep the socket dir alive
  if [ -f "$dir/data/postmaster.pid" ]; then
    kill -9 "$(head -1 "$dir/data/postmaster.pid")" 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --no-sync: nothing of a throwaway cluster needs to reach the disk
"${runas[@]}" "$bindir/initdb" -D "$dir/data" -U "$pguser" --auth=trust --no-sync \
  --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2; exit 1; }

# fsync off: the cluster is thrown away; crash-safety of the engine is tested
# with kill -9 of qingfengd, not of PostgreSQL.
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
log_min_messages = warning
CONF
started=1
if ! "${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
  cat "$dir/server.log" >&2
  exit 1
fi

export PGHOST=$dir PGPORT=5432 PGUSER=$pguser PGDATABASE=postgres
export QF_PGDATA=$dir/data QF_PGCTL="$bindir/pg_ctl" QF_PGRUNAS="${runas[*]}" QF_PGLOG=$dir/server.log
set +e
"$@"
rc=$?
set -e
exit $rc
