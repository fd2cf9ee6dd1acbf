#!/bin/bash
# Chat receivers against a local emulation of each vendor's API (which
# checks the vendor's signature, byte and rate limits and answers with its
# real codes): delivered in each format; a burst is merged into digests
# within DingTalk's 20 messages a minute, every finding in a delivered
# message; a configuration error goes dead at once, secrets kept out.
. "$(dirname "$0")/../lib.sh"

chat_conf() { # FILE FORMAT URL [SECRET] [EXTRA]
  local sec=""; [ -n "${4:-}" ] && sec="secret = \"$4\";"
  cat >"$1" <<CONF
database = { conninfo = "$CONNINFO"; };
rules_dir = "$QF_ROOT/rules";
receivers = ( { name = "jw"; format = "$2"; url = "$3"; $sec timeout = 2;
                mentions = { red = [ "13800000001" ]; orange = [ "13800000002" ]; }; } );
delivery = { once_deadline = ${ONCE_DEADLINE:-10}; backoff_initial = 0.2; backoff_max = 1.0; lease_margin = 1; ${5:-} };
$(only_rules F09)
CONF
}
risky() { # N: N payments F09 flags
  sql "$DB" "INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by)
             SELECT 'C-' || g, '财务处', 100 + g, 'P' || g, 'P' || g, 'X' FROM generate_series(1, $1) g"
}
# finding ids named in the delivered (vendor code 0 / ok) messages
ids_in() { jsonl "$1" 'use utf8; next unless defined $r->{vendor_code} && $r->{vendor_code} =~ /^(0|ok)$/; my $b = $r->{body};
                        while ($b =~ /(?:\x{3011}#|finding id[^0-9]{0,6})(\d+)/g) { print "$1\n" }' | sort -un; }

declare -A URLPATH=([dingtalk]="/robot/send?access_token=tok123" [wecom]="/cgi-bin/webhook/send?key=key123"
                    [feishu]="/open-apis/bot/v2/hook/tok123" [slack]="/services/T0/B0/x123")
declare -A SECRET=([dingtalk]="SECdingtalk0123456789" [wecom]="" [feishu]="feishusecret01" [slack]="")
for f in dingtalk wecom feishu slack; do
  new_db "$f"
  receiver_start "$f" --emulate "$f" ${SECRET[$f]:+-s "${SECRET[$f]}"}
  port=$(cat "$T_DIR/$f.port")
  chat_conf "$T_DIR/$f.conf" "$f" "http://127.0.0.1:$port${URLPATH[$f]}" "${SECRET[$f]}"
  risky 1
  run_once "$T_DIR/$f.conf"; is "$?" 0 "$f: --once exits 0"
  is "$(sql "$DB" "SELECT state || ' ' || attempts FROM qf.alert")" "delivered 1" "$f: the alert is delivered at the first attempt"
  want_code=0; [ $f = slack ] && want_code=ok
  is "$(jsonl "$f" 'print "$r->{vendor_code}\n"')" "$want_code" "$f: the emulated API accepted it (signature, size)"
  is "$(ids_in "$f")" "$(sql "$DB" "SELECT id FROM qf.finding")" "$f: the message names the finding"
  like "$(jsonl "$f" 'print $r->{body}')" "F09" "$f: and its rule"
done

# --- 100 findings at once to DingTalk: merged into digests, within 20 a minute, none missing
new_db burst
receiver_start ding --emulate dingtalk -s SECdingtalk0123456789
port=$(cat "$T_DIR/ding.port")
chat_conf "$T_DIR/burst.conf" dingtalk "http://127.0.0.1:$port/robot/send?access_token=tok" SECdingtalk0123456789
risky 100
run_once "$T_DIR/burst.conf"; is "$?" 0 "100 findings: --once exits 0"
n=$(requests ding)
ok $([ "$n" -ge 1 ] && [ "$n" -le 20 ] && echo 0 || echo 1) "$n request(s) within the minute: at most 20"
is "$(jsonl ding 'print "$r->{vendor_code}\n"' | sort -u)" 0 "the API accepted every one (no 130101 too fast, no size error)"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = 'delivered'")" 100 "all 100 alerts delivered"
is "$(ids_in ding | wc -l)" 100 "every finding appears in a delivered message"
is "$(ids_in ding | tr '\n' ' ')" "$(sql "$DB" "SELECT string_agg(id::text, ' ' ORDER BY id) FROM qf.finding") " "exactly the findings' ids"

# --- the limiter itself: one alert per message, 20 messages, then it waits (the API never says too fast)
new_db limit
receiver_start ding2 --emulate dingtalk -s SECdingtalk0123456789
port=$(cat "$T_DIR/ding2.port")
ONCE_DEADLINE=6 chat_conf "$T_DIR/limit.conf" dingtalk "http://127.0.0.1:$port/robot/send?access_token=tok" SECdingtalk0123456789 "max_in_flight = 1;"
risky 30
run_once "$T_DIR/limit.conf"; is "$?" 0 "30 findings one per message: --once exits 0"
is "$(requests ding2)" 20 "exactly 20 messages were sent within the minute"
is "$(jsonl ding2 'print "$r->{vendor_code}\n"' | sort -u)" 0 "none was refused as too fast"
is "$(sql "$DB" "SELECT count(*) FILTER (WHERE state = 'delivered') || '/' || count(*) FILTER (WHERE state = 'pending') FROM qf.alert")" "20/10" \
   "20 delivered, 10 pending for the next minute"

# --- a wrong signing secret: dead at once, a clear last_error, no secret in it
new_db badsign
receiver_start ding3 --emulate dingtalk -s SECtherightsecret000
port=$(cat "$T_DIR/ding3.port")
chat_conf "$T_DIR/bad.conf" dingtalk "http://127.0.0.1:$port/robot/send?access_token=tokSECRET42" SECthewrongsecret111
risky 1
: >"$T_DIR/once.log"
run_once "$T_DIR/bad.conf"
is "$(sql "$DB" "SELECT state || ' ' || attempts FROM qf.alert")" "dead 1" "a rejected signature goes dead after one try"
like "$(sql "$DB" "SELECT last_error FROM qf.alert")" "310000" "last_error names the vendor's code"
like "$(cat "$T_DIR/once.log")" "gave up .*310000.*check the receiver's configuration" "and the log says so loudly"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE last_error LIKE '%SECthewrong%' OR last_error LIKE '%tokSECRET42%'")" 0 "no secret in last_error"
is "$(grep -c -e SECthewrong -e tokSECRET42 "$T_DIR/once.log")" 0 "nor in the log"

done_testing
