#!/bin/bash
# valgrind-clean: the non-sanitized build, checked, evaluated and delivered
# under memcheck; any error or definite leak fails.
. "$(dirname "$0")/../lib.sh"

PLAIN=${QF_PLAIN_BUILD:-$QF_ROOT/build}
if ! command -v valgrind >/dev/null || [ ! -x "$PLAIN/qingfengd" ]; then
  echo "1..0 # SKIP needs valgrind and the plain build ($PLAIN)"
  exit 0
fi
vg() { valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite "$@"; }

new_db vg
receiver_start rcv -s s3cret -r 500,200
write_conf "$T_DIR/qf.conf" "$RECV_URL_rcv"
sql "$DB" "INSERT INTO records.payment (payment_id, vendor_id, amount, created_by, approved_by, paid_by)
           VALUES ('PAY-V1', E'\"q\" 中文 😀', 10.00, 'P1', 'P1', 'P2'), ('PAY-V2', 'V', 1, 'P1', 'P2', 'P2')"

vg "$PLAIN/qingfengd" -c "$T_DIR/qf.conf" -n >/dev/null 2>"$T_DIR/vg-n.log"; st=$?
is "$st" 0 "qingfengd -n under valgrind: clean"; [ "$st" = 0 ] || sed 's/^/# /' "$T_DIR/vg-n.log"

vg "$PLAIN/qingfengd" -c "$T_DIR/qf.conf" --once 2>"$T_DIR/vg-once.log"; st=$?
is "$st" 0 "qingfengd --once (evaluate, 500, retry, deliver) under valgrind: clean"
[ "$st" = 0 ] || grep '^==' "$T_DIR/vg-once.log" | head -40 | sed 's/^/# /'
is "$(sql "$DB" "SELECT count(*) FROM qf.alert WHERE state = 'delivered'")" 2 "and it did the work"

cp "$QF_ROOT/tests/conf/bad-config/14-unknown-receiver-key.conf" "$T_DIR/bad.conf"
sed -i "s|@RULES@|$QF_ROOT/rules|" "$T_DIR/bad.conf"
vg "$PLAIN/qingfengd" -c "$T_DIR/bad.conf" -n 2>"$T_DIR/vg-bad.log"; st=$?
is "$st" 78 "a rejected config under valgrind: exit 78, no error"

vg "$PLAIN/qfctl" -d "$CONNINFO" migrate >/dev/null 2>"$T_DIR/vg-m.log"; st=$?
is "$st" 0 "qfctl migrate under valgrind: clean"

done_testing
