#!/bin/bash
# Auditors: qfctl findings list (filters, table / json / csv --excel),
# findings show, and audit verify / head over the hash-chained history,
# against real tampering by a superuser.
. "$(dirname "$0")/../lib.sh"

setup() { # DB-NAME: findings from F09 and F03, with awkward text
  new_db "$1"
  ONCE_DEADLINE=1 write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09 F03)"
  sql "$DB" "INSERT INTO records.person (person_id, name, department) VALUES ('张三', '张三', '化学室'), ('Bob', 'Bob', 'Lab 2');
    INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by) VALUES
     ('P1', '财务处,\"二科\"
第二行', 48000.00, '张三', '张三', 'X'),
     ('P2', 'Lab 2', 100.00, 'Bob', 'Bob', 'X'),
     ('P3', '化学室', 48500.00, 'C', 'D', 'E')"
  run_once "$T_DIR/q.conf"
}
qf() { "$QFCTL" -c "$T_DIR/q.conf" "$@"; }

setup aud
is "$(qf findings list --format json | perl -MJSON::PP -0ne 'my $a = JSON::PP->new->utf8->decode($_); print scalar(@$a)')" \
   "$(sql "$DB" "SELECT count(*) FROM qf.finding")" "json: one element per finding"
bad=$(qf findings list --format json | perl -MJSON::PP -0ne 'my $a = JSON::PP->new->utf8->decode($_);
  for my $f (@$a) { my @m = grep { !exists $f->{$_} } qw(id rule_id title level supervision risk duty subject department status first_seen last_seen hit_count evidence);
                    print "$f->{id}: @m\n" if @m; print "$f->{id}: evidence\n" unless ref $f->{evidence} eq "HASH" }')
is "$bad" "" "json: every element has the contract's fields, evidence an object"
like "$(qf findings list --format json)" '"amount": 48000.00' "json: amounts keep their digits"
is "$(qf findings list --rule F03 --format json | perl -MJSON::PP -0ne 'print join(",", sort map { $_->{evidence}{payment_id} } @{JSON::PP->new->utf8->decode($_)})')" \
   "P1,P3" "--rule F03"
is "$(qf findings list --person 张三 --format json | perl -MJSON::PP -0ne 'print join(",", sort map { "$_->{rule_id}" } @{JSON::PP->new->utf8->decode($_)})')" \
   "F03,F09" "--person 张三 (creator of P1 for F09, approver for F03)"
is "$(qf findings list --department 'Lab 2' --level orange --status open --format json | perl -MJSON::PP -0ne 'print scalar @{JSON::PP->new->utf8->decode($_)}')" \
   1 "--department --level --status together"
is "$(qf findings list --since 2099-01-01 --format json)" "[]" "--since in the future: nothing"

# csv: RFC 4180, --excel adds the BOM, round-trips
qf findings list --format csv --excel >"$T_DIR/f.csv"
is "$(head -c 3 "$T_DIR/f.csv" | od -An -tx1 | tr -d ' ')" efbbbf "--excel starts with the UTF-8 BOM"
got=$(perl -0ne 's/^\xEF\xBB\xBF//; my @rows; my @f; my $v = "";
  while (length) {
    if (s/^"((?:[^"]|"")*)"//) { ($v = $1) =~ s/""/"/g } elsif (s/^([^,\r\n]*)//) { $v = $1 }
    push @f, $v;
    if (s/^,//) { next } s/^\r\n//; push @rows, [@f]; @f = ();
  }
  for my $r (@rows) { print "$r->[0]|$r->[4]|", scalar(@$r), "\n" if $r->[3] eq "F09" and $r->[4] =~ /二科/ }' "$T_DIR/f.csv")
is "$got" "$(sql "$DB" "SELECT id FROM qf.finding WHERE rule_id = 'F09' AND dedupe_key = 'P1'")|财务处,\"二科\"
第二行|24" "csv round-trips a field with a comma, quotes and a line break, 24 columns (amount, table, key, message, evidence, then the disposal's six)"

# table: columns line up in display width with Chinese text (wcwidth; checked here with Perl's East Asian Width)
qf findings list >"$T_DIR/table.txt"
widths=$(perl -CSA -Mutf8 -ne 'chomp; my ($prefix) = /^(.*?)(?:TITLE|制单审批同一人|临界审批额)/ or next;
  my $w = 0; $w += (/\p{EA=W}|\p{EA=F}/ ? 2 : 1) for split //, $prefix;
  print "$w\n"' "$T_DIR/table.txt" | sort -u | wc -l)
is "$widths" 1 "every row of the table puts the last column at the same display column"
like "$(cat "$T_DIR/table.txt")" "制单审批同一人" "with the Chinese titles"

# the same table against a reviewed golden file (times pinned)
sql "$DB" "UPDATE qf.finding SET first_seen = '2026-03-02 10:00+08', last_seen = '2026-03-02 10:00+08', owner = 'jw_office',
                  sign_due = '2099-03-03 10:00+08', close_due = '2099-03-16 10:00+08'"
[ -n "${QF_GOLDEN_UPDATE:-}" ] && qf findings list >"$QF_ROOT/tests/golden/findings-table.txt"
if diff -u "$QF_ROOT/tests/golden/findings-table.txt" <(qf findings list) >"$T_DIR/table.diff"; then ok 0 "findings list matches tests/golden/findings-table.txt"
else ok 1 "findings list matches tests/golden/findings-table.txt"; sed 's/^/# /' "$T_DIR/table.diff"; fi

out=$(qf findings show "$(sql "$DB" "SELECT id FROM qf.finding WHERE rule_id = 'F09' AND dedupe_key = 'P1'")")
like "$out" "付款 P1" "show: the message"
like "$out" '"payment_id": "P1"' "show: the evidence"
like "$out" "created" "show: the history"

# audit verify / head
out=$(qf audit verify); st=$?
is "$st" 0 "audit verify: an untouched chain verifies"
# 4 findings' events and the --once's settings (sql/021, sql/022) and rule set
n=$(sql "$DB" "SELECT count(*) FROM qf.finding_event")
[ "$n" -ge 6 ]; ok $? "the chain holds the findings' events and the control events ($n)"
like "$out" "intact: $n event" "and says how long it is"
like "$(qf audit head)" "^seq $n hash [0-9a-f]{64}" "audit head prints the chain head"

# a changed event
sql "$DB" "UPDATE qf.finding_event SET note = 'nothing to see' WHERE seq = 2"
out=$(qf audit verify); st=$?
is "$st" 1 "an edited event: exit 1"
like "$out" "BROKEN at seq 2, event id [0-9]+: its content does not match its hash" "names the first broken event"
# a deleted event
setup del
sql "$DB" "ALTER TABLE qf.alert DROP CONSTRAINT alert_event_id_fkey; DELETE FROM qf.finding_event WHERE seq = 2"
out=$(qf audit verify); st=$?
is "$st" 1 "a deleted event: exit 1"
like "$out" "BROKEN at seq 3" "names the event after the gap"
# reordered events
setup reo
sql "$DB" "UPDATE qf.finding_event SET seq = -seq WHERE seq IN (1, 2); UPDATE qf.finding_event SET seq = CASE seq WHEN -1 THEN 2 ELSE 1 END WHERE seq < 0"
out=$(qf audit verify); st=$?
is "$st" 1 "swapped events: exit 1"
like "$out" "BROKEN at seq 1" "names the first of them"
# the last event deleted: only the head can tell
setup last
sql "$DB" "ALTER TABLE qf.alert DROP CONSTRAINT alert_event_id_fkey; DELETE FROM qf.finding_event WHERE seq = (SELECT max(seq) FROM qf.finding_event)"
out=$(qf audit verify); st=$?
is "$st" 1 "the last event deleted: exit 1"
like "$out" "chain head \(seq $n\) does not match the last event" "the head gives it away"
done_testing
