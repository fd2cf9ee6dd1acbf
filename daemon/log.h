/* Logging to stderr: sd-daemon priority prefixes under journald, plain
 * "prog: level: " otherwise. The daemon never logs anywhere else. */
#ifndef QF_LOG_H
#define QF_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum qf_log_level { QF_LOG_ERR = 3, QF_LOG_WARNING = 4, QF_LOG_NOTICE = 5, QF_LOG_INFO = 6, QF_LOG_DEBUG = 7 };

void log_init(const char *progname, int max_level);
void log_set_level(int max_level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_err(...)     log_msg(QF_LOG_ERR, __VA_ARGS__)
#define log_warn(...)    log_msg(QF_LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(QF_LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(QF_LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(QF_LOG_DEBUG, __VA_ARGS__)

#endif
