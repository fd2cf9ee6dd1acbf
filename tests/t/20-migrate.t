#!/bin/bash
# qfctl migrate: idempotent, one transaction per migration, recorded in
# qf.schema_migrations, refuses a newer or altered schema; the daemon
# refuses a database at the wrong version.
. "$(dirname "$0")/../lib.sh"
own_cluster   # a bare cluster: the first migrate creates the group roles (tests/lib.sh creates them in the shared one)

DB=qf_migrate_t
dropdb --if-exists "$DB" >/dev/null 2>&1; createdb "$DB"
CONNINFO="host=$PGHOST dbname=$DB"

# the migrations shipped in sql/, by number
vers=$(ls "$QF_ROOT"/sql/ | sed -n 's/^0*\([0-9]*\)_.*\.sql$/\1/p' | sort -n | paste -sd,)
nvers=$(printf '%s\n' "$vers" | awk -F, '{print NF}'); last=${vers##*,}
out=$("$QFCTL" -d "$CONNINFO" migrate 2>&1); st=$?
is "$st" 0 "first migrate exits 0"
is "$(printf '%s\n' "$out" | grep -c '^applied ')" "$(ls "$QF_ROOT"/sql/[0-9][0-9][0-9]_*.sql | wc -l)" "every migration applied"
out=$("$QFCTL" -d "$CONNINFO" migrate 2>&1); st=$?
is "$st" 0 "second migrate exits 0"
like "$out" "up to date" "and applies nothing"
is "$(sql "$DB" "SELECT string_agg(version::text, ',' ORDER BY version) FROM qf.schema_migrations")" "$vers" "versions recorded"
is "$(sql "$DB" "SELECT count(*) FROM qf.schema_migrations WHERE checksum ~ '^[0-9a-f]{64}$' AND applied_by = current_user")" "$nvers" "with checksums and who applied them"
is "$(sql "$DB" "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'records'")" 33 "all 33 records tables (DATA-CONTRACT.md and RULES-LAB.md)"
for t in finding finding_event alert rule_run silence cursor; do
  is "$(sql "$DB" "SELECT to_regclass('qf.$t') IS NOT NULL")" t "qf.$t exists"
done
is "$("$QFD" -V | grep -o 'schema [0-9]*')" "schema $(ls "$QF_ROOT"/sql/ | sed -n 's/^0*\([0-9]*\)_.*/\1/p' | sort -n | tail -1)" \
   "the daemon expects the newest migration"

# a migration that fails half way leaves nothing behind
mkdir -p "$T_DIR/sql"; cp "$QF_ROOT"/sql/*.sql "$T_DIR/sql/"
printf 'CREATE TABLE qf.half_done (x int);\nINSERT INTO qf.half_done VALUES (1);\nSELECT no_such_column FROM qf.finding;\n' >"$T_DIR/sql/900_broken.sql"
out=$(QF_SQL_DIR=$T_DIR/sql "$QFCTL" -d "$CONNINFO" migrate 2>&1); st=$?
is "$st" 1 "a failing migration exits 1"
like "$out" "900_broken.sql:3: .*no_such_column" "names the file and line of the error"
is "$(sql "$DB" "SELECT to_regclass('qf.half_done') IS NULL")" t "its earlier statements are rolled back"
is "$(sql "$DB" "SELECT max(version) FROM qf.schema_migrations")" "$last" "and it is not recorded"

# a migration changed after it was applied
sql "$DB" "UPDATE qf.schema_migrations SET checksum = repeat('0', 64) WHERE version = 1"
out=$("$QFCTL" -d "$CONNINFO" migrate 2>&1); st=$?
is "$st" 1 "an altered applied migration: exit 1"
like "$out" "001_records.sql was changed after it was applied" "and says which"
sql "$DB" "UPDATE qf.schema_migrations SET checksum = '$(sha256sum "$QF_ROOT/sql/001_records.sql" | cut -d' ' -f1)' WHERE version = 1"

# a database newer than this build
sql "$DB" "INSERT INTO qf.schema_migrations (version, name, checksum) VALUES (999, '999_future.sql', 'x')"
out=$("$QFCTL" -d "$CONNINFO" migrate 2>&1); st=$?
is "$st" 1 "a newer schema: migrate exits 1"
like "$out" "migration 999 .*newer than the newest this qfctl knows" "and says why"
write_conf "$T_DIR/qf.conf" "http://127.0.0.1:9/hook"
out=$("$QFD" -c "$T_DIR/qf.conf" --once 2>&1); st=$?
ok $([ "$st" -ne 0 ] && echo 0 || echo 1) "the daemon refuses a newer schema (exit $st)"
like "$out" "newer than this build" "and says why"
sql "$DB" "DELETE FROM qf.schema_migrations WHERE version = 999"

# a database without the schema
createdb "${DB}_empty"
CONNINFO="host=$PGHOST dbname=${DB}_empty" write_conf "$T_DIR/empty.conf" "http://127.0.0.1:9/hook"
out=$("$QFD" -c "$T_DIR/empty.conf" --once 2>&1); st=$?
ok $([ "$st" -ne 0 ] && echo 0 || echo 1) "the daemon refuses an unmigrated database (exit $st)"
like "$out" "qfctl migrate" "and says what to run"

# CONNINFO from the config when -d is not given
write_conf "$T_DIR/qf2.conf" "http://127.0.0.1:9/hook"
out=$("$QFCTL" -c "$T_DIR/qf2.conf" migrate 2>&1); st=$?
is "$st" 0 "qfctl takes the connection from -c FILE"
like "$out" "up to date" "(the same database)"

done_testing
