#!/bin/bash
# systemd Type=notify, through a real NOTIFY_SOCKET listener: READY within
# 1 s of start, RELOADING (with MONOTONIC_USEC) then READY on SIGHUP,
# WATCHDOG at half of WATCHDOG_USEC, STOPPING and exit 0 on SIGTERM.
. "$(dirname "$0")/../lib.sh"

new_db notify
receiver_start rcv
write_conf "$T_DIR/q.conf" "$RECV_URL_rcv" "$(only_rules F09)"
sock=$T_DIR/notify.sock
notify_listen "$sock" "$T_DIR/notify.log"

start=$(perl -MTime::HiRes=time -e 'printf "%.3f", time')
NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000 "$QFD" -c "$T_DIR/q.conf" 2>"$T_DIR/daemon.log" &
dpid=$!
for _ in $(seq 1 40); do grep -q "READY=1" "$T_DIR/notify.log" 2>/dev/null && break; sleep 0.05; done
ready=$(grep -m1 "READY=1" "$T_DIR/notify.log" | cut -d' ' -f1)
ok $(perl -e 'exit(($ARGV[1] ne "" && $ARGV[1] - $ARGV[0] <= 1.0) ? 0 : 1)' "$start" "$ready"; echo $?) \
   "READY=1 within 1 s of start ($(perl -e 'printf "%.0f ms", ($ARGV[1] - $ARGV[0]) * 1000' "$start" "${ready:-0}"))"
like "$(grep -m1 "READY=1" "$T_DIR/notify.log")" "STATUS=41 rule\(s\), 1 receiver\(s\)" "with a one-line STATUS"

sleep 2.2
n=$(awk -v s="$ready" '$2 ~ /WATCHDOG=1/ && $1 > s && $1 <= s + 2.0' "$T_DIR/notify.log" | wc -l)
ok $([ "$n" -ge 7 ] && [ "$n" -le 12 ] && echo 0 || echo 1) "WATCHDOG=1 every 0.2 s for WATCHDOG_USEC=0.4 s: $n in 2 s"

: >"$T_DIR/before-hup"; lines=$(wc -l <"$T_DIR/notify.log")
kill -HUP $dpid
for _ in $(seq 1 40); do tail -n +$((lines + 1)) "$T_DIR/notify.log" | grep -q "READY=1" && break; sleep 0.05; done
after=$(tail -n +$((lines + 1)) "$T_DIR/notify.log" | grep -v 'WATCHDOG=1$' | cut -d' ' -f2- | tr '\n' ' ')
like "$after" "^RELOADING=1\|MONOTONIC_USEC=[0-9]+ READY=1" "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1"

lines=$(wc -l <"$T_DIR/notify.log")
# deliveries answered just before SIGTERM: recorded at the stop, not left
# leased (the loop records answers together, up to 50 ms after the first)
sql "$DB" "INSERT INTO records.payment (payment_id, created_by, approved_by)
           SELECT 'N' || g, 'PN' || g, 'PN' || g FROM generate_series(1, 20) g"
wait_for 10 '[ "$(requests rcv)" -ge 20 ]'; sleep 0.01
kill -TERM $dpid; wait $dpid; st=$?
is "$(sql "$DB" "SELECT count(*) FILTER (WHERE state = 'delivered') || ' ' || count(*) FILTER (WHERE claimed_by IS NOT NULL) FROM qf.alert")" \
   "20 0" "the 20 alerts answered as it stopped are recorded delivered, none left claimed"
is "$st" 0 "SIGTERM: exit 0"
like "$(tail -n +$((lines + 1)) "$T_DIR/notify.log")" "STOPPING=1" "after STOPPING=1"
done_testing
