#!/bin/bash
# The systemd unit and the man pages: the unit verifies clean, is hardened
# to an exposure of 2.0 or less and has what the service needs (notify,
# watchdog, config check, reload); each man page renders without a
# warning, documents every setting the parsers accept, and its example
# configuration and rule files are accepted by `qingfengd -n`.
. "$(dirname "$0")/../lib.sh"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "1..0 # SKIP systemd-analyze not installed"
  exit 0
fi

UNIT=$QF_ROOT/systemd/qingfeng.service
MAN=$QF_ROOT/man
PAGES=(qingfengd.8 qfctl.1 qingfeng.conf.5 qingfeng-rules.5 qfweb.8)

# ---- the unit ----------------------------------------------------------

# `verify` checks that ExecStart=/ExecStartPre= binaries exist and that the
# Documentation= man pages resolve. The shipped unit names /usr/local/bin,
# where `make install` puts them, and this is not an installed system: a
# copy of the unit whose binaries are the ones just built (the only change:
# the /usr/local/bin/ prefix), and a MANPATH holding this tree's pages.
mkdir -p "$T_DIR/unit" "$T_DIR/man/man1" "$T_DIR/man/man5" "$T_DIR/man/man8"
sed "s|/usr/local/bin/|$QF_BUILD/|g" "$UNIT" >"$T_DIR/unit/qingfeng.service"
for p in "${PAGES[@]}"; do
  ln -s "$MAN/$p" "$T_DIR/man/man${p##*.}/$p"
done
is "$(diff "$UNIT" "$T_DIR/unit/qingfeng.service" | grep -c '^>')" \
   "$(grep -c '/usr/local/bin/' "$UNIT")" "the verified copy differs only in the binaries' directory"
out=$(cd "$T_DIR/unit" && MANPATH=$T_DIR/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify qingfeng.service 2>&1)
st=$?
# without a running systemd (containers), verify may say things about the
# host that have nothing to do with this unit: only lines about it count
mine=$(printf '%s\n' "$out" | grep -F 'qingfeng' || true)
others=$(printf '%s\n' "$out" | grep -vF 'qingfeng' | grep -c . || true)
[ "$others" -gt 0 ] && note "systemd-analyze verify also said $others line(s) not about the unit"
is "$mine" "" "systemd-analyze verify: nothing to say about qingfeng.service"
if [ -z "$mine" ] && [ "$others" -eq 0 ]; then is "$st" 0 "systemd-analyze verify exits 0"; fi

out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=true --no-pager "$UNIT" 2>&1)
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for qingfeng.service: \([0-9.]*\).*/\1/p')
note "exposure level: ${level:-none}"
like "$level" '^[0-9]+\.[0-9]$' "systemd-analyze security gives an overall exposure level"
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
  ok 0 "exposure level $level <= 2.0"
else
  ok 1 "exposure level ${level:-?} <= 2.0"
  printf '%s\n' "$out" | grep '✗' | sed 's/^/#   /'
fi
# the same, as systemd-analyze's own threshold (exposure x 10)
SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=true --threshold=20 --no-pager "$UNIT" >/dev/null 2>&1
ok $? "systemd-analyze security --threshold=20 passes"

# what the service needs: the keys of [Service], comments aside
svc=$(sed -n '/^\[Service\]/,/^\[/p' "$UNIT" | grep -v '^[#;]')
key() { printf '%s\n' "$svc" | sed -n "s/^$1=//p"; }
is "$(key Type)" "notify" "Type=notify"
like "$(key WatchdogSec)" '^[0-9]+(s|min)?$' "WatchdogSec is set"
like "$(key ExecStartPre)" '^/usr/local/bin/qingfengd( .*)? -n( |$)' "ExecStartPre checks the configuration with qingfengd -n"
like "$(key ExecStart)" '^/usr/local/bin/qingfengd( |$)' "ExecStart runs qingfengd from /usr/local/bin"
# shellcheck disable=SC2016 # $MAINPID is systemd's, not the shell's
like "$(key ExecReload)" 'kill -HUP \$MAINPID' "ExecReload sends SIGHUP"
like "$(key DynamicUser)$(key User)" '.' "runs as its own user"
is "$(key CapabilityBoundingSet)" "" "no capabilities"
is "$(key LimitCORE)" 0 "LimitCORE=0: no core dumps (the daemon holds receiver secrets)"
is "$(key RestrictAddressFamilies)" "AF_UNIX AF_INET AF_INET6" "unix sockets and IP only"
is "$(printf '%s\n' "$svc" | grep -c '^IPAddressDeny=')" 0 "no IP deny list: webhook receivers may be anywhere"

# ---- the console's unit (qingfeng-web.service) -------------------------

WUNIT=$QF_ROOT/systemd/qingfeng-web.service
sed "s|/usr/local/bin/|$QF_BUILD/|g" "$WUNIT" >"$T_DIR/unit/qingfeng-web.service"
out=$(cd "$T_DIR/unit" && MANPATH=$T_DIR/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify qingfeng-web.service 2>&1)
is "$(printf '%s\n' "$out" | grep -F 'qingfeng-web' || true)" "" "systemd-analyze verify: nothing to say about qingfeng-web.service"
out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=true --no-pager "$WUNIT" 2>&1)
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for qingfeng-web.service: \([0-9.]*\).*/\1/p')
note "qingfeng-web.service exposure level: ${level:-none}"
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
  ok 0 "qingfeng-web.service: exposure level $level <= 2.0"
else
  ok 1 "qingfeng-web.service: exposure level ${level:-?} <= 2.0"
  printf '%s\n' "$out" | grep '✗' | sed 's/^/#   /'
fi
wsvc=$(sed -n '/^\[Service\]/,/^\[/p' "$WUNIT" | grep -v '^[#;]')
wkey() { printf '%s\n' "$wsvc" | sed -n "s/^$1=//p"; }
is "$(wkey Type)" notify "qingfeng-web.service: Type=notify"
like "$(wkey ExecStartPre)" '^/usr/local/bin/qfweb -c /etc/qingfeng/qingfeng.conf -n$' "ExecStartPre checks the configuration with qfweb -n"
like "$(wkey ExecStart)" '^/usr/local/bin/qfweb -c ' "ExecStart runs qfweb"
is "$(wkey LimitCORE)" 0 "LimitCORE=0: no core dumps (a login's password is in memory)"
is "$(wkey CapabilityBoundingSet)" "" "no capabilities"
missing=""
for o in $(grep -o '{"[a-z-]*", [a-z_]*argument' "$QF_ROOT/daemon/qfweb.c" | cut -d'"' -f2); do
  grep -qF -- "\\-\\-$o" "$MAN/qfweb.8" || missing="$missing --$o"
done
for r in "POST /login" "POST /logout" "GET /findings" "GET /dashboard" "GET /export/findings.csv" "GET /export/report.html" "GET /healthz"; do
  grep -qF "$r" "$MAN/qfweb.8" || missing="$missing [$r]"
done
is "${missing# }" "" "qfweb(8) documents every option of qfweb.c and the routes"

# ---- the man pages -----------------------------------------------------

if ! command -v groff >/dev/null 2>&1 || ! command -v man >/dev/null 2>&1; then
  ok 1 "groff and man are installed (tools/deps.sh: groff-base, man-db)"
fi
for p in "${PAGES[@]}"; do
  f=$MAN/$p
  [ -f "$f" ]; ok $? "man/$p exists"
  # groff returns 0 even when it warns: the test is that it says nothing.
  # The pages are UTF-8 (Chinese terms): -k (preconv) and a UTF-8 device.
  is "$(groff -k -Tutf8 -man -ww -z "$f" 2>&1)" "" "$p: groff -man -ww is silent"
  is "$(man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)" "" "$p: man --warnings is silent"
  like "$(head -5 "$f")" "^\\.TH [A-Z.-]+ ${p##*.} " "$p: .TH names section ${p##*.}"
done

# names a page introduces as a setting: a word of a heading or of a bold
# (tag) line, alone or as group.name; prose mentions do not count
documented() { # documented PAGE NAME
  grep -Eq "^\\.(B|BR|BI|SS|TP) (.* )?\"?([a-z_]+\\.)?$2([ \".,]|\$)" "$MAN/$1"
}
# the string literals of the C arrays named *keys[] in daemon/SOURCE: the
# settings its parser accepts (cfg_check_keys refuses any other)
keys_of() {
  awk '/const char \*const [a-z_]*keys\[\] = \{/,/\};/' "$QF_ROOT/daemon/$1" | grep -o '"[a-z_]*"' | tr -d '"' | sort -u
}

# qingfeng.conf(5): every top-level setting config_load accepts ...
top=$(sed -n '/^struct qf_config \*config_load(/,/^}/p' "$QF_ROOT/daemon/config.c" |
      awk '/const char \*const keys\[\] = \{/,/\};/' | grep -o '"[a-z_]*"' | tr -d '"')
like "$(printf '%s\n' "$top" | wc -l)" '^(1[0-9]|[2-9][0-9])$' "config.c: the top-level settings are found ($(printf '%s ' $top))"
missing=""
for k in $top; do documented qingfeng.conf.5 "$k" || missing="$missing $k"; done
is "${missing# }" "" "qingfeng.conf(5) documents every top-level setting of config.c"
# ... and every setting of its groups (database, delivery, receivers, routes, ...)
missing=""
for k in $(keys_of config.c) $(keys_of cfgutil.c); do documented qingfeng.conf.5 "$k" || missing="$missing $k"; done
is "${missing# }" "" "qingfeng.conf(5) documents every nested setting of config.c"

# qingfeng-rules(5): every setting of a rule file and of a rule
n=$(keys_of rule.c | wc -l)
like "$n" '^[3-9][0-9]$' "rule.c: the rule settings are found ($n)"
missing=""
for k in $(keys_of rule.c); do documented qingfeng-rules.5 "$k" || missing="$missing $k"; done
is "${missing# }" "" "qingfeng-rules(5) documents every setting of rule.c"

# qfctl(1) and qingfengd(8): every command and option of the programs
missing=""
for c in migrate "rules check" "rules list" "rules explain" "rules test" alerts "alerts retry" "silence add" \
         "silence list" "silence expire" findings version; do
  grep -Eq "^\\.(B|BI|TP) \"?$c( |\"|\$)" "$MAN/qfctl.1" || missing="$missing [$c]"
done
for o in --sql-dir --since --now --state --limit --dead --rule --person --department --until --reason --from \
         --all --note --config --dbname --help; do
  grep -qF -- "${o//-/\\-}" "$MAN/qfctl.1" || missing="$missing $o"
done
is "${missing# }" "" "qfctl(1) documents every command and option of qfctl.c"
missing=""
for o in $(grep -o '{"[a-z]*", [a-z_]*argument' "$QF_ROOT/daemon/main.c" | cut -d'"' -f2); do
  grep -qF -- ".B \\-\\-$o" "$MAN/qingfengd.8" || grep -qF -- ".BR \\-\\-$o" "$MAN/qingfengd.8" ||
    grep -qF -- "\", \" \\-\\-$o" "$MAN/qingfengd.8" || missing="$missing --$o"
done
for x in 0 64 69 70 75 78; do grep -q "^\\.B $x\$" "$MAN/qingfengd.8" || missing="$missing exit-$x"; done
is "${missing# }" "" "qingfengd(8) documents every option and exit status of main.c"

# the example files in the pages are accepted by the daemon: troff escapes
# undone, paths pointed at this tree or at files made here, no database
ex_block() { # ex_block PAGE N: the Nth .EX block, as plain text
  awk -v n="$2" '/^\.EX$/ { b++; on = (b == n); next } /^\.EE$/ { on = 0; next } on' "$MAN/$1" |
    sed 's/\\-/-/g; s/\\(dq/"/g; s/\\(aq/'"'"'/g; s/\\e/\\/g'
}
mkdir -p "$T_DIR/etc"
for f in office.secret labs.url dingtalk.url dingtalk.secret; do echo "https://example.invalid/$f" >"$T_DIR/etc/$f"; done
fix_paths() {
  sed -e "s|\"/etc/qingfeng/rules.d\"|\"$QF_ROOT/rules\"|" -e "s|/etc/qingfeng/|$T_DIR/etc/|g" \
      -e 's|conninfo = "[^"]*"|conninfo = "host=/nonexistent dbname=x"|'
}
nex=$(grep -c '^\.EX$' "$MAN/qingfeng.conf.5")
for i in $(seq 1 "$nex"); do
  text=$(ex_block qingfeng.conf.5 "$i")
  case "$text" in
    *rules_dir*) printf '%s\n' "$text" | fix_paths >"$T_DIR/ex$i.conf" ;;
    *params*)
      { printf 'database = { conninfo = "host=/nonexistent dbname=x"; };\nrules_dir = "%s";\n' "$QF_ROOT/rules"
        printf '%s\n' "$text"; } >"$T_DIR/ex$i.conf" ;;
    *) continue ;;
  esac
  out=$("$QFD" -n -c "$T_DIR/ex$i.conf" 2>&1); st=$?
  is "$st" 0 "qingfeng.conf(5) example $i: qingfengd -n accepts it" || printf '%s\n' "$out" | sed 's/^/#   /'
done

# the rule-file example: against a migrated database, so PostgreSQL also
# prepares each rule's statement
new_db rules_example
mkdir -p "$T_DIR/rules.d"
for i in $(seq 1 "$(grep -c '^\.EX$' "$MAN/qingfeng-rules.5")"); do
  text=$(ex_block qingfeng-rules.5 "$i")
  case "$text" in *engine_version*) printf '%s\n' "$text" >"$T_DIR/rules.d/local.conf" ;; esac
done
[ -s "$T_DIR/rules.d/local.conf" ]; ok $? "qingfeng-rules(5) has an example rule file"
printf 'database = { conninfo = "%s"; };\nrules_dir = "%s";\n' "$CONNINFO" "$T_DIR/rules.d" >"$T_DIR/rules.conf"
out=$("$QFD" -n -c "$T_DIR/rules.conf" 2>&1); st=$?
is "$st" 0 "qingfeng-rules(5) example: qingfengd -n accepts it" || printf '%s\n' "$out" | sed 's/^/#   /'
if printf '%s\n' "$out" | grep -q 'not reachable'; then ok 1 "the example's SQL was prepared by PostgreSQL"; else
  ok 0 "the example's SQL was prepared by PostgreSQL"; fi
ids=$("$QFCTL" -c "$T_DIR/rules.conf" rules list 2>/dev/null | awk '{print $1}' | tr '\n' ' ')
is "$ids" "L01 L02 L03 " "qfctl rules list shows the example's rules"

done_testing
