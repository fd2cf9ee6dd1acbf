#!/bin/bash
# `make demo` stays true: the same script, on a small institute and without
# pauses, against this cluster and this build. The generator's ground truth
# and the daemon's findings agree exactly (recall and precision 1.00) and
# every alert arrives signed and verified. The console's logins are
# checked by the server: under a cluster of its own, as the demo gives its
# people SCRAM in pg_hba.conf.
. "$(dirname "$0")/../lib.sh"
own_cluster
export DEMO_SCALE=${DEMO_SCALE:-4000} DEMO_SEED=${DEMO_SEED:-7} DEMO_RATE=${DEMO_RATE:-0.03} DEMO_PACE=0
export DEMO_DB=qf_${T_NAME}
out=$(QF_BUILD=$QF_BUILD "$QF_ROOT/tools/demo.sh" 2>&1); st=$?
is "$st" 0 "the demo exits 0"
like "$out" "recall 1.00, precision 1.00" "its findings match the planted risk points"
planted=$(printf '%s\n' "$out" | sed -n 's/^planted \([0-9]*\) risk points over \([0-9]*\) rules.*/\1 \2/p')
note "planted risk points, rules: $planted"
packed=$(grep -ho '^ *id = "[A-Z][0-9]*"' "$QF_ROOT"/rules/*.conf | wc -l)
is "$packed" 41 "the pack has 41 rules (RULES-423.md and RULES-LAB.md)"
ok "$([ "${planted% *}" -ge 100 ] && [ "${planted#* }" -eq "$packed" ] && echo 0 || echo 1)" \
  "a hundred planted risk points or more, over every rule of the pack"
like "$out" "ground truth: [0-9]+ planted risk points over 41 of the 41 rules" "the ground truth covers the 41 rules"
like "$out" "alerts: ([0-9]+) raised .*, \\1 delivered, \\1 received, \\1 with a valid signature" \
  "every alert is delivered, received and signed"
like "$out" "签名 signatures: ✓ all [0-9]+ verified" "the receiver verified every signature"
like "$out" "● .* T[0-9][0-9] .*#[0-9]+ ✓" "alerts are printed live, one line each with the signature check"
like "$out" "▸ 2025-01-0[0-9] " "the records arrive in their own time order, a line per batch"
like "$out" "合计 total" "the summary by the 423 dimensions"
like "$out" "disposal: findings at 5 of the 5 stages, [1-9][0-9]* overdue now" \
  "the disposal loop: findings at every stage, some overdue (DISPOSAL.md, for the console's dashboard)"
like "$out" "logins \(password demo\): demo_liaison1" "and the people who work it"
like "$out" "the server checks the password: demo_office logs in with \"demo\", a wrong password is refused" \
  "whose password the server checks (the console refuses a login pg_hba.conf would let in without one)"
[ "$st" = 0 ] || printf '%s\n' "$out" | tail -40 | sed 's/^/# /'
done_testing
