/* The `disposal` and `console` sections of qingfeng.conf (config.c calls
 * these; the values live in struct qf_config). */
#ifndef QF_CONFIG_DISPOSAL_H
#define QF_CONFIG_DISPOSAL_H

#include <jansson.h>

#include "cfgutil.h"
#include "config.h"

void config_disposal_defaults(struct qf_config *cfg);
void config_disposal_parse(struct cfgctx *cx, const config_setting_t *root, struct qf_config *cfg);
void config_disposal_free(struct qf_config *cfg);

/* What the engine syncs into qf.setting, as JSON text; caller frees.
 * owners: [{"department": D, "role": R}, {"role": R}] in the file's order;
 * deadlines: {"red": [sign, close], "orange": [...], "yellow": [...]}. */
char *config_owners_json(const struct qf_config *cfg);
char *config_deadlines_json(const struct qf_config *cfg);

#endif
