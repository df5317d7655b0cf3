# moor: keep AWS load balancer membership and Elastic IP bindings equal to a
# YAML declaration.
#
#   make                     build ./moor
#   make test                build and run every test suite
#   make test-includes       include-what-you-use: each C file includes the
#                            system headers it uses (part of make test)
#   make demo                the guided demo against tests/fakeaws
#   make deps                install the Debian 12 packages everything needs
#   make bench               benchmarks (figures, not pass/fail)
#   make SANITIZE=address,undefined test
#   make DEVELOPER=1         warnings are errors (CI sets this)
#   make install PREFIX=/usr DESTDIR=/tmp/pkg
#   make fuzz                libFuzzer targets (clang, libfuzzer-14-dev)
#   make format-check        clang-format, as CI runs it
#
# Local overrides go in config.mak (not committed).

-include config.mak

VERSION = 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3
CLANG_FORMAT ?= clang-format
CLANG ?= clang
INSTALL ?= install

# `make V=1` shows the full commands.
ifndef V
QUIET_CC = @echo '   CC     $@';
QUIET_LINK = @echo '   LINK   $@';
QUIET_AR = @echo '   AR     $@';
endif

# Separate object trees, so a sanitizer build never links plain objects.
ifdef SANITIZE
BUILD ?= build-san
else
BUILD ?= build
endif
ifeq ($(BUILD),build)
MOOR = moor
else
MOOR = $(BUILD)/moor
endif

CFLAGS ?= -O2 -g

PKGS = yaml-0.1 libcjson libcurl libcrypto expat libmicrohttpd
TEST_PKGS = cmocka

WARNINGS = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings -Wvla -Wpointer-arith -Wundef \
	-Wold-style-definition -Wmissing-declarations -Wnull-dereference \
	-Wimplicit-fallthrough -Wcast-qual
ifdef DEVELOPER
WARNINGS += -Werror
endif

ifdef SANITIZE
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-sanitize-recover=$(SANITIZE) \
	-fno-omit-frame-pointer
endif

# The goals that must not need the libraries (they install them, or only
# delete files).
NO_PKG_GOALS = deps deps-fuzz clean distclean format format-check test demo demo-ha
ifneq ($(filter-out $(NO_PKG_GOALS),$(or $(MAKECMDGOALS),all)),)
ifneq ($(shell $(PKG_CONFIG) --exists $(PKGS) $(TEST_PKGS) && echo ok),ok)
$(error missing libraries ($(PKGS) $(TEST_PKGS)); run 'make deps' first)
endif
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
DEP_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS))
endif

# User CFLAGS come last so they win.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -I. $(WARNINGS) $(SAN_FLAGS) \
	-DMOOR_VERSION='"$(VERSION)"' $(DEP_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)

# The default goal, before any included file can define a rule.
all:

# Source lists, written out in each folder's Makefile.inc (no wildcards).
# UNIT_TESTS are paths under tests/unit/ without .c, mirroring the module
# tested without reconciler/ (engine/plan_test for reconciler/engine/plan.c).
LIB_OBJS =
MAIN_OBJS =
UNIT_TESTS =
TEST_TOOLS =
TEST_SUPPORT_OBJS =
FUZZ_TARGETS =
INTEGRATION_TESTS =
MAN_PAGES =
HEADERS =
TEST_EXTRA =
BENCH_EXTRA =
include util/Makefile.inc
include spec/Makefile.inc
include providers/Makefile.inc
include providers/aws/auth.mk
include providers/aws/Makefile.inc
include reconciler/engine/Makefile.inc
include reconciler/daemon/Makefile.inc
include reconciler/cli/Makefile.inc
include tests/Makefile.inc

B_LIB_OBJS = $(addprefix $(BUILD)/,$(LIB_OBJS))
B_MAIN_OBJS = $(addprefix $(BUILD)/,$(MAIN_OBJS))
B_TEST_SUPPORT_OBJS = $(addprefix $(BUILD)/,$(TEST_SUPPORT_OBJS))
B_UNIT_TESTS = $(addprefix $(BUILD)/tests/unit/,$(UNIT_TESTS))
B_TEST_TOOLS = $(addprefix $(BUILD)/tests/tools/,$(TEST_TOOLS))
LIBMOOR = $(BUILD)/libmoor.a
LIBTEST = $(BUILD)/libmoortest.a

all: $(MOOR)

# Rebuild everything when the flags change (git's GIT-CFLAGS trick).
FLAGS_STAMP = $(BUILD)/.flags
FLAGS_NOW = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBMOOR): $(B_LIB_OBJS)
	@rm -f $@
	$(QUIET_AR)$(AR) rcs $@ $^

$(LIBTEST): $(B_TEST_SUPPORT_OBJS)
	@rm -f $@
	$(QUIET_AR)$(AR) rcs $@ $^

$(MOOR): $(B_MAIN_OBJS) $(LIBMOOR)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $(B_MAIN_OBJS) $(LIBMOOR) $(DEP_LIBS)

$(B_UNIT_TESTS): $(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBTEST) \
		$(LIBMOOR)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBTEST) $(LIBMOOR) $(TEST_LIBS) \
		$(DEP_LIBS)

# Small programs the integration tests drive (e.g. the SigV4 signer for
# the differential test against botocore).
$(B_TEST_TOOLS): $(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIBTEST) \
		$(LIBMOOR)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBTEST) $(LIBMOOR) \
		$(TEST_LIBS) $(DEP_LIBS)

# --- tests -------------------------------------------------------------

# Environment every test sees: the binary under test, the Python that has
# botocore, and the sanitizers' verdicts as failures.
TEST_ENV = MOOR="$(abspath $(MOOR))" PYTHON="$(PYTHON)" \
	BUILD="$(abspath $(BUILD))" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# `make test` is one of the README's two commands: on a fresh machine it
# first installs what is missing (make deps), then runs the suites in a
# sub-make that can find the libraries.
test: deps
	@$(MAKE) --no-print-directory test-all

test-all: test-unit test-extra fuzz-replay test-integration

test-unit: $(B_UNIT_TESTS)
	@set -e; for t in $(B_UNIT_TESTS); do \
		echo "== $$t"; $(TEST_ENV) $$t; \
	done

test-extra: $(MOOR) $(TEST_EXTRA)

test-integration: $(MOOR) $(B_TEST_TOOLS)
	@set -e; for t in $(INTEGRATION_TESTS); do \
		echo "== $$t"; $(TEST_ENV) $$t; \
	done

bench: $(MOOR) $(BENCH_EXTRA)

# --- fuzzing -----------------------------------------------------------

# libFuzzer builds use clang in their own tree; `make test` replays each
# target's seed corpus (tests/fuzz/corpus/NAME for NAME_fuzz) through the
# standalone driver, built with the normal compiler (so ASan and UBSan
# check it under SANITIZE).
FUZZ_BUILD = build-fuzz
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -I. -g -O1 -DMOOR_VERSION='"$(VERSION)"' \
	-fsanitize=fuzzer,address,undefined $(DEP_CFLAGS)
FUZZ_REPLAYS = $(addprefix $(BUILD)/tests/fuzz/,$(addsuffix _replay,$(FUZZ_TARGETS)))
$(FUZZ_REPLAYS): $(BUILD)/tests/fuzz/%_replay: tests/fuzz/%.c \
		tests/fuzz/standalone.c $(LIBMOOR) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		tests/fuzz/standalone.c $(LIBMOOR) $(DEP_LIBS)

fuzz-replay: $(FUZZ_REPLAYS)
	@set -e; for t in $(FUZZ_TARGETS); do \
		c=tests/fuzz/corpus/$${t%_fuzz}; \
		echo "== $(BUILD)/tests/fuzz/$${t}_replay $$c"; \
		$(TEST_ENV) $(BUILD)/tests/fuzz/$${t}_replay $$c; \
	done

fuzz:
	@mkdir -p $(FUZZ_BUILD)
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "CLANG $(FUZZ_BUILD)/$$t"; \
		$(CLANG) $(FUZZ_CFLAGS) -o $(FUZZ_BUILD)/$$t tests/fuzz/$$t.c \
			$(patsubst %.o,%.c,$(LIB_OBJS)) $(DEP_LIBS); \
	done

# --- install -----------------------------------------------------------

install: $(MOOR)
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 755 $(MOOR) $(DESTDIR)$(BINDIR)/moor
	@set -e; for m in $(MAN_PAGES); do \
		s=$${m##*.}; \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s; \
		echo "$(INSTALL) -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/"; \
		$(INSTALL) -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done

# --- housekeeping ------------------------------------------------------

C_SOURCES = $(patsubst %.o,%.c,$(LIB_OBJS) $(MAIN_OBJS) $(TEST_SUPPORT_OBJS)) \
	$(addprefix tests/unit/,$(addsuffix .c,$(UNIT_TESTS))) \
	$(addprefix tests/tools/,$(addsuffix .c,$(TEST_TOOLS))) \
	$(addprefix tests/fuzz/,$(addsuffix .c,$(FUZZ_TARGETS))) \
	tests/fuzz/standalone.c tests/bench/aws_bench.c
C_HEADERS = $(HEADERS)

format-check:
	@echo "clang-format --dry-run -Werror ($(words $(C_SOURCES) $(C_HEADERS)) files)"
	@$(CLANG_FORMAT) --dry-run -Werror $(C_SOURCES) $(C_HEADERS)

format:
	$(CLANG_FORMAT) -i $(C_SOURCES) $(C_HEADERS)

clean:
	rm -rf build build-san build-fuzz moor

distclean: clean
	rm -f config.mak

# Debian 12 packages for the build, the tests and the demo.  Installs only
# what is missing; refreshes the package lists only when an install fails
# for want of them.
DEB_PKGS = make gcc libc6-dev pkg-config libyaml-dev libcjson-dev \
	libcurl4-openssl-dev libssl-dev libexpat1-dev libcmocka-dev \
	python3 python3-botocore python3-jsonschema awscli curl \
	ca-certificates clang-format git procps time python3-yaml iwyu \
	libmicrohttpd-dev python3-prometheus-client
DEB_FUZZ_PKGS = clang libfuzzer-14-dev

define apt_install
	@missing=; for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all present"; exit 0; fi; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	echo "deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y --no-install-recommends $$missing || \
	{ $$sudo apt-get update && \
	  $$sudo apt-get install -y --no-install-recommends $$missing; }
endef

deps:
	$(call apt_install,$(DEB_PKGS))

deps-fuzz:
	$(call apt_install,$(DEB_FUZZ_PKGS))

FORCE:

.PHONY: all test test-all test-unit test-extra test-integration bench fuzz \
	fuzz-replay install \
	format format-check clean distclean deps deps-fuzz FORCE
.SECONDARY:

DEP_FILES = $(patsubst %.o,%.d,$(B_LIB_OBJS) $(B_MAIN_OBJS) \
	$(B_TEST_SUPPORT_OBJS)) $(addsuffix .d,$(B_UNIT_TESTS) $(B_TEST_TOOLS))
-include $(DEP_FILES)
