#!/bin/bash
# Record text with quotes, backslashes, newlines, control characters, emoji
# and CJK yields valid JSON whose decoded values equal the database's, and
# the signature verifies by the documented scheme, recomputed here
# independently (Perl's core Digest::SHA), not by the daemon's own code.
. "$(dirname "$0")/../lib.sh"

new_db json
receiver_start rcv -s s3cret
write_conf "$T_DIR/qf.conf" "$RECV_URL_rcv"

# E'' strings: \x01 and \x1f are control characters, \u escapes give emoji and CJK
sql "$DB" "INSERT INTO records.payment (payment_id, vendor_id, department, amount, invoice_no, created_by, approved_by, paid_by) VALUES
 (E'PAY-\"q\"', E'V \"quoted\" back\\\\slash', E'化学室\n第二行', 12345678901.23, E'tab\there\x01ctl\x1fend', E'P\u00e9\U0001F600', E'P\u00e9\U0001F600', 'P2'),
 ('PAY-2', E'</script><script>alert(1)</script> @all <@U123> [link](http://evil.example)', '中文部门', 0.01, E'\u202Eevil', '检验员', '检验员', 'P2')"

run_once "$T_DIR/qf.conf"; is "$?" 0 "--once exits 0"
is "$(requests rcv)" 2 "two alerts arrive"
is "$(jsonl rcv 'print(($r->{json_ok} ? 1 : 0), ($r->{body_utf8} // 1) ? 1 : 0, "\n")' | sort -u)" 11 "every body is valid JSON and valid UTF-8"

# decoded values equal the database's bytes exactly
for col in payment_id vendor_id invoice_no created_by; do
  want=$(sql "$DB" "SELECT string_agg(encode(convert_to($col, 'UTF8'), 'hex'), ' ' ORDER BY payment_id) FROM records.payment")
  got=$(jsonl rcv 'my $b = JSON::PP->new->decode($r->{body}); my $v = $b->{finding}{evidence}{'"$col"'};
                   utf8::encode($v); print $b->{finding}{evidence}{payment_id}, "\t", unpack("H*", $v), "\n"' | sort | cut -f2 | tr '\n' ' ')
  is "$got" "$want " "evidence.$col round-trips byte for byte"
done
is "$(jsonl rcv 'my $b = JSON::PP->new->decode($r->{body}); my $d = $b->{finding}{department}; utf8::encode($d); print unpack("H*", $d), "\n"' | LC_ALL=C sort | tr '\n' ' ')" \
   "$(sql "$DB" "SELECT string_agg(h, ' ' ORDER BY h COLLATE \"C\") FROM (SELECT encode(convert_to(department, 'UTF8'), 'hex') h FROM records.payment) x") " "finding.department (CJK, newline) round-trips byte for byte"
like "$(jsonl rcv 'print $r->{body}, "\n"' | grep -o '"amount": *[0-9.]*' | sort | tr '\n' ' ')" '"amount": ?0.01 "amount": ?12345678901.23' \
   "amounts keep their exact decimal digits on the wire"
is "$(jsonl rcv 'my $b = JSON::PP->new->decode($r->{body}); my $m = $b->{finding}{message}; print(($m =~ /V "quoted" back\\slash/) ? "ok\n" : "bad: $m\n") if $b->{finding}{evidence}{payment_id} =~ /q/')" \
   ok "the message quotes the record text intact"

# the signature, recomputed independently: v1 = hex HMAC-SHA256(secret, "<t>." + raw body)
res=$(jsonl rcv '
  use Digest::SHA qw(hmac_sha256_hex);
  my ($t, $v1) = $r->{signature} =~ /^t=(\d+),v1=([0-9a-f]{64})$/ or do { print "malformed: $r->{signature}\n"; next };
  my $body = $r->{body}; utf8::encode($body);
  my $want = hmac_sha256_hex("$t.$body", "s3cret");
  print $want eq $v1 ? "ok" : "mismatch", (abs(time - $t) < 300 ? " fresh" : " stale"), "\n";')
is "$(printf '%s\n' "$res" | sort -u)" "ok fresh" "every signature verifies by the documented scheme, with a current timestamp"
# and a different secret does not verify
res=$(jsonl rcv '
  use Digest::SHA qw(hmac_sha256_hex);
  my ($t, $v1) = $r->{signature} =~ /^t=(\d+),v1=([0-9a-f]{64})$/;
  my $body = $r->{body}; utf8::encode($body);
  print hmac_sha256_hex("$t.$body", "s3cret!") eq $v1 ? "verifies\n" : "rejects\n";')
is "$(printf '%s\n' "$res" | sort -u)" rejects "a wrong secret does not verify"

# a receiver without a secret gets no signature header
new_db nosig
receiver_start plain
write_conf "$T_DIR/plain.conf" "$RECV_URL_plain"
sed -i 's/secret = "s3cret"; //' "$T_DIR/plain.conf"
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by) VALUES ('PAY-9', 'P1', 'P1')"
run_once "$T_DIR/plain.conf"
is "$(jsonl plain 'print defined $r->{signature} ? "signed\n" : "unsigned\n"')" unsigned "no secret, no X-Qingfeng-Signature"

# detail = "minimal": no names, no evidence, no message
new_db minimal
receiver_start min
write_conf "$T_DIR/min.conf" "$RECV_URL_min"
sed -i 's/timeout = /detail = "minimal"; timeout = /' "$T_DIR/min.conf"
sql "$DB" "INSERT INTO records.payment (payment_id, department, created_by, approved_by) VALUES ('PAY-M', '财务处', '王五', '王五')"
run_once "$T_DIR/min.conf"
is "$(jsonl min 'my $f = JSON::PP->new->decode($r->{body})->{finding}; print join(",", sort keys %$f), "\n"')" \
   "department,duty,first_seen,hit_count,id,last_seen,level,risk,rule_id,status,supervision,title" "minimal detail: only the finding's id, rule, level, department and dimensions"
is "$(grep -c -e '王五' -e 'PAY-M' "$T_DIR/min.jsonl")" 0 "no name or record key on the wire"

done_testing
