# Shared by tests/t/56-web.t and 57-web-browser.t (sourced after
# tests/lib.sh, under own_cluster): a database with findings from F09 and
# F03, auditors that log in with SCRAM passwords, and a running qfweb.
#
#   web_a1, web_a2  auditors of the financial supervision (two people, for
#                   four eyes)
#   web_out         an auditor whose scope is a department with no findings
#   web_plain       a role that may log in but is no auditor

# web_setup: DB, the roles and their pg_hba lines, the findings
web_setup() {
  new_db web || return 1
  sql postgres "CREATE ROLE web_a1 LOGIN PASSWORD 'pw-a1' IN ROLE qf_auditor;
    CREATE ROLE web_a2 LOGIN PASSWORD 'pw-a2' IN ROLE qf_auditor;
    CREATE ROLE web_out LOGIN PASSWORD 'pw-out' IN ROLE qf_auditor;
    CREATE ROLE web_plain LOGIN PASSWORD 'pw-plain'"
  # these roles log in with SCRAM over the socket; everyone else keeps
  # trust, as the cluster was made
  local hba=$QF_PGDATA/pg_hba.conf
  { echo "local all web_a1,web_a2,web_out,web_plain scram-sha-256"; cat "$hba"; } >"$T_DIR/hba" &&
    $QF_PGRUNAS tee "$hba" <"$T_DIR/hba" >/dev/null && $QF_PGRUNAS "$QF_PGCTL" -D "$QF_PGDATA" reload >/dev/null || return 1
  # the engine syncs disposal.owners from the configuration at connect;
  # written here too, so the owners hold whichever writes first
  sql "$DB" "INSERT INTO qf.setting (name, value) VALUES ('disposal.owners', '[{\"role\": \"web_a1\"}]')
    ON CONFLICT (name) DO UPDATE SET value = excluded.value" || return 1
  sql "$DB" "INSERT INTO qf.auditor_scope (role_name, supervision) VALUES ('web_a1', 'financial'), ('web_a2', 'financial');
    INSERT INTO qf.auditor_scope (role_name, department) VALUES ('web_out', '无此部门');
    INSERT INTO records.person (person_id, name, department) VALUES ('张三', '张三', '化学室'), ('Bob', 'Bob', 'Lab 2');
    INSERT INTO records.payment (payment_id, department, amount, created_by, approved_by, paid_by) VALUES
     ('P1', '化学室', 48000.00, '张三', '张三', 'X'),
     ('P2', 'Lab 2', 100.00, 'Bob', 'Bob', 'X'),
     ('P3', '化学室', 48500.00, 'C', 'D', 'E'),
     ('P4', '=1+2<b>粗</b>', 120.00, 'Eve', 'Eve', 'X')"
  # web_a1 owns every finding (signs for them); web_a2 may not sign
  ONCE_DEADLINE=1 write_conf "$T_DIR/q.conf" "http://127.0.0.1:9/hook" "$(only_rules F09 F03)" \
    'disposal = { owners = ( { role = "web_a1"; } ); };' "${WEB_CONF_EXTRA:-}"
  run_once "$T_DIR/q.conf"
  [ "$(sql "$DB" "SELECT count(*) FROM qf.finding WHERE owner = 'web_a1'")" -ge 4 ]
}

# web_start [qfweb options]: starts qfweb on a free port; sets W (its URL)
web_start() {
  rm -f "$T_DIR/web.port"
  "$QF_BUILD/qfweb" -c "$T_DIR/q.conf" -l 127.0.0.1:0 --port-file "$T_DIR/web.port" "$@" 2>>"$T_DIR/web.log" &
  WEB_PID=$!
  T_PIDS+=("$WEB_PID")
  for _ in $(seq 1 100); do [ -s "$T_DIR/web.port" ] && break; sleep 0.05; done
  W=http://127.0.0.1:$(cat "$T_DIR/web.port" 2>/dev/null)
  [ -s "$T_DIR/web.port" ]
}
