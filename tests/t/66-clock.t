#!/bin/bash
# --clock sets the rules' clock (what they read as :now) and lets it run on:
# a replay of past records, or a demo, judged as if they were arriving then.
. "$(dirname "$0")/../lib.sh"

new_db clock
receiver_start rcv -s s3cret
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules D09)"
# D09: a key post held more than 5 years. 4½ years today; 5½ a year from now.
sql "$DB" "INSERT INTO records.person (person_id, department, key_post, post_since)
           VALUES ('K1', '财务处', true, current_date - interval '4 years 6 months')"
run_once "$T_DIR/q.conf"; is "$?" 0 "--once at the real time exits 0"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding")" 0 "at the real time nothing is flagged"

"$QFD" -c "$T_DIR/q.conf" --once --clock "not a time" >"$T_DIR/bad.log" 2>&1; st=$?
is "$st" 64 "a --clock that is not a time: usage error (64)"
like "$(cat "$T_DIR/bad.log")" "--clock: 'not a time' is not a time" "and says so"

later=$(TZ=Asia/Shanghai date -d '+1 year' +%F)
# a clock-driven rule that just ran waits evaluation.clock_interval for its
# next full run: forget that it ran, as a fresh replay would start
sql "$DB" "DELETE FROM qf.cursor WHERE name LIKE 'rule:%'"
"$QFD" -c "$T_DIR/q.conf" --clock "$later 09:30" 2>"$T_DIR/daemon.log" & d=$!
T_PIDS+=("$d")
for _ in $(seq 1 100); do [ "$(sql "$DB" "SELECT count(*) FROM qf.finding")" = 1 ] && break; sleep 0.1; done
is "$(sql "$DB" "SELECT rule_id || ' ' || dedupe_key FROM qf.finding")" "D09 K1" \
   "the daemon with --clock a year ahead flags the post held 5½ years by then"
like "$(cat "$T_DIR/daemon.log")" "the rules' clock starts at $later 09:30 \(Asia/Shanghai\)" "and says which clock it runs"
kill -TERM $d; wait $d; is "$?" 0 "it exits 0"

# an explicit offset is honoured: 23:30 on the day before in UTC is 07:30 in Shanghai
sql "$DB" "DELETE FROM qf.alert; DELETE FROM qf.finding_event; DELETE FROM qf.finding; DELETE FROM qf.cursor WHERE name LIKE 'rule:%'" 2>/dev/null
before=$(TZ=UTC date -d "$later -1 day" +%F)
"$QFD" -c "$T_DIR/q.conf" --once --clock "${before}T23:30:00Z" >"$T_DIR/once2.log" 2>&1; st=$?
is "$st" 0 "--once --clock with a UTC time exits 0"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE rule_id = 'D09'")" 1 "and judges as of that instant"
done_testing
