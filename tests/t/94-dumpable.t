#!/bin/bash
# The daemon holds receiver secrets: it turns its dumpable flag off first
# thing (prctl PR_SET_DUMPABLE 0), so it leaves no core dump, and no other
# process of its user may read its memory or environment. The kernel then
# makes the files of /proc/PID root's and refuses /proc/PID/environ to the
# daemon's own user. Checked on the running daemon, as a non-root user
# (nobody when the test runs as root), against a process of the same user
# without the flag.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -eq 0 ]; then
  if ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null 2>&1; then
    echo "1..0 # SKIP needs the user nobody and setpriv (util-linux) to run as non-root"
    exit 0
  fi
  # setpriv execs (no child): $! is the daemon
  as_user=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups --)
  chmod 711 "$T_DIR"
else
  as_user=()
fi
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }

# no database is needed: the daemon keeps running while it waits for one
CONNINFO="host=/nonexistent dbname=x"
write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook"
chmod 644 "$T_DIR/q.conf"

# the control: the same user's process without the flag
"${as_user[@]}" sleep 30 &
spid=$!
T_PIDS+=("$spid")
"${as_user[@]}" "$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
T_PIDS+=("$dpid")
wait_for 10 'grep -q "started" "$T_DIR/daemon.log"'; ok $? "the daemon runs"
uid=$(uid_of "$dpid")
ok $([ -n "$uid" ] && [ "$uid" != 0 ] && echo 0 || echo 1) "as a non-root user (uid $uid)"
is "$(uid_of "$spid")" "$uid" "the control process runs as the same user"

is "$(stat -c %u "/proc/$spid/status")" "$uid" "control: /proc/PID/status belongs to the user (the check below can tell)"
"${as_user[@]}" cat "/proc/$spid/environ" >/dev/null 2>&1; ok $? "control: the user may read its environment"

is "$(stat -c %u "/proc/$dpid/status")" 0 "the daemon's /proc/PID/status belongs to root: it is not dumpable"
out=$("${as_user[@]}" cat "/proc/$dpid/environ" 2>&1 >/dev/null); st=$?
ok $([ $st -ne 0 ] && echo 0 || echo 1) "its own user cannot read its environment: $out"

kill -TERM "$dpid"; wait "$dpid"; is "$?" 0 "SIGTERM: exit 0 (ASan's leak check works on a non-dumpable process)"
kill "$spid" 2>/dev/null
done_testing
