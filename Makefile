# qingfeng: build, test and demo. See README.md.
#   make          build/qingfengd, build/qfctl, build/qf-receiver
#   make check    installs what is missing, builds with ASan/UBSan, runs every test
#   make demo     installs what is missing, runs the demo against a throwaway PostgreSQL

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc
CFLAGS    ?= -O2 -g
SQLDIR    ?= $(CURDIR)/sql
MANDIR    ?= $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc

PKGS      := libpq libcurl libconfig jansson libcrypto libsystemd libmicrohttpd
RECV_PKGS := libmicrohttpd jansson libcrypto

ifeq ($(SAN),1)
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# pkg-config runs only when a recipe needs it, so `make check` on a bare
# machine reaches tools/deps.sh before anything asks for a missing .pc file
QF_CFLAGS  = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 $(CFLAGS) $(SANFLAGS) \
             -MMD -MP $(shell pkg-config --cflags $(PKGS)) \
             -DQF_VERSION='"$(VERSION)"' -DQF_SQLDIR='"$(SQLDIR)"'
QF_LIBS    = $(shell pkg-config --libs $(PKGS)) -lm -lpthread

# every daemon/*.c but the two programs' mains is shared by both programs and the unit tests
COMMON    := $(filter-out main qfctl,$(basename $(notdir $(wildcard daemon/*.c))))
COMMON_O  := $(COMMON:%=$(BUILD)/obj/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all unit check demo deps clean install format lint bench fuzz soak

all: $(BUILD)/qingfengd $(BUILD)/qfctl $(BUILD)/qf-receiver $(BUILD)/qf-latency $(BUILD)/qf-gen

$(BUILD)/obj/%.o: daemon/%.c | $(BUILD)/obj
	$(CC) $(QF_CFLAGS) -Idaemon -c $< -o $@

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/qingfengd: $(BUILD)/obj/main.o $(COMMON_O)
	$(CC) $(QF_CFLAGS) $^ -o $@ $(QF_LIBS)

$(BUILD)/qfctl: $(BUILD)/obj/qfctl.o $(COMMON_O)
	$(CC) $(QF_CFLAGS) $^ -o $@ $(QF_LIBS)

$(BUILD)/qf-receiver: tools/receiver.c | $(BUILD)/obj
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CFLAGS) $(SANFLAGS) $< -o $@ \
	  $(shell pkg-config --cflags --libs $(RECV_PKGS))

$(BUILD)/qf-latency: bench/latency.c | $(BUILD)/obj
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CFLAGS) $(SANFLAGS) $< -o $@ $(shell pkg-config --cflags --libs libpq) -lpthread

$(BUILD)/qf-gen: bench/gen.c | $(BUILD)/obj
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CFLAGS) $(SANFLAGS) $< -o $@ -lm

$(BUILD)/tests/%: tests/unit/%.c tests/tap.h $(COMMON_O) | $(BUILD)/tests
	$(CC) $(QF_CFLAGS) -Idaemon -Itests $< $(COMMON_O) -o $@ $(QF_LIBS)

unit: $(UNIT_BIN)

deps:
	tools/deps.sh

# Every test (unit binaries and integration scripts) under one prove run,
# built with ASan and UBSan, against a throwaway PostgreSQL cluster; the
# plain build is checked under valgrind by tests/t/70-valgrind.t.
check: deps
	$(MAKE) BUILD=build/san SAN=1 all unit
	$(MAKE) all
	QF_BUILD=$(CURDIR)/build/san QF_PLAIN_BUILD=$(CURDIR)/build QF_ROOT=$(CURDIR) tools/pgtmp.sh prove --timer $(PROVE_FLAGS) \
	  $(UNIT_SRC:tests/unit/%.c=build/san/tests/%) tests/t/*.t

demo: deps
	$(MAKE) all
	tools/pgtmp.sh tools/demo.sh

# Benchmarks, not timed tests: bench/run.sh runs each against its own
# throwaway cluster and writes the figures into bench/RESULTS.md.
# BENCH=capture,deliver,latency,gauges,eval,bulk selects; QUICK=1 for small scales
bench: deps
	$(MAKE) all
	QF_BUILD=$(CURDIR)/$(BUILD) bench/run.sh

# libFuzzer targets (clang), each run for FUZZ_SECONDS (default 600);
# bench/FUZZ.md has the figures. tests/fuzz/run.sh builds them itself.
fuzz: deps
	tests/fuzz/run.sh

# A long run (SOAK_MINUTES, default 30) with continuous ingest, the daemon
# built with ASan and UBSan in $(BUILD)/san; bench/SOAK.md has the figures
soak: deps
	$(MAKE) all
	$(MAKE) BUILD=$(BUILD)/san SAN=1 all
	QF_BUILD=$(CURDIR)/$(BUILD) QF_SAN_BUILD=$(CURDIR)/$(BUILD)/san tools/pgtmp.sh bench/soak.sh

# The installed qfctl finds the migrations where this installs them. The
# configuration and the rules in SYSCONFDIR are an administrator's: they
# are installed only when absent, the configuration 0640 (it may hold
# secrets). The service runs as the system user "qingfeng" when it exists
# (DynamicUser otherwise): create it with
#   useradd --system --no-create-home --shell /usr/sbin/nologin qingfeng
install: deps
	$(MAKE) BUILD=build/install SQLDIR=$(PREFIX)/share/qingfeng/sql build/install/qingfengd build/install/qfctl
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/qingfeng/sql $(DESTDIR)$(PREFIX)/share/qingfeng/rules \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/qingfeng/rules.d
	install -m 0755 build/install/qingfengd build/install/qfctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 sql/*.sql $(DESTDIR)$(PREFIX)/share/qingfeng/sql/
	install -m 0644 rules/*.conf $(DESTDIR)$(PREFIX)/share/qingfeng/rules/
	install -m 0644 man/qfctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/qingfeng.conf.5 man/qingfeng-rules.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/qingfengd.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' systemd/qingfeng.service >$(DESTDIR)$(UNITDIR)/qingfeng.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/qingfeng.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/qingfeng/qingfeng.conf ] || \
	  install -m 0640 etc/qingfeng.conf $(DESTDIR)$(SYSCONFDIR)/qingfeng/qingfeng.conf
	[ -n "$$(ls -A $(DESTDIR)$(SYSCONFDIR)/qingfeng/rules.d)" ] || \
	  install -m 0644 rules/*.conf $(DESTDIR)$(SYSCONFDIR)/qingfeng/rules.d/

format:
	clang-format -i daemon/*.c daemon/*.h tests/unit/*.c tests/*.h tools/*.c

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -D_GNU_SOURCE -DQF_VERSION='"x"' -DQF_SQLDIR='"x"' daemon/ tools/

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*.d)
