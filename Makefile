# qingfeng: build, test and demo. See README.md.
#   make          build/qingfengd, build/qfctl, build/qf-receiver, ...; a missing
#                 library stops it with the apt-get line that installs it
#   make check    installs what is missing, lints, builds with ASan/UBSan (and
#                 plain, for valgrind), runs every test, JOBS at a time
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

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
PKG_CONFIG ?= pkg-config
INSTALL_SQLDIR = $(PREFIX)/share/qingfeng/sql
SAN_BUILD  = $(BUILD)/san

# the libraries by pkg-config name (tests/t/55-fuzz-replay.t and
# tests/fuzz/run.sh read this line), and the Debian package of each
PKGS      := libpq libcurl libconfig jansson libcrypto libsystemd libmicrohttpd
RECV_PKGS := libmicrohttpd jansson libcrypto
DEB.libpq := libpq-dev
DEB.libcurl := libcurl4-openssl-dev
DEB.libconfig := libconfig-dev
DEB.jansson := libjansson-dev
DEB.libcrypto := libssl-dev
DEB.libsystemd := libsystemd-dev
DEB.libmicrohttpd := libmicrohttpd-dev

ifeq ($(SAN),1)
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# pkg-config runs only when a recipe needs it, so `make check` on a bare
# machine reaches tools/deps.sh, and `make` reaches build-deps, before
# anything asks for a missing .pc file
QF_CFLAGS  = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 $(CFLAGS) $(SANFLAGS) \
             -MMD -MP $(shell $(PKG_CONFIG) --cflags $(PKGS)) -DQF_VERSION='"$(VERSION)"'
QF_LIBS    = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm -lpthread

# every daemon/*.c but the programs' own files (main.c; qfctl.c and
# qfctl_*.c; qfweb.c and qfweb_*.c) is shared by the programs and the unit tests
COMMON    := $(filter-out main qfctl qfctl_% qfweb qfweb_%,$(basename $(notdir $(wildcard daemon/*.c))))
COMMON_O  := $(COMMON:%=$(BUILD)/obj/%.o)
QFCTL_O   := $(patsubst daemon/%.c,$(BUILD)/obj/%.o,$(wildcard daemon/qfctl_*.c))
QFWEB_O   := $(patsubst daemon/%.c,$(BUILD)/obj/%.o,$(wildcard daemon/qfweb_*.c))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all unit check check-build check-san check-plain build-deps demo deps clean install \
        format format-check lint bench fuzz soak FORCE

all: $(BUILD)/qingfengd $(BUILD)/qfctl $(BUILD)/qfweb $(BUILD)/qf-receiver $(BUILD)/qf-latency $(BUILD)/qf-gen

# Before the first compiler: each library the build needs, or the exact
# apt-get line for the Debian packages that are missing (make only says it;
# tools/deps.sh build, which make install and make check run, installs).
build-deps:
	@missing=""; \
	case "$(CC)" in cc|gcc) command -v $(CC) >/dev/null 2>&1 || missing=gcc ;; \
	  *) command -v $(firstword $(CC)) >/dev/null 2>&1 || { echo "qingfeng: the compiler CC=$(CC) is not found" >&2; exit 1; } ;; esac; \
	if command -v $(PKG_CONFIG) >/dev/null 2>&1; then \
	  for pd in $(foreach p,$(PKGS),$(p):$(DEB.$(p))); do \
	    $(PKG_CONFIG) --exists $${pd%%:*} || missing="$$missing $${pd#*:}"; \
	  done; \
	else \
	  missing="$$missing pkg-config $(foreach p,$(PKGS),$(DEB.$(p)))"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo="sudo "; \
	  echo "qingfeng: cannot build: missing Debian packages; install them with:" >&2; \
	  echo "  $${sudo}apt-get install -y$$missing" >&2; \
	  exit 1; \
	fi

$(BUILD)/obj/%.o: daemon/%.c | $(BUILD)/obj build-deps
	$(CC) $(QF_CFLAGS) $(QF_DEFS) -Idaemon -c $< -o $@

# qfctl.c alone bakes in where the migrations are: SQLDIR for the built
# qfctl, PREFIX/share/qingfeng/sql for the installed one (every other
# object is the same, so make install reuses them). A stamp holding each
# value rebuilds qfctl when it changes.
$(BUILD)/obj/qfctl.o: QF_DEFS = -DQF_SQLDIR='"$(SQLDIR)"'
$(BUILD)/obj/qfctl.o: $(BUILD)/obj/sqldir

$(BUILD)/obj/qfctl.install.o: daemon/qfctl.c $(BUILD)/obj/sqldir.install | $(BUILD)/obj build-deps
	$(CC) $(QF_CFLAGS) -DQF_SQLDIR='"$(INSTALL_SQLDIR)"' -Idaemon -c $< -o $@

$(BUILD)/qfctl.install: $(BUILD)/obj/qfctl.install.o $(QFCTL_O) $(COMMON_O)
	$(CC) $(QF_CFLAGS) $^ -o $@ $(QF_LIBS)

$(BUILD)/obj/sqldir: FORCE | $(BUILD)/obj
	@echo '$(SQLDIR)' | cmp -s - $@ || echo '$(SQLDIR)' >$@

$(BUILD)/obj/sqldir.install: FORCE | $(BUILD)/obj
	@echo '$(INSTALL_SQLDIR)' | cmp -s - $@ || echo '$(INSTALL_SQLDIR)' >$@

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/qingfengd: $(BUILD)/obj/main.o $(COMMON_O)
	$(CC) $(QF_CFLAGS) $^ -o $@ $(QF_LIBS)

$(BUILD)/qfctl: $(BUILD)/obj/qfctl.o $(QFCTL_O) $(COMMON_O)
	$(CC) $(QF_CFLAGS) $^ -o $@ $(QF_LIBS)

$(BUILD)/qfweb: $(BUILD)/obj/qfweb.o $(QFWEB_O) $(COMMON_O)
	$(CC) $(QF_CFLAGS) $^ -o $@ $(QF_LIBS)

$(BUILD)/qf-receiver: tools/receiver.c | $(BUILD)/obj build-deps
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CFLAGS) $(SANFLAGS) $< -o $@ \
	  $(shell $(PKG_CONFIG) --cflags --libs $(RECV_PKGS))

$(BUILD)/qf-latency: bench/latency.c | $(BUILD)/obj build-deps
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CFLAGS) $(SANFLAGS) $< -o $@ $(shell $(PKG_CONFIG) --cflags --libs libpq) -lpthread

$(BUILD)/qf-gen: bench/gen.c | $(BUILD)/obj build-deps
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(CFLAGS) $(SANFLAGS) $< -o $@ -lm

$(BUILD)/tests/%: tests/unit/%.c tests/tap.h $(COMMON_O) | $(BUILD)/tests
	$(CC) $(QF_CFLAGS) -Idaemon -Itests $< $(COMMON_O) -o $@ $(QF_LIBS)

unit: $(UNIT_BIN)

# every package: what make, make check, make demo and make bench need
deps:
	tools/deps.sh build test demo bench

# Lint, then every test (unit binaries and integration scripts) under one
# prove run, JOBS at a time (tests/testrules.yml says which may not run
# beside the others), against a throwaway PostgreSQL cluster. Two builds,
# each once and side by side with the lint: $(SAN_BUILD) with ASan and UBSan,
# which the tests run, and the plain $(BUILD), which tests/t/70-valgrind.t
# runs under valgrind and tests/t/96-install.t installs (its make install
# compiles only qfctl again). The tests' own make gets a clean MAKEFLAGS.
check:
	tools/deps.sh test
	$(MAKE) -j$(JOBS) check-build
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL BUILD=$(BUILD) QF_BUILD=$(abspath $(SAN_BUILD)) QF_PLAIN_BUILD=$(abspath $(BUILD)) \
	  QF_ROOT=$(CURDIR) HARNESS_RULESFILE=tests/testrules.yml \
	  tools/pgtmp.sh prove -j$(JOBS) --timer $(PROVE_FLAGS) $(UNIT_SRC:tests/unit/%.c=$(SAN_BUILD)/tests/%) tests/t/*.t

check-build: lint check-san check-plain

check-san:
	$(MAKE) BUILD=$(SAN_BUILD) SAN=1 all unit

check-plain:
	$(MAKE) all

demo:
	tools/deps.sh demo
	$(MAKE) -j$(JOBS) all
	tools/pgtmp.sh tools/demo.sh

# Benchmarks, not timed tests: bench/run.sh runs each against its own
# throwaway cluster and writes the figures into bench/RESULTS.md.
# BENCH=capture,deliver,latency,gauges,eval,bulk selects; QUICK=1 for small scales
bench:
	tools/deps.sh bench
	$(MAKE) -j$(JOBS) all
	QF_BUILD=$(CURDIR)/$(BUILD) bench/run.sh

# libFuzzer targets (clang), each run for FUZZ_SECONDS (default 600);
# bench/FUZZ.md has the figures. tests/fuzz/run.sh builds them itself.
fuzz:
	tools/deps.sh build
	tests/fuzz/run.sh

# A long run (SOAK_MINUTES, default 30) with continuous ingest, the daemon
# built with ASan and UBSan in $(BUILD)/san; bench/SOAK.md has the figures
soak:
	tools/deps.sh bench
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) BUILD=$(BUILD)/san SAN=1 all
	QF_BUILD=$(CURDIR)/$(BUILD) QF_SAN_BUILD=$(CURDIR)/$(BUILD)/san tools/pgtmp.sh bench/soak.sh

# The installed qfctl finds the migrations where this installs them. The
# configuration and the rules in SYSCONFDIR are an administrator's: they
# are installed only when absent, the configuration 0640 (it may hold
# secrets). The service runs as the system user "qingfeng" when it exists
# (DynamicUser otherwise): create it with
#   useradd --system --no-create-home --shell /usr/sbin/nologin qingfeng
# It needs only the build's packages (tools/deps.sh build), and installs
# the plain build of $(BUILD), with qfctl compiled for PREFIX.
install:
	tools/deps.sh build
	$(MAKE) $(BUILD)/qingfengd $(BUILD)/qfctl.install $(BUILD)/qfweb
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/qingfeng/sql $(DESTDIR)$(PREFIX)/share/qingfeng/rules \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/qingfeng/rules.d
	install -m 0755 $(BUILD)/qingfengd $(DESTDIR)$(PREFIX)/bin/qingfengd
	install -m 0755 $(BUILD)/qfctl.install $(DESTDIR)$(PREFIX)/bin/qfctl
	install -m 0755 $(BUILD)/qfweb $(DESTDIR)$(PREFIX)/bin/qfweb
	install -m 0644 sql/*.sql $(DESTDIR)$(PREFIX)/share/qingfeng/sql/
	install -m 0644 rules/*.conf $(DESTDIR)$(PREFIX)/share/qingfeng/rules/
	install -m 0644 man/qfctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/qingfeng.conf.5 man/qingfeng-rules.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/qingfengd.8 man/qfweb.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' systemd/qingfeng.service >$(DESTDIR)$(UNITDIR)/qingfeng.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/qingfeng.service
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' systemd/qingfeng-web.service >$(DESTDIR)$(UNITDIR)/qingfeng-web.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/qingfeng-web.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/qingfeng/qingfeng.conf ] || \
	  install -m 0640 etc/qingfeng.conf $(DESTDIR)$(SYSCONFDIR)/qingfeng/qingfeng.conf
	[ -n "$$(ls -A $(DESTDIR)$(SYSCONFDIR)/qingfeng/rules.d)" ] || \
	  install -m 0644 rules/*.conf $(DESTDIR)$(SYSCONFDIR)/qingfeng/rules.d/

# .clang-format holds the code's style. The code predates it and breaks
# some long lines by hand where clang-format would not, so `make format`
# formats only the lines changed since FORMAT_BASE (git clang-format), never
# whole files; format-check fails if any of those lines would change (git
# clang-format 14 exits 0 either way: its output tells).
FORMAT_BASE  ?= HEAD
FORMAT_FILES  = daemon/*.c daemon/*.h tests/unit/*.c tests/*.h tools/*.c
GIT_CLANG_FORMAT = git clang-format --binary clang-format --style file

format:
	@tools/deps.sh format
	$(GIT_CLANG_FORMAT) --force $(FORMAT_BASE) -- $(FORMAT_FILES)

format-check:
	@tools/deps.sh format
	@out=$$($(GIT_CLANG_FORMAT) --diff $(FORMAT_BASE) -- $(FORMAT_FILES)) || exit 1; \
	case "$$out" in \
	  "" | "no modified files to format" | "clang-format did not modify any files") ;; \
	  *) printf '%s\n' "$$out"; echo "format-check: clang-format would change the lines above (make format)" >&2; exit 1 ;; \
	esac

lint:
	@tools/deps.sh lint
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem -D_GNU_SOURCE -DQF_VERSION='"x"' -DQF_SQLDIR='"x"' daemon/ tools/

clean:
	rm -rf build

FORCE:

-include $(wildcard $(BUILD)/obj/*.d)
