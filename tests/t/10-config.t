#!/bin/bash
# Malformed configuration and rule files: each one is rejected by
# `qingfengd -n` with exit 78 and a FILE:LINE: message naming the problem,
# and none crashes (the binaries are built with ASan/UBSan).
. "$(dirname "$0")/../lib.sh"

check_rejected() { # FILE CONFIG-TO-RUN KIND
  local file=$1 conf=$2 expect line msg out st
  expect=$(head -1 "$file" | sed -n 's/^# expect: //p')
  line=${expect%%: *}
  msg=${expect#*: }
  out=$("$QFD" -n -c "$conf" 2>&1); st=$?
  is "$st" 78 "$3 $(basename "$file"): exit 78"
  # the message names the file and line and says what is wrong
  if printf '%s\n' "$out" | grep -F -- "$file:$line: " | grep -qF -- "$msg"; then
    ok 0 "$3 $(basename "$file"): $file:$line: $msg"
  else
    ok 1 "$3 $(basename "$file"): $file:$line: $msg"; printf '#   got: %s\n' "$out"
  fi
}

mkdir -p "$T_DIR/rules"
cp "$QF_ROOT/rules/"*.conf "$T_DIR/rules/"
for f in "$QF_ROOT"/tests/conf/bad-config/*.conf; do
  conf=$T_DIR/$(basename "$f")
  sed "s|@RULES@|$T_DIR/rules|" "$f" >"$conf"
  check_rejected "$conf" "$conf" config
done

for f in "$QF_ROOT"/tests/conf/bad-rules/*.conf; do
  d=$T_DIR/r-$(basename "$f" .conf)
  mkdir -p "$d"
  cp "$f" "$d/"
  printf 'database = { conninfo = "dbname=nonexistent host=/nonexistent"; };\nrules_dir = "%s";\n' "$d" >"$d.conf"
  check_rejected "$d/$(basename "$f")" "$d.conf" rules
done

# a bad parameter override names the config file and the override's line
printf 'database = { conninfo = "host=/nonexistent"; };\nrules_dir = "%s";\nparams = {\n  F09 = { limit = 3; };\n};\n' "$T_DIR/rules" >"$T_DIR/override.conf"
out=$("$QFD" -n -c "$T_DIR/override.conf" 2>&1); st=$?
is "$st" 78 "override of an undeclared parameter: exit 78"
like "$out" "override.conf:4: rule F09 has no parameter 'limit'" "override error names file:line and the rule"

# several errors in one file are all reported
printf 'rules_dir = 5;\nbogus = 1;\nevaluation = { interval = "x"; };\n' >"$T_DIR/multi.conf"
out=$("$QFD" -n -c "$T_DIR/multi.conf" 2>&1); st=$?
is "$st" 78 "file with three errors: exit 78"
is "$(printf '%s\n' "$out" | grep -c "multi.conf:[0-9]*: ")" 3 "all three errors reported"

# a configuration file that does not exist
out=$("$QFD" -n -c "$T_DIR/nonexistent.conf" 2>&1); st=$?
is "$st" 78 "missing configuration file: exit 78"
like "$out" "^$T_DIR/nonexistent.conf:0: cannot read configuration file: No such file" "missing file is named"

# the good configuration passes, with the database unreachable
CONNINFO="host=/nonexistent dbname=x"
write_conf "$T_DIR/good.conf" "http://127.0.0.1:9/hook"
out=$("$QFD" -n -c "$T_DIR/good.conf" 2>/dev/null); st=$?
is "$st" 0 "shipped rules and a good config: exit 0"
is "$out" "configuration OK" "prints configuration OK"

# with the database reachable, -n prepares each rule's SQL and names the rule
new_db cfg
mkdir -p "$T_DIR/wrongcol"
sed 's/created_by = approved_by OR/created_by = approver OR/' "$QF_ROOT/rules/financial.conf" >"$T_DIR/wrongcol/f.conf"
RULES_DIR=$T_DIR/wrongcol write_conf "$T_DIR/wrongcol.conf" "http://127.0.0.1:9/hook"
out=$("$QFD" -n -c "$T_DIR/wrongcol.conf" 2>&1); st=$?
is "$st" 78 "a rule naming a missing column: exit 78 when the database is reachable"
wl=$(grep -n 'where = ' "$T_DIR/wrongcol/f.conf" | cut -d: -f1)
like "$out" "wrongcol/f.conf:$wl: rule F09: column \"approver\" does not exist" "error names the rule file, its where line and the rule id"

done_testing
