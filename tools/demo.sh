#!/bin/bash
# `make demo`: runs inside tools/pgtmp.sh (a throwaway cluster).
#
#  1. a database, the migrations, and the institute's reference data from
#     the records generator (bench/gen.c, build/qf-gen) with planted risk
#     points and their ground truth;
#  2. the local receiver (loopback, verifying each alert's signature) and
#     qingfengd, whose first pass finds the standing risk points;
#  3. the activity records (LIMS, ERP, disciplinary) arrive while the
#     daemon runs, in many small commits in their own time order, slowly at
#     first, then faster (demo/feed.pl); alerts appear as they are raised;
#  4. once every record is evaluated and every alert delivered, the daemon
#     stops (SIGTERM); a summary by the 423 dimensions and the top rules;
#  5. the self-check: findings against the generator's ground truth, recall
#     and precision, and every alert delivered, received and signed;
#  6. the disposal loop (DISPOSAL.md): the discipline office's people sign
#     for findings, give feedback and close them (four eyes), and a pass a
#     fortnight later (--clock) finds the ones now late: findings at every
#     stage, some overdue, for qfctl report and the console's dashboard.
#  7. the web console (qfweb), started with the daemon: its address and the
#     demo logins are printed; from a terminal the demo then waits (Ctrl-C
#     ends it) so that a newcomer can open it and work an alert through the
#     loop (sign, feedback, another person closes).
#
# Exits non-zero unless recall and precision are both 1.00 and every alert
# arrived with a valid signature. Knobs: DEMO_SCALE (rows, default 20000),
# DEMO_SEED (1), DEMO_RATE (plant rate, 0.01), DEMO_PACE (pauses between
# commits: 1 is watchable, 0 none), DEMO_DB (database name, qf_demo),
# DEMO_CLOCK (the rules' clock at the start, 2026-11-25 09:00), DEMO_HOLD
# (1: keep the console open at the end; default when run from a terminal).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${QF_BUILD:-$ROOT/build}
SCALE=${DEMO_SCALE:-20000}
SEED=${DEMO_SEED:-1}
RATE=${DEMO_RATE:-0.01}
PACE=${DEMO_PACE:-1}
DB=${DEMO_DB:-qf_demo}
SECRET=demo-secret
work=$(mktemp -d /tmp/qf-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  BOLD=$'\e[1m' RED=$'\e[1;31m' GREEN=$'\e[1;32m' OFF=$'\e[0m' color=--color
else
  BOLD='' RED='' GREEN='' OFF='' color=--no-color
fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
val() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
fail() {
  printf '%sdemo: FAILED: %s%s\n' "$RED" "$*" "$OFF" >&2
  [ -s "$work/daemon.log" ] && tail -20 "$work/daemon.log" | sed 's/^/  daemon: /' >&2
  exit 1
}
# waits up to $1 seconds for the SQL condition $2 to be true
wait_for() {
  local limit=$1 cond=$2 t=0
  until [ "$(val "SELECT ($cond)::int")" = 1 ]; do
    sleep 0.2
    t=$((t + 1))
    [ $t -lt $((limit * 5)) ] || return 1
  done
}
# the outbox is drained: every alert delivered (or given up)
drained="NOT EXISTS (SELECT 1 FROM qf.alert WHERE state = 'pending')"

# F05 (Benford's law) looks at vendors with min_n payments in a year, 300 by
# default. The demo's institute is small: the generator picks a min_n that no
# clean vendor reaches and plants F05 for it (--benford-min-n auto); the
# daemon gets the same min_n (params in the configuration below).
gen=("$B/qf-gen" --scale "$SCALE" --seed "$SEED" --plant-rate "$RATE" --benford-min-n auto)

say "1. 数据库 database: a throwaway PostgreSQL at $PGHOST, the migrations, the institute's reference data"
dropdb --if-exists "$DB" >/dev/null 2>&1
createdb "$DB"
applied=$("$B/qfctl" -d "host=$PGHOST port=${PGPORT:-5432} dbname=$DB" migrate) || fail "qfctl migrate failed"
echo "schema: $(grep -c '^applied' <<<"$applied") migrations applied ($(sed -n 's/^applied //p' <<<"$applied" | tr '\n' ' ' | sed 's/ $//'))"
"${gen[@]}" --part reference --truth >"$work/reference.sql" || fail "qf-gen failed"
BENFORD=$(sed -n 's/^-- qf-gen: F05 min_n \([0-9]*\) .*/\1/p' "$work/reference.sql")
[ -n "$BENFORD" ] || fail "qf-gen did not say which min_n it planted F05 for"
q -f "$work/reference.sql" >/dev/null
val "SELECT format('loaded: %s persons, %s relatives, %s counterparties, %s conflict-of-interest declarations, '
                   '%s duty records of leaders, %s leave records, %s instruments, %s signatory authorisations, '
                   '%s test methods, %s calendar exceptions, %s accreditation records, %s withdrawn standards, '
                   '%s published fees, %s impartiality declarations',
         (SELECT count(*) FROM records.person), (SELECT count(*) FROM records.relative),
         (SELECT count(*) FROM records.counterparty), (SELECT count(*) FROM records.coi_declaration),
         (SELECT count(*) FROM records.duty_record), (SELECT count(*) FROM records.leave),
         (SELECT count(*) FROM records.equipment), (SELECT count(*) FROM records.signatory),
         (SELECT count(*) FROM records.method_norm), (SELECT count(*) FROM records.workday),
         (SELECT count(*) FROM records.accreditation), (SELECT count(*) FROM records.standard_status),
         (SELECT count(*) FROM records.fee_schedule), (SELECT count(*) FROM records.impartiality_declaration))"
# the ground truth stays out of the daemon's sight, in schema public
q -c "CREATE TABLE public.demo_truth AS SELECT DISTINCT rule_id, dedupe_key FROM public.bench_truth;
      DROP TABLE public.bench_truth"
packed=$(grep -ho '^ *id = "[A-Z][0-9]*"' "$ROOT"/rules/*.conf | wc -l)
echo "ground truth: $(val "SELECT count(*) FROM demo_truth") planted risk points over $(val "SELECT count(DISTINCT rule_id) FROM demo_truth") of the $packed rules (${gen[*]#"$B/"})"
echo "(a small institute: F05, Benford's law, looks at vendors with $BENFORD payments or more in a year, instead of 300)"
# The generated records end on 2026-11-24, and the rules with time windows
# or deadlines (D01, D04, D06-D10, T11) flag exactly the planted points on a clock
# between 2026-11-25 and 2026-12-31: the daemon's rules run on a clock set
# to the morning after (qingfengd --clock), whatever the date today.
CLOCK=${DEMO_CLOCK:-2026-11-25 09:00}
echo "the rules' clock: $CLOCK (Asia/Shanghai), the morning after the last generated record; it runs on from there"

# the discipline office's people (DISPOSAL.md): two departments' liaisons,
# the office, and the supervisor who closes (qf_admin); each logs in as
# their own role, password "demo" (a throwaway cluster)
DEPT1=$(val "SELECT department FROM records.person WHERE department IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
DEPT2=$(val "SELECT department FROM records.person WHERE department IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 OFFSET 1 LIMIT 1")
q -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_liaison1') THEN CREATE ROLE demo_liaison1 LOGIN PASSWORD 'demo' IN ROLE qf_auditor; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_liaison2') THEN CREATE ROLE demo_liaison2 LOGIN PASSWORD 'demo' IN ROLE qf_auditor; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_office') THEN CREATE ROLE demo_office LOGIN PASSWORD 'demo' IN ROLE qf_auditor; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_jiwei') THEN CREATE ROLE demo_jiwei LOGIN PASSWORD 'demo' IN ROLE qf_admin; END IF;
END \$\$" >/dev/null
q -c "INSERT INTO qf.auditor_scope (role_name, department, supervision) VALUES
        ('demo_liaison1', '$DEPT1', NULL), ('demo_liaison2', '$DEPT2', NULL),
        ('demo_office', NULL, NULL), ('demo_office', NULL, 'disciplinary')" >/dev/null
# The console refuses a login that pg_hba.conf lets in without asking for
# the password (qfweb(8)): the throwaway cluster trusts its socket, so the
# demo's people get a line of their own there, SCRAM; everyone else keeps
# trust. Against a server of one's own (no tools/pgtmp.sh), its pg_hba.conf
# is the operator's to set.
demo_roles=demo_liaison1,demo_liaison2,demo_office,demo_jiwei
demo_hba=0
if [ -n "${QF_PGDATA:-}" ] && [ -n "${QF_PGCTL:-}" ]; then
  if ! grep -qx "local all $demo_roles scram-sha-256" "$QF_PGDATA/pg_hba.conf"; then
    { echo "local all $demo_roles scram-sha-256"; cat "$QF_PGDATA/pg_hba.conf"; } >"$work/hba"
    # shellcheck disable=SC2086 # QF_PGRUNAS is a command and its arguments, or nothing
    if ! { ${QF_PGRUNAS:-} tee "$QF_PGDATA/pg_hba.conf" <"$work/hba" >/dev/null &&
           ${QF_PGRUNAS:-} "$QF_PGCTL" -D "$QF_PGDATA" reload >/dev/null; }; then
      fail "cannot give the demo's people SCRAM in pg_hba.conf"
    fi
  fi
  # the reload is the server's to take in: until it has, a login without
  # the password would still pass
  for _ in $(seq 1 50); do
    PGPASSWORD='' PGPASSFILE=/dev/null psql -X -w -At -d "$DB" -U demo_office -c 'SELECT 1' >/dev/null 2>&1 || break
    sleep 0.1
  done
  demo_hba=1
fi

# The console (qfweb) on a free port of the loopback, for the people above,
# who log in with their password, checked by the server (SCRAM).
console_start() {
  "$B/qfweb" -c "$work/qingfeng.conf" -l 127.0.0.1:0 --port-file "$work/web.port" 2>"$work/web.log" &
  pids+=("$!")
  for _ in $(seq 1 100); do [ -s "$work/web.port" ] && break; sleep 0.05; done
  [ -s "$work/web.port" ] || fail "the console (qfweb) did not start"
  WEB="http://127.0.0.1:$(cat "$work/web.port")"
  console_banner
  console_check
}
# a login with the password "demo" and one with another: the server checks
# it (the first logs in, and out again; the second is refused)
console_check() {
  local got
  got=$(perl -MHTTP::Tiny -e '
    my ($web, $user) = @ARGV;
    my $h = HTTP::Tiny->new(max_redirect => 0, timeout => 10);
    my $in = $h->post_form("$web/login", { user => $user, password => "demo" });
    my ($cookie) = ($in->{headers}{"set-cookie"} // "") =~ /^(qfweb=[0-9a-f]+)/;
    if ($cookie) { # out again: the session holds a connection
      my $page = $h->get("$web/findings", { headers => { Cookie => $cookie } });
      my ($csrf) = $page->{content} =~ /name="csrf" value="([0-9a-f]{64})"/;
      $h->post_form("$web/logout", { csrf => $csrf // "" }, { headers => { Cookie => $cookie } });
    }
    my $wrong = $h->post_form("$web/login", { user => $user, password => "not-demo" });
    print "$in->{status} $wrong->{status}\n";
  ' "$WEB" demo_office)
  if [ "$got" = "303 401" ]; then
    echo "  (the server checks the password: demo_office logs in with \"demo\", a wrong password is refused)"
  elif [ "$demo_hba" = 1 ]; then
    fail "the console's logins: demo_office with \"demo\" and with a wrong password gave $got, not 303 401"
  else
    echo "  note: the console's logins gave $got (not 303 401): the console refuses roles that pg_hba.conf lets in" \
         "without a password; give $demo_roles scram-sha-256 lines there (qfweb(8))"
  fi
}
console_banner() {
  echo "${BOLD}控制台 console: $WEB/findings${OFF}  (qfweb; over SSH: ssh -L $(cat "$work/web.port"):127.0.0.1:$(cat "$work/web.port") this-host)"
  echo "  登录 log in, password demo: demo_office (owns most findings: 签收 sign for, 反馈 give feedback),"
  echo "  demo_jiwei (the supervisor, qf_admin: 办结 closes what another reported, four eyes),"
  echo "  demo_liaison1 / demo_liaison2 (one department each)"
}

say "2. 接收端 receiver and 守护进程 qingfengd: a local webhook on 127.0.0.1 verifying HMAC signatures"
"$B/qf-receiver" -q -P -s "$SECRET" -p "$work/port" -o "$work/alerts.jsonl" &
pids+=("$!")
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || fail "the receiver did not start"
cat >"$work/qingfeng.conf" <<CONF
database = { conninfo = "host=$PGHOST port=${PGPORT:-5432} dbname=$DB"; };
rules_dir = "$ROOT/rules";
evaluation = { interval = 1; };
delivery = { backoff_initial = 0.2; backoff_max = 2.0; };
metrics = { listen = "127.0.0.1:0"; };   # any free port: the demo must not collide with a running qingfengd
params = { F05 = { min_n = $BENFORD; }; }; # the institute's size: see --benford-min-n in tools/demo.sh
# the disposal loop: who owns a new finding (the two largest departments
# have their own discipline liaison, the office takes the rest)
disposal = { owners = ( { department = "$DEPT1"; role = "demo_liaison1"; },
                        { department = "$DEPT2"; role = "demo_liaison2"; },
                        { role = "demo_office"; } ); };
receivers = (
  { name = "jiwei"; format = "json"; url = "http://127.0.0.1:$(cat "$work/port")/hook"; secret = "$SECRET"; }
);
CONF
"$B/qingfengd" -c "$work/qingfeng.conf" -n
nrules=$("$B/qfctl" -c "$work/qingfeng.conf" rules list | wc -l)
echo "the daemon's first pass over the reference data: the standing risk points (leaders' duties, key posts, relatives, vendors)"
"$B/qingfengd" -c "$work/qingfeng.conf" --clock "$CLOCK" 2>"$work/daemon.log" &
dpid=$!
pids+=("$dpid")
wait_for 60 "(SELECT count(*) FROM qf.cursor WHERE name LIKE 'rule:%') >= $nrules AND $drained" ||
  fail "the daemon's first pass did not finish within 60 s"

console_start

"${gen[@]}" --part activity --stream >"$work/stream.sql" || fail "qf-gen failed"
say "3. 新记录 records arrive while the daemon runs: $(sed -n 's/^-- qf-gen stream: //p' "$work/stream.sql"), each its own commit"
perl "$ROOT/demo/feed.pl" --pace "$PACE" $color "$DB" "$work/stream.sql" || fail "the records could not be committed"
# every change evaluated (each rule's cursor is past the last one), every alert sent
last=$(val "SELECT coalesce(max(xid)::text, '0') FROM qf.change_log")
wait_for 180 "(SELECT min(position) FROM qf.cursor WHERE name LIKE 'rule:%') > $last AND $drained" ||
  fail "the daemon did not catch up with the records within 180 s"
echo "all records evaluated and every alert sent; stopping qingfengd (SIGTERM)"
kill -TERM "$dpid"
wait "$dpid" || fail "qingfengd exited with status $?"

say "4. 汇总 summary: findings by the 423 dimensions (三个监督 × 两大风险 × 四个到位 × 等级)"
q -c "SELECT CASE WHEN grouping(supervision, risk, duty) > 0 THEN '合计 total'
                  ELSE CASE supervision WHEN 'technical' THEN '技术监督 technical' WHEN 'financial' THEN '财务监督 financial'
                  WHEN 'disciplinary' THEN '纪律监督 disciplinary' ELSE supervision END END AS \"监督 supervision\",
             CASE risk WHEN 'technical' THEN '技术风险 technical' WHEN 'non-technical' THEN '非技术风险 non-technical'
                  ELSE risk END AS \"风险 risk\",
             CASE duty WHEN 'primary' THEN '主体责任 primary' WHEN 'supervisory' THEN '监督责任 supervisory'
                  WHEN 'dual-duty' THEN '一岗双责 dual-duty' WHEN 'impartiality' THEN '检验公正性 impartiality'
                  ELSE duty END AS \"责任 duty\",
             count(*) FILTER (WHERE level = 'red') AS \"红 red\",
             count(*) FILTER (WHERE level = 'orange') AS \"橙 orange\",
             count(*) FILTER (WHERE level = 'yellow') AS \"黄 yellow\",
             count(*) AS \"合计 total\"
        FROM qf.finding
       GROUP BY ROLLUP ((supervision, risk, duty))
       ORDER BY grouping(supervision, risk, duty), array_position(ARRAY['technical', 'financial', 'disciplinary'], supervision),
                risk, duty"
q -c "SELECT rule_id AS \"规则 rule\", min(title) AS \"名称 title\", count(*) AS \"风险点 findings\",
             count(*) FILTER (WHERE level = 'red') AS \"红 red\", count(*) FILTER (WHERE level = 'orange') AS \"橙 orange\",
             count(*) FILTER (WHERE level = 'yellow') AS \"黄 yellow\", count(DISTINCT department) AS \"部门 departments\"
        FROM qf.finding GROUP BY rule_id ORDER BY count(*) DESC, rule_id LIMIT 10"

say "5. 自检 self-check: the findings against the generator's ground truth"
perl -MJSON::PP -ne 'my $r = eval { JSON::PP->new->utf8->decode($_) } or next;
  next unless defined $r->{idempotency_key} && $r->{idempotency_key} =~ /^\d+$/;
  print "$r->{idempotency_key}\t", ($r->{sig_ok} ? "t" : "f"), "\n"' "$work/alerts.jsonl" >"$work/received.tsv"
q -c "CREATE TABLE public.demo_received (alert_id bigint, sig_ok boolean)"
q -c "\\copy public.demo_received FROM '$work/received.tsv'"
read -r tp fp fn rules <<<"$(val "
  SELECT count(*) FILTER (WHERE t.rule_id IS NOT NULL AND f.rule_id IS NOT NULL),
         count(*) FILTER (WHERE t.rule_id IS NULL), count(*) FILTER (WHERE f.rule_id IS NULL),
         count(DISTINCT t.rule_id)
    FROM (SELECT rule_id, dedupe_key FROM qf.finding) f
    FULL JOIN demo_truth t USING (rule_id, dedupe_key)" | tr '|' ' ')"
# two decimals, truncated: 1.00 only when nothing is missed or extra
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a + b) ? int(100 * a / (a + b) + 1e-9) / 100 : 1 }'; }
recall=$(ratio "$tp" "$fn")
precision=$(ratio "$tp" "$fp")
echo "planted $((tp + fn)) risk points over $rules rules, found $((tp + fp)): recall $recall, precision $precision"
q -At -c "SELECT '  missed ' || t.rule_id || ' ' || t.dedupe_key FROM demo_truth t
           WHERE NOT EXISTS (SELECT 1 FROM qf.finding f WHERE f.rule_id = t.rule_id AND f.dedupe_key = t.dedupe_key)
           UNION ALL
          SELECT '  extra  ' || f.rule_id || ' ' || f.dedupe_key || ' (finding ' || f.id || ')' FROM qf.finding f
           WHERE NOT EXISTS (SELECT 1 FROM demo_truth t WHERE t.rule_id = f.rule_id AND t.dedupe_key = f.dedupe_key)
           ORDER BY 1"
read -r alerts delivered received signed unalerted <<<"$(val "
  SELECT (SELECT count(*) FROM qf.alert), (SELECT count(*) FROM qf.alert WHERE state = 'delivered'),
         (SELECT count(*) FROM qf.alert a WHERE EXISTS (SELECT 1 FROM demo_received r WHERE r.alert_id = a.id)),
         (SELECT count(*) FROM qf.alert a WHERE EXISTS (SELECT 1 FROM demo_received r WHERE r.alert_id = a.id AND r.sig_ok)),
         (SELECT count(*) FROM qf.finding f
           WHERE NOT EXISTS (SELECT 1 FROM qf.alert a WHERE a.finding_id = f.id AND a.event = 'finding.new'))" | tr '|' ' ')"
echo "alerts: $alerts raised ($(val "SELECT count(*) FROM qf.alert WHERE event = 'finding.new'") new findings, the rest re-triggered), $delivered delivered, $received received, $signed with a valid signature"
ok=1
[ "$fn" = 0 ] && [ "$fp" = 0 ] || ok=0
[ "$unalerted" = 0 ] || { echo "  $unalerted finding(s) without an alert"; ok=0; }
[ "$delivered" = "$alerts" ] && [ "$received" = "$alerts" ] && [ "$signed" = "$alerts" ] || ok=0
if [ $ok = 1 ]; then
  echo "${GREEN}签名 signatures: ✓ all $signed verified; demo: OK${OFF}"
else
  fail "the findings or the alerts do not match the planted risk points"
fi

say "6. 处置 the disposal loop: signed for, checked, reported, closed by another role; a fortnight later, what is late"
# each person acts as their own role (qf.finding_* check role, stage and
# four eyes, and write the chain event): a part of each owner's findings
# signed for, a part of those reported on, a part of those closed by the
# supervisor, a few handed over; the rest stay open
as() { local who=$1; shift; PGPASSWORD=demo psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -U "$who" -c "$*" >/dev/null; }
for who in demo_liaison1 demo_liaison2 demo_office; do
  as "$who" "SELECT qf.finding_ack(id, '已签收，核查中 signed, checking') FROM qf.finding
              WHERE owner = '$who' AND status = 'open' AND id % 5 <> 0 ORDER BY id"
  as "$who" "SELECT qf.finding_feedback(id, (ARRAY['substantiated', 'partly', 'unfounded', 'substantiated'])[id % 4 + 1],
                                        (ARRAY['talk', 'rectify', 'none', 'criticism'])[id % 4 + 1],
                                        '核查情况 what the check found: see the attached records')
               FROM qf.finding WHERE owner = '$who' AND status = 'acknowledged' AND id % 5 IN (1, 2, 3) ORDER BY id"
done
as demo_jiwei "SELECT qf.finding_close(id, '同意办结 agreed') FROM qf.finding WHERE status = 'reported' AND id % 5 IN (1, 2) ORDER BY id"
as demo_jiwei "SELECT qf.finding_assign(id, 'demo_office', '转办纪委办公室 handed to the office') FROM qf.finding
                WHERE status IN ('open', 'acknowledged') AND owner <> 'demo_office' AND id % 7 = 0 ORDER BY id"
LATER=${DEMO_LATER:-2026-12-09 15:00}
echo "a pass on $LATER: the clock work finds the findings not signed or closed in time (督办)"
"$B/qingfengd" -c "$work/qingfeng.conf" --once --clock "$LATER" >>"$work/daemon.log" 2>&1 || fail "the later pass failed"
q -c "SELECT CASE status WHEN 'open' THEN '待签收 open' WHEN 'acknowledged' THEN '核查中 acknowledged'
                         WHEN 'reported' THEN '已反馈 reported' WHEN 'resolved' THEN '办结(属实) resolved'
                         ELSE '办结(不属实) dismissed' END AS \"阶段 stage\",
             count(*) AS \"风险点 findings\", count(*) FILTER (WHERE light = 'red') AS \"逾期 overdue (red light)\"
        FROM qf.v_findings GROUP BY status ORDER BY array_position(ARRAY['open', 'acknowledged', 'reported', 'resolved', 'dismissed'], status)"
read -r stages overdue_now events <<<"$(val "SELECT (SELECT count(DISTINCT status) FROM qf.finding), (SELECT count(*) FROM qf.v_findings_overdue),
                                                    (SELECT count(*) FROM qf.finding_event WHERE action = 'overdue')" | tr '|' ' ')"
echo "disposal: findings at $stages of the 5 stages, $overdue_now overdue now ($events overdue event(s) and alerts); qfctl report and the console show the measures"
[ "$stages" = 5 ] && [ "$overdue_now" -gt 0 ] || fail "the disposal data does not cover every stage with some overdue"
"$B/qfctl" -d "host=$PGHOST port=${PGPORT:-5432} dbname=$DB" audit verify || fail "the history chain does not verify"
echo "logins (password demo): demo_liaison1 ($DEPT1), demo_liaison2 ($DEPT2), demo_office (the rest), demo_jiwei (supervisor, qf_admin)"

say "7. 控制台 console: the findings, their stages and the dashboard in a browser"
console_banner
if [ "${DEMO_HOLD:-$([ -t 0 ] && [ -t 1 ] && echo 1 || echo 0)}" = 1 ]; then
  echo "the console stays open (the database too) until Ctrl-C"
  trap 'echo; exit 0' INT
  while kill -0 "${pids[-1]}" 2>/dev/null; do sleep 1; done
fi
