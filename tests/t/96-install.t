#!/bin/bash
# make install honours PREFIX and DESTDIR: binaries, migrations, rules,
# man pages, the unit (paths rewritten), the default configuration 0640
# (never overwritten), and an installed qfctl finds its migrations.
. "$(dirname "$0")/../lib.sh"

root=$T_DIR/root
make -s -C "$QF_ROOT" install DESTDIR="$root" PREFIX=/opt/qf SYSCONFDIR=/etc >"$T_DIR/make.log" 2>&1; st=$?
is "$st" 0 "make install DESTDIR=… PREFIX=/opt/qf exits 0"
[ "$st" = 0 ] || tail -20 "$T_DIR/make.log" | sed 's/^/# /'
for f in opt/qf/bin/qingfengd opt/qf/bin/qfctl opt/qf/bin/qfweb opt/qf/share/man/man8/qfweb.8 \
         opt/qf/lib/systemd/system/qingfeng-web.service opt/qf/share/qingfeng/sql/001_records.sql \
         opt/qf/share/qingfeng/rules/financial.conf opt/qf/share/man/man8/qingfengd.8 opt/qf/share/man/man1/qfctl.1 \
         opt/qf/share/man/man5/qingfeng.conf.5 opt/qf/share/man/man5/qingfeng-rules.5 \
         opt/qf/lib/systemd/system/qingfeng.service etc/qingfeng/qingfeng.conf etc/qingfeng/rules.d/technical.conf; do
  [ -e "$root/$f" ]; ok $? "installed /$f"
done
is "$(stat -c %a "$root/etc/qingfeng/qingfeng.conf")" 640 "the configuration is 0640"
is "$(grep -c '/opt/qf/bin/qingfengd' "$root/opt/qf/lib/systemd/system/qingfeng.service")" 2 "the unit runs the installed binary (ExecStartPre, ExecStart)"
is "$(grep -c '/opt/qf/bin/qfweb' "$root/opt/qf/lib/systemd/system/qingfeng-web.service")" 2 "the console's unit runs the installed qfweb (ExecStartPre, ExecStart)"
"$root/opt/qf/bin/qfweb" -h >/dev/null; ok $? "the installed qfweb runs"
echo "# admin edit" >>"$root/etc/qingfeng/qingfeng.conf"
make -s -C "$QF_ROOT" install DESTDIR="$root" PREFIX=/opt/qf SYSCONFDIR=/etc >/dev/null 2>&1
like "$(tail -1 "$root/etc/qingfeng/qingfeng.conf")" "admin edit" "a second install keeps the administrator's configuration"
# the installed qfctl looks for migrations under PREFIX: with DESTDIR they are not there yet
out=$("$root/opt/qf/bin/qfctl" -d "host=$PGHOST dbname=postgres" migrate 2>&1); st=$?
like "$out" "/opt/qf/share/qingfeng/sql" "the installed qfctl reads migrations from PREFIX/share/qingfeng/sql"
done_testing
