/* Inside the rule subsystem: what its files share, and nothing else
 * includes. rule.c loads and checks rule files; rule_bind.c turns a
 * rule's SQL fragments into parameterised text; rule_compile.c builds
 * each kind's statement from them; rule_message.c checks and renders the
 * message templates. rule.h is the interface for everyone else. */
#ifndef QF_RULE_INT_H
#define QF_RULE_INT_H

#include <stdbool.h>

#include "diag.h"
#include "rule.h"

/* What a $n stands for when it is not a parameter's value (qf_rule.builtin) */
enum { BUILTIN_NONE = 0, BUILTIN_NOW = 1, BUILTIN_SINCE = 2, BUILTIN_CURSOR = 3, BUILTIN_KNOWN = 4 };

/* Which statement a fragment is bound for. In the incremental one the
 * cursor is never NULL, so ${changed()} and ${incremental} are written
 * without their "full pass" branch: a prepared statement's generic plan
 * cannot fold `$n IS NULL OR ...` away and would scan the table; without
 * the branch it keeps the changed-keys index condition. */
enum bind_mode { BIND_FULL, BIND_DELTA };

/* a column or parameter name: lower-case letters, digits, '_', at most 63 */
bool rule_is_ident(const char *s);
/* the rule's parameter (or list) of that name, or NULL */
struct qf_param *rule_param(struct qf_rule *r, const char *name);

/* The $n (1-based) of a value, added to r->values/builtin unless there:
 * a built-in (BUILTIN_NOW ...) is added once, a parameter's value once per
 * pointer. value is borrowed from the rule's params or exceptions. */
int rule_add_value(struct qf_rule *r, const char *value, int builtin);
/* Expands ${macro}, ${changed(...)}, ${incremental} and ${cursor}, then
 * replaces :name outside quotes with $n (adding the values to r). what
 * names the fragment in diagnostics. Returns the SQL text (caller frees),
 * or NULL after reporting a problem in d. */
char *rule_bind(struct qf_rule *r, const char *fragment, const char *what, enum bind_mode mode, struct diag *d);

/* Compiles a validated rule: compiled, compiled_delta, values, deps,
 * clock, changed_aware, version. Problems go to d. */
void rule_compile(struct qf_rule *r, struct diag *d);

/* Whether every {placeholder} of a message template names a field the
 * rule's hits have (for kinds whose evidence the engine builds); false
 * with the problem in d. */
bool rule_template_ok(const struct qf_rule *r, const char *tmpl, struct diag *d);

#endif
