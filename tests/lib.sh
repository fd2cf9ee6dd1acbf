# Shared helpers for the integration tests (bash, TAP for prove).
# Each test gets its own database in the throwaway cluster that
# tools/pgtmp.sh started, its own temp dir, and its own receiver(s);
# everything it started is stopped on exit, pass or fail. `make check`
# runs several tests at once against that one cluster, and what is
# cluster-wide is shared: a test that stops or restarts the server calls
# own_cluster; a role that more than one test creates is created with
# role_ensure; a test's own roles have names no other test uses.
set -u

QF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QF_BUILD=${QF_BUILD:-$QF_ROOT/build}
QFD=$QF_BUILD/qingfengd
QFCTL=$QF_BUILD/qfctl
QFRECV=$QF_BUILD/qf-receiver
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ -z "${PGHOST:-}" ]; then
  echo "1..0 # SKIP needs tools/pgtmp.sh (run through make check)"
  exit 0
fi

# sql DB QUERY: one value or rows, unaligned, no headers
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# role_ensure 'NAME OPTIONS'...: CREATE ROLE NAME OPTIONS for each one that
# does not exist. Tests running at once may create the same role: the one
# that loses the race gets a duplicate key, which is the role it wanted.
role_ensure() {
  local r body=""
  for r in "$@"; do
    body="$body BEGIN CREATE ROLE $r; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;"
  done
  sql postgres "DO \$\$ BEGIN $body END \$\$"
}

# own_cluster: the test runs again from the start under a throwaway
# cluster of its own (tools/pgtmp.sh), for a test that stops or restarts
# PostgreSQL, or that needs a cluster nothing has touched. Call it first,
# right after sourcing this file.
own_cluster() {
  [ "${QF_OWN_CLUSTER:-}" = "$0" ] && return 0
  rm -rf "$T_DIR"
  QF_OWN_CLUSTER=$0 exec "$QF_ROOT/tools/pgtmp.sh" bash "$0"
}

# The group roles of sql/006_roles.sql, as it creates them: every test
# migrates a database of its own, and two migrations at once would both
# try to create them. A test under its own cluster leaves that to its
# migration.
if [ "${QF_OWN_CLUSTER:-}" != "$0" ]; then
  role_ensure "qf_engine NOLOGIN" "qf_auditor NOLOGIN" "qf_admin NOLOGIN" ||
    { echo "# tests/lib.sh: cannot create the group roles in the cluster at $PGHOST"; exit 1; }
fi

T_N=0
T_FAILED=0
T_PIDS=()
T_DIR=$(mktemp -d /tmp/qf-test.XXXXXX)
T_NAME=$(basename "$0" .t | tr -c 'a-z0-9\n' '_')

ok() { # ok COND-EXIT-STATUS DESCRIPTION
  local st=$1; shift
  T_N=$((T_N + 1))
  if [ "$st" -eq 0 ]; then echo "ok $T_N - $*"; else echo "not ok $T_N - $*"; T_FAILED=$((T_FAILED + 1)); fi
}
is() { # is GOT WANT DESCRIPTION
  local got=$1 want=$2; shift 2
  if [ "$got" = "$want" ]; then ok 0 "$*"; else ok 1 "$*"; printf '#   got:  %s\n#   want: %s\n' "$got" "$want"; fi
}
like() { # like GOT EXTENDED-REGEX DESCRIPTION
  local got=$1 re=$2; shift 2
  if printf '%s' "$got" | grep -Eq -- "$re"; then ok 0 "$*"; else ok 1 "$*"; printf '#   got:  %s\n#   want match: %s\n' "$got" "$re"; fi
}
unlike() { # unlike GOT EXTENDED-REGEX DESCRIPTION
  local got=$1 re=$2; shift 2
  if ! printf '%s' "$got" | grep -Eq -- "$re"; then ok 0 "$*"; else ok 1 "$*"; printf '#   got:  %s\n#   must not match: %s\n' "$got" "$re"; fi
}
note() { printf '# %s\n' "$*"; }
done_testing() { echo "1..$T_N"; [ $T_FAILED -eq 0 ]; exit $?; }

t_cleanup() {
  for p in "${T_PIDS[@]:-}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null
  done
  for p in "${T_PIDS[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null
  done
  rm -rf "$T_DIR"
}
trap t_cleanup EXIT

# wait_for SECONDS SHELL-CONDITION: polls every 0.1 s; status 1 if it never held
wait_for() {
  local end=$(( $(date +%s) + $1 )); shift
  while [ "$(date +%s)" -le $end ]; do eval "$@" && return 0; sleep 0.1; done
  return 1
}
# wait_sql SQL-CONDITION: up to 10 s for the condition to be true in $DB
wait_sql() {
  local end=$(( $(date +%s) + 10 ))
  while [ "$(date +%s)" -le $end ]; do [ "$(sql "$DB" "SELECT $1")" = t ] && return 0; sleep 0.1; done
  return 1
}
# Lock-order tests hold a transaction open until the test has seen the
# other writer wait, not for a fixed time: go_table creates public.go in
# $DB, $HOLD_UNTIL_GO (a statement) waits until go_release puts a row in
# it, at most 60 s.
go_table() { sql "$DB" "CREATE TABLE public.go (x int)"; }
go_release() { sql "$DB" "INSERT INTO public.go VALUES (1)"; }
HOLD_UNTIL_GO='DO $$ BEGIN FOR i IN 1 .. 1200 LOOP EXIT WHEN EXISTS (SELECT 1 FROM public.go); PERFORM pg_sleep(0.05); END LOOP; END $$'

# new_db NAME: a fresh migrated database; sets DB and CONNINFO
new_db() {
  DB=qf_${T_NAME}_$1
  dropdb --if-exists "$DB" >/dev/null 2>&1
  createdb "$DB" || return 1
  CONNINFO="host=$PGHOST port=${PGPORT:-5432} dbname=$DB"
  "$QFCTL" -d "$CONNINFO" migrate >/dev/null
}

# new_db_at NAME VERSION: as new_db, migrated only up to VERSION, the
# database an upgrade starts from; a later plain migrate brings it up
new_db_at() {
  local d=$T_DIR/sql-upto-$2 f n
  mkdir -p "$d"
  for f in "$QF_ROOT"/sql/[0-9][0-9][0-9]_*.sql; do
    n=$(basename "$f"); [ $((10#${n%%_*})) -le "$2" ] && cp "$f" "$d/"
  done
  QF_SQL_DIR=$d new_db "$1"
}

# notify_listen SOCKET LOG: a systemd notify socket (NOTIFY_SOCKET) that
# writes each datagram to LOG as "<unix time> <lines joined by |>"; it is
# stopped with the test
notify_listen() {
  perl -MIO::Socket::UNIX -MSocket -MTime::HiRes=time -e '
    my ($path, $log) = @ARGV;
    my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "listen: $!";
    open(my $out, ">", $log) or die; $out->autoflush(1); print $out "";
    while (1) { my $buf = ""; defined $s->recv($buf, 65536) or next; printf $out "%.3f %s\n", time, join("|", split /\n/, $buf); }
  ' "$1" "$2" &
  T_PIDS+=($!)
  for _ in $(seq 1 50); do [ -S "$1" ] && break; sleep 0.05; done
}

# receiver_start NAME [qf-receiver options]: sets RECV_URL_<NAME>, log file $T_DIR/NAME.jsonl
receiver_start() {
  local name=$1; shift
  rm -f "$T_DIR/$name.port"
  "$QFRECV" -q -p "$T_DIR/$name.port" -o "$T_DIR/$name.jsonl" "$@" 2>>"$T_DIR/$name.err" &
  local pid=$!
  T_PIDS+=("$pid")
  eval "RECV_PID_$name=$pid"
  for _ in $(seq 1 100); do
    [ -s "$T_DIR/$name.port" ] && break
    sleep 0.05
  done
  eval "RECV_URL_$name=http://127.0.0.1:$(cat "$T_DIR/$name.port")/hook"
  touch "$T_DIR/$name.jsonl"
}
receiver_stop() { # receiver_stop NAME
  local pid; eval "pid=\$RECV_PID_$1"
  kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
# requests NAME: how many requests the receiver has seen
requests() { wc -l <"$T_DIR/$1.jsonl" | tr -d ' '; }

# write_conf FILE URL [EXTRA...]: a config for this test's database and the
# shipped rules, one json receiver "office" with secret s3cret
write_conf() {
  local file=$1 url=$2; shift 2
  cat >"$file" <<CONF
database = { conninfo = "$CONNINFO"; };
rules_dir = "${RULES_DIR:-$QF_ROOT/rules}";
receivers = ( { name = "office"; format = "json"; url = "$url"; secret = "s3cret"; timeout = ${RECV_TIMEOUT:-2}; } );
delivery = { once_deadline = ${ONCE_DEADLINE:-10}; backoff_initial = 0.2; backoff_max = 1.0; lease_margin = 1; };
metrics = { listen = "127.0.0.1:0"; };
$*
CONF
}

# run_once CONF: qingfengd --once, output kept in $T_DIR/once.log; returns its status
run_once() {
  "$QFD" -c "$1" --once >>"$T_DIR/once.log" 2>&1
}

# perl with only core modules (JSON::PP, Digest::SHA) reads the receiver log
jsonl() { # jsonl NAME PERL-EXPR-ON-$r (one line per request)
  perl -CO -MJSON::PP -ne 'my $r = JSON::PP->new->utf8->decode($_); '"$2"' ' "$T_DIR/$1.jsonl"
}

# only_rules ID...: a params block disabling every shipped rule but these,
# for tests about one rule's path end to end
only_rules() {
  local keep=" $* " id out="params = {"
  for id in $(grep -ho 'id = "[A-Z][0-9]*"' "$QF_ROOT"/rules/*.conf | cut -d'"' -f2); do
    case "$keep" in *" $id "*) ;; *) out="$out $id = { enabled = false; };" ;; esac
  done
  printf '%s };\n' "$out"
}
