#!/bin/bash
# Delivery: at least once, with a stable Idempotency-Key, through receiver
# failures, timeouts and a daemon killed with SIGKILL.
. "$(dirname "$0")/../lib.sh"

risky_payment() { # DB ID: a payment F09 flags
  sql "$1" "INSERT INTO records.payment (payment_id, vendor_id, department, amount, created_by, approved_by, paid_by)
            VALUES ('$2', 'V1', '财务处', 100.00, 'P1', 'P1', 'P2')"
}

# --- 500, then 200: retried within the pass, same key, delivered
new_db retry
receiver_start flaky -s s3cret -r 500,200
write_conf "$T_DIR/retry.conf" "$RECV_URL_flaky"
risky_payment "$DB" PAY-1
run_once "$T_DIR/retry.conf"; is "$?" 0 "--once exits 0 after a 500"
is "$(requests flaky)" 2 "the receiver got the alert twice"
is "$(jsonl flaky 'print "$r->{status} $r->{idempotency_key}\n"' | tr '\n' ';')" \
   "500 $(sql "$DB" "SELECT id FROM qf.alert");200 $(sql "$DB" "SELECT id FROM qf.alert");" "first answered 500, then 200, same Idempotency-Key"
is "$(sql "$DB" "SELECT state || ' ' || attempts || ' ' || last_status || ' ' || coalesce(last_error, '-') FROM qf.alert")" "delivered 2 200 -" "the alert ends delivered after 2 attempts"

# --- a receiver that never answers: pending with last_error; a later run delivers
new_db hang
receiver_start silent -r hang
RECV_TIMEOUT=1 ONCE_DEADLINE=3 write_conf "$T_DIR/hang.conf" "$RECV_URL_silent"
risky_payment "$DB" PAY-2
start=$(date +%s)
run_once "$T_DIR/hang.conf"; is "$?" 0 "--once exits 0 when the receiver never answers"
elapsed=$(( $(date +%s) - start ))
ok $(( elapsed <= 8 ? 0 : 1 )) "the pass ends at its deadline (${elapsed}s)"
is "$(sql "$DB" "SELECT state FROM qf.alert")" pending "the alert stays pending"
like "$(sql "$DB" "SELECT last_error FROM qf.alert")" "[Tt]imeout|deadline" "last_error says why"
like "$(sql "$DB" "SELECT attempts FROM qf.alert")" "^[1-9]" "the attempts are counted"
ok $([ "$(requests silent)" -ge 1 ] && echo 0 || echo 1) "the silent receiver was tried"
receiver_start good -s s3cret
write_conf "$T_DIR/hang2.conf" "$RECV_URL_good"
run_once "$T_DIR/hang2.conf"; is "$?" 0 "a later --once exits 0"
is "$(sql "$DB" "SELECT state || ' ' || coalesce(last_error, '-') FROM qf.alert")" "delivered -" "the later run delivers it and clears last_error"
is "$(jsonl good 'print "$r->{idempotency_key}\n"')" "$(sql "$DB" "SELECT id FROM qf.alert")" "with the same Idempotency-Key"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding")" 1 "still one finding"

# --- 404 is not retried: dead at once, with the status in last_error
new_db dead
receiver_start gone -r 404
write_conf "$T_DIR/dead.conf" "$RECV_URL_gone"
risky_payment "$DB" PAY-3
run_once "$T_DIR/dead.conf"
is "$(sql "$DB" "SELECT state || ' ' || attempts || ' ' || last_status FROM qf.alert")" "dead 1 404" "a 404 goes dead after one try"
like "$(sql "$DB" "SELECT last_error FROM qf.alert")" "^HTTP 404" "last_error names the answer"
is "$(requests gone)" 1 "no retry of a 404"

# --- Retry-After is honoured over the (much shorter) backoff
new_db retryafter
receiver_start busy -r '429~3,200'
write_conf "$T_DIR/ra.conf" "$RECV_URL_busy"
risky_payment "$DB" PAY-RA
: >"$T_DIR/once.log"
start=$(date +%s%N)
run_once "$T_DIR/ra.conf"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(sql "$DB" "SELECT state || ' ' || attempts FROM qf.alert")" "delivered 2" "429 then 200: delivered at the second attempt"
ok $(( ms >= 3000 ? 0 : 1 )) "the retry waited for Retry-After: 3 s (pass took ${ms} ms; backoff alone is 0.2 s)"
like "$(cat "$T_DIR/once.log")" "retry in 3\.[0-9] s: HTTP 429" "and the log says so"

# --- a receiver that keeps failing: dead after max_attempts
new_db maxatt
receiver_start broken -r 500
write_conf "$T_DIR/ma.conf" "$RECV_URL_broken"
sed -i 's/delivery = {/delivery = { max_attempts = 3;/' "$T_DIR/ma.conf"
risky_payment "$DB" PAY-MA
: >"$T_DIR/once.log"
run_once "$T_DIR/ma.conf"
is "$(sql "$DB" "SELECT state || ' ' || attempts || ' ' || last_status FROM qf.alert")" "dead 3 500" "three 500s with max_attempts = 3: dead"
is "$(requests broken)" 3 "after exactly three requests"
like "$(cat "$T_DIR/once.log")" "gave up after 3 attempt\(s\).*max_attempts reached" "the log says why"

# --- a token in the URL never reaches last_error or the log
new_db secret
write_conf "$T_DIR/secret.conf" "http://127.0.0.1:9/hook?access_token=TOPSECRETTOKEN"
sed -i 's/once_deadline = [0-9]*/once_deadline = 2/' "$T_DIR/secret.conf"
risky_payment "$DB" PAY-4
: >"$T_DIR/once.log"
run_once "$T_DIR/secret.conf"
like "$(sql "$DB" "SELECT state || ' ' || last_error FROM qf.alert")" "^pending .*([Cc]onnect|refused)" "connection refused is retried"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE last_error LIKE '%TOPSECRET%' OR last_error LIKE '%s3cret%'")" 0 "last_error holds no secret"
is "$(grep -c -e TOPSECRET -e s3cret "$T_DIR/once.log")" 0 "the log holds no secret"

# --- outcomes recorded together: the alerts answered in one turn are marked
# delivered in one statement; one whose claim another daemon took (its lease
# ran out) while the request was in flight is left to that daemon, with a warning
new_db batch
receiver_start slowok -s s3cret -r 200@1500
write_conf "$T_DIR/batch.conf" "$RECV_URL_slowok"
for i in 1 2 3 4 5; do risky_payment "$DB" "PAY-B$i"; done
: >"$T_DIR/once.log"
run_once "$T_DIR/batch.conf" &
opid=$!
for _ in $(seq 1 100); do
  [ "$(requests slowok)" -ge 5 ] && break
  sleep 0.05
done
taken=$(sql "$DB" "UPDATE qf.alert SET claimed_by = 'other-daemon', claimed_until = now() + interval '1 hour' WHERE id = (SELECT min(id) FROM qf.alert) RETURNING id")
wait $opid; is "$?" 0 "--once exits 0"
is "$(requests slowok)" 5 "five requests in flight together"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = 'delivered' AND last_status = 200 AND claimed_by IS NULL")" 4 \
   "the four still ours are delivered, status recorded, claims released"
is "$(sql "$DB" "SELECT state || ' ' || claimed_by FROM qf.alert WHERE id = $taken")" "pending other-daemon" \
   "the one another daemon took is left to it"
like "$(cat "$T_DIR/once.log")" "alert $taken: delivered, but its claim had expired" "and the log names it"
is "$(grep -c 'claim had expired' "$T_DIR/once.log")" 1 "only that one"

# --- SIGKILL while the request is in flight: the lease expires, nothing is lost
new_db kill
receiver_start stuck -r hang
RECV_TIMEOUT=1 write_conf "$T_DIR/kill.conf" "$RECV_URL_stuck"
risky_payment "$DB" PAY-5
"$QFD" -c "$T_DIR/kill.conf" >>"$T_DIR/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do
  [ "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE claimed_by IS NOT NULL")" = 1 ] && [ "$(requests stuck)" -ge 1 ] && break
  sleep 0.05
done
kill -9 $dpid; wait $dpid 2>/dev/null
is "$(sql "$DB" "SELECT state || ' ' || (claimed_by IS NOT NULL)::text FROM qf.alert")" "pending true" "killed mid-request: alert pending and still claimed"
receiver_start after -s s3cret
write_conf "$T_DIR/kill2.conf" "$RECV_URL_after"
run_once "$T_DIR/kill2.conf"
is "$(sql "$DB" "SELECT state FROM qf.alert")" delivered "after the lease expires a new run delivers it"
is "$(jsonl after 'print "$r->{idempotency_key}\n"')" "$(sql "$DB" "SELECT id FROM qf.alert")" "with the same Idempotency-Key"

# --- SIGKILL at random moments while records arrive: every finding alerted, none duplicated
new_db chaos
receiver_start slow -s s3cret -r 200@150,500,200@50
write_conf "$T_DIR/chaos.conf" "$RECV_URL_slow" "evaluation = { interval = 1; };"
n=0
for round in 1 2 3 4 5 6; do
  for i in 1 2 3; do n=$((n + 1)); risky_payment "$DB" "PAY-K$n"; done
  "$QFD" -c "$T_DIR/chaos.conf" >>"$T_DIR/daemon.log" 2>&1 &
  dpid=$!
  sleep "0.$(( (RANDOM % 9) + 1 ))"
  kill -9 $dpid; wait $dpid 2>/dev/null
done
receiver_stop slow
receiver_start final -s s3cret
write_conf "$T_DIR/chaos2.conf" "$RECV_URL_final"
run_once "$T_DIR/chaos2.conf"; is "$?" 0 "a final --once after 6 kills exits 0"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding")" "$n" "one finding per risky record ($n)"
is "$(sql "$DB" "SELECT count(*) FROM (SELECT rule_id, dedupe_key FROM qf.finding GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 "no duplicate finding"
is "$(sql "$DB" "SELECT count(*) FROM qf.finding f WHERE NOT EXISTS (SELECT 1 FROM qf.alert a WHERE a.finding_id = f.id AND a.state = 'delivered')")" 0 \
   "every finding has a delivered alert"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert")" "$n" "exactly one alert per finding"
# every alert reached some receiver: the slow one before the kills or the final one
got=$(cat "$T_DIR/slow.jsonl" "$T_DIR/final.jsonl" | perl -MJSON::PP -ne 'my $r = JSON::PP->new->decode($_); print "$r->{idempotency_key}\n" if $r->{status} eq "200"' | sort -un | wc -l)
is "$got" "$n" "the receivers answered 200 to every alert id"

done_testing
