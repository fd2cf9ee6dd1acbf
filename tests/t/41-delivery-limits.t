#!/bin/bash
# What receivers send back, and how much we send them (issue 19): a
# token in the receiver's URL that its answer echoes (a proxy's 404 page)
# reaches neither the log, nor last_error, nor qfctl; a 200 KB record
# field gives a body within each format's limit, the cut marked; and an
# HTTP 413 gets the minimal form at once rather than a dead alert.
. "$(dirname "$0")/../lib.sh"

pay() { # ID [INVOICE_NO SQL] [VENDOR_ID SQL]: a payment F09 flags
  sql "$DB" "INSERT INTO records.payment (payment_id, vendor_id, department, amount, invoice_no, created_by, approved_by, paid_by)
             VALUES ('$1', ${3:-'V1'}, '财务处', 100.00, ${2:-'INV-1'}, 'P1', 'P1', 'P2')"
}
qf() { "$QFCTL" -c "$1" alerts list 2>&1; }

# --- a proxy's 404 page echoes the request line, tokens and all
new_db echo
receiver_start proxy -r 404 -E
# a path token, and a query value as configured (%2F), as the page
# re-encodes it and as it decodes it ("q/k9Tok3nQ")
write_conf "$T_DIR/echo.conf" "$RECV_URL_proxy/pathTok3n9x?key=q%2Fk9Tok3nQ&v=1" "$(only_rules F09)"
pay E1
: >"$T_DIR/once.log"
run_once "$T_DIR/echo.conf"
like "$(sql "$DB" "SELECT state || ' ' || last_error FROM qf.alert")" \
  '^dead HTTP 404: no route for /hook/\*{11}\?key=\*{12}&v=1 \(key: \*{10}, v: 1\)' \
  "json: last_error quotes the page with the path token and the key starred, in both spellings"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE last_error LIKE '%Tok3n%'")" 0 "json: no token in qf.alert.last_error"
is "$(grep -c Tok3n "$T_DIR/once.log")" 0 "json: no token in the daemon's log"
out=$(qf "$T_DIR/echo.conf")
ok $(printf '%s' "$out" | grep -q 'office.*\*\*\*' && ! printf '%s' "$out" | grep -q Tok3n; echo $?) \
  "json: qfctl alerts shows the starred error, no token"

# the same through a chat format (slack quotes the answer's text)
new_db echochat
receiver_start slackproxy -r 404 -E
port=$(cat "$T_DIR/slackproxy.port")
cat >"$T_DIR/echochat.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
rules_dir = "$QF_ROOT/rules";
receivers = ( { name = "chat"; format = "slack"; url = "http://127.0.0.1:$port/services/TQFTEST/BQFTEST/slackhooksecret"; timeout = 2; } );
delivery = { once_deadline = 10; backoff_initial = 0.2; backoff_max = 1.0; lease_margin = 1; };
$(only_rules F09)
CONF
pay E2
: >"$T_DIR/once.log"
run_once "$T_DIR/echochat.conf"
like "$(sql "$DB" "SELECT state || ' ' || last_error FROM qf.alert")" '^dead slack HTTP 404: no route for /services/\*+/\*+/\*+' \
  "slack: last_error quotes the page with the webhook path starred"
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE last_error ~ 'QFTEST|slackhooksecret'")" 0 "slack: no token in last_error"
is "$(grep -c -e QFTEST -e slackhooksecret "$T_DIR/once.log")" 0 "slack: no token in the daemon's log"
out=$(qf "$T_DIR/echochat.conf")
ok $(printf '%s' "$out" | grep -q 'chat.*\*\*\*' && ! printf '%s' "$out" | grep -q -e QFTEST -e slackhooksecret; echo $?) \
  "slack: qfctl alerts shows the starred error, no token"

# --- a 200 KB record field, in every format: within the limit, the cut marked
big="repeat('发票', 33334)" # 200,004 bytes of invoice number, in the evidence only
chat_conf() { # FILE FORMAT URL [SECRET]
  local sec=""; [ -n "${4:-}" ] && sec="secret = \"$4\";"
  cat >"$1" <<CONF
database = { conninfo = "$CONNINFO"; };
rules_dir = "$QF_ROOT/rules";
receivers = ( { name = "jw"; format = "$2"; url = "$3"; $sec timeout = 2; } );
delivery = { once_deadline = 10; backoff_initial = 0.2; backoff_max = 1.0; lease_margin = 1; };
$(only_rules F09)
CONF
}
new_db bigjson
receiver_start bigjson -s s3cret
write_conf "$T_DIR/bigjson.conf" "$RECV_URL_bigjson" "$(only_rules F09)"
pay B1 "$big"
run_once "$T_DIR/bigjson.conf"
is "$(sql "$DB" "SELECT state FROM qf.alert")|$(jsonl bigjson 'use utf8; my $b = JSON::PP->new->decode($r->{body}); my $v = $b->{finding}{evidence}{invoice_no};
      print $r->{body_bytes} <= 65536 ? "within" : "over: $r->{body_bytes}", " ", $r->{sig_ok} ? "signed" : "unsigned", " ",
            ($v =~ /^(?:发票)+发?…\[cut \d+ bytes\]$/ && length($v) < 1000) ? "marked" : "unmarked", "\n"')" \
   "delivered|within signed marked" \
   "json: a 200 KB field is delivered in a body within 65536 bytes, signed, the value cut and marked"
declare -A URLPATH=([dingtalk]="/robot/send?access_token=tok123" [wecom]="/cgi-bin/webhook/send?key=key123"
                    [feishu]="/open-apis/bot/v2/hook/tok123" [slack]="/services/T0/B0/x123")
declare -A SECRET=([dingtalk]="SECdingtalk0123456789" [wecom]="" [feishu]="feishusecret01" [slack]="")
declare -A LIMIT=([dingtalk]=20000 [wecom]=4096 [feishu]=20000 [slack]=40000)
# the bytes the vendor's limit applies to (wecom: markdown.content) and the text shown
measure='my $d = JSON::PP->new->decode($r->{body}); my $t = $d->{markdown}{text} // $d->{markdown}{content} // $d->{text}
           // $d->{card}{elements}[0]{content}; my $n = $d->{msgtype} && $d->{msgtype} eq "markdown" && !exists $d->{markdown}{text}
           ? do { my $c = $d->{markdown}{content}; utf8::encode($c); length $c } : $r->{body_bytes};'
for f in dingtalk wecom feishu slack; do
  new_db "big$f"
  receiver_start "big$f" --emulate "$f" ${SECRET[$f]:+-s "${SECRET[$f]}"}
  port=$(cat "$T_DIR/big$f.port")
  chat_conf "$T_DIR/big$f.conf" "$f" "http://127.0.0.1:$port${URLPATH[$f]}" "${SECRET[$f]}"
  pay "B-$f" "$big"
  run_once "$T_DIR/big$f.conf"
  is "$(sql "$DB" "SELECT state FROM qf.alert")|$(jsonl "big$f" "use utf8; $measure"'
        print $n <= '"${LIMIT[$f]}"' ? "within" : "over: $n", " ", $r->{vendor_code}, " ",
              $t =~ /invoice_no=(?:发票)+发?…［cut \d+ bytes］/ ? "marked" : "unmarked", "\n"')" \
     "delivered|within $([ $f = slack ] && echo ok || echo 0) marked" \
     "$f: a 200 KB field is delivered within ${LIMIT[$f]} bytes, the vendor accepts it, the value cut and marked"
done

# --- HTTP 413: the minimal form, at once
minimal_keys="department,duty,first_seen,hit_count,id,last_seen,level,risk,rule_id,status,supervision,title"
new_db small
receiver_start small -s s3cret -m 1500
write_conf "$T_DIR/small.conf" "$RECV_URL_small" "$(only_rules F09)"
pay S1 "repeat('x', 10000)"
: >"$T_DIR/once.log"
run_once "$T_DIR/small.conf"
is "$(sql "$DB" "SELECT state || ' ' || attempts || ' ' || last_status FROM qf.alert")|$(jsonl small 'print $r->{status}, " "')" \
   "delivered 1 200|413 200 " "json: 413 for the full body, then the minimal one delivered, in the same attempt"
is "$(jsonl small 'next unless $r->{status} == 200; my $b = JSON::PP->new->decode($r->{body});
        print join(",", sort keys %{$b->{finding}}), $r->{sig_ok} ? " signed" : " unsigned", " ", $r->{idempotency_key}, "\n"')" \
   "$minimal_keys signed $(sql "$DB" "SELECT id FROM qf.alert")" "json: it carries only the minimal finding, signed, with the same Idempotency-Key"
like "$(tr '\n' ' ' <"$T_DIR/once.log")" "refused [0-9]+ bytes \(HTTP 413.*sending the minimal form .*delivered to office .*in the minimal form, after HTTP 413" \
   "json: the log says what happened"

new_db tiny
receiver_start tiny -m 100
write_conf "$T_DIR/tiny.conf" "$RECV_URL_tiny" "$(only_rules F09)"
pay T1
run_once "$T_DIR/tiny.conf"
is "$(sql "$DB" "SELECT state || ' ' || attempts || ' ' || last_status FROM qf.alert")|$(requests tiny)" "dead 1 413|2" \
   "json: 413 for the minimal form too: dead after exactly two requests"
like "$(sql "$DB" "SELECT last_error FROM qf.alert")" '^HTTP 413: .*\(the minimal form, after HTTP 413 for the full one of [0-9]+ bytes\)$' \
   "json: last_error says both were refused"

new_db smallchat
receiver_start smallding --emulate dingtalk -s SECdingtalk0123456789 -m 3000
port=$(cat "$T_DIR/smallding.port")
chat_conf "$T_DIR/smallchat.conf" dingtalk "http://127.0.0.1:$port/robot/send?access_token=tok123" SECdingtalk0123456789
pay D1 "'INV-1'" "repeat('供应商', 1000)"
run_once "$T_DIR/smallchat.conf"
is "$(sql "$DB" "SELECT state || ' ' || attempts FROM qf.alert")|$(jsonl smallding 'print $r->{status}, "/", $r->{vendor_code} // "-", " "')" \
   "delivered 1|413/- 200/0 " "dingtalk: 413 for the full message, the minimal one accepted (signature checked)"
is "$(jsonl smallding 'next unless $r->{status} == 200; my $t = JSON::PP->new->decode($r->{body})->{markdown}{text};
        print $t =~ /finding id/ && $t !~ /供应商|说明 message|证据 evidence|subject/ ? "minimal\n" : "full: $t\n"')" \
   minimal "dingtalk: it is the minimal form"

done_testing
