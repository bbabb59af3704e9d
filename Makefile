# secretd — one GNU Makefile.  `make`, `make check`, `make check SANITIZE=1`,
# `make run`, `make install PREFIX=… DESTDIR=…`.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DOCDIR     ?= $(PREFIX)/share/doc/secretd
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
LIBEXECDIR ?= $(PREFIX)/libexec/secretd
# Absolute, whatever PREFIX: Debian's podman 4.3 reads hooks from here alone.
HOOKSDIR   ?= /usr/share/containers/oci/hooks.d

PKGS      = libsodium jansson libsystemd libmicrohttpd libcurl
# The client speaks its few HTTP requests itself (client/transport.c) and
# needs nothing of the daemon's server side: libsodium, jansson and libc.
CLIENT_PKGS = libsodium jansson
TEST_PKGS = cmocka

CC       ?= cc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CLIENT_CFLAGS := $(shell pkg-config --cflags $(CLIENT_PKGS) 2>/dev/null)
CLIENT_LIBS   := $(shell pkg-config --libs $(CLIENT_PKGS) 2>/dev/null)
CLIENT_STATIC_LIBS := $(shell pkg-config --static --libs $(CLIENT_PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARNINGS = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings -Wvla
HARDEN_CFLAGS  = -fstack-protector-strong -fstack-clash-protection -fcf-protection -fPIE
HARDEN_LDFLAGS = -pie -Wl,-z,relro,-z,now,-z,noexecstack

ifeq ($(SANITIZE),1)
BUILD     ?= build/san
OPT        = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_LDFLAGS = -fsanitize=address,undefined
BIN_DIR    = $(BUILD)/bin
else
BUILD     ?= build/release
OPT        = -O2 -g -D_FORTIFY_SOURCE=3
SAN_LDFLAGS =
BIN_DIR    =
endif

CPPFLAGS += -Iinclude -Idaemon -DSECRETD_VERSION='"$(VERSION)"' -D_GNU_SOURCE
CFLAGS   += -std=gnu11 $(OPT) $(WARNINGS) $(HARDEN_CFLAGS) $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += $(HARDEN_LDFLAGS) $(SAN_LDFLAGS)

# Everything of the daemon but main(): linked into secretd and the tests.
LIB_SRCS = \
	daemon/api-hook.c \
	daemon/api-lease.c \
	daemon/api-set.c \
	daemon/api-status.c \
	daemon/api-watch.c \
	daemon/api.c \
	daemon/attest.c \
	daemon/audit.c \
	daemon/backend-dir.c \
	daemon/backend-etcd.c \
	daemon/backend.c \
	daemon/cgroup.c \
	daemon/config-parse.c \
	daemon/config.c \
	daemon/etcd-watch.c \
	daemon/exit-watch.c \
	daemon/fleet.c \
	daemon/fileio.c \
	daemon/http-conns.c \
	daemon/http-framing.c \
	daemon/hook-attest.c \
	daemon/http.c \
	daemon/keys.c \
	daemon/lease-record.c \
	daemon/lease.c \
	daemon/leasing-caller.c \
	daemon/leasing-recover.c \
	daemon/leasing-rotate.c \
	daemon/leasing-signal.c \
	daemon/leasing-instance.c \
	daemon/leasing-policy.c \
	daemon/leasing-target.c \
	daemon/leasing.c \
	daemon/listen.c \
	daemon/log.c \
	daemon/materialize.c \
	daemon/materialize-set.c \
	daemon/metrics.c \
	daemon/parse.c \
	daemon/policy-match.c \
	daemon/policy.c \
	daemon/privilege.c \
	daemon/runtime-records.c \
	daemon/boltdb.c \
	daemon/protocol.c \
	daemon/secbuf.c \
	daemon/secret-set.c \
	daemon/service.c \
	daemon/service-main.c \
	daemon/store.c \
	daemon/watch.c

DAEMON_SRCS = daemon/main.c daemon/loop.c daemon/options.c
# The OCI hook and Docker's runc wrapper are programs of their own
# (installed in LIBEXECDIR), not secretctl commands.
HOOK_SRCS    = client/oci-hook.c
WRAPPER_SRCS = client/runc-wrapper.c client/runc-spec.c
CLIENT_SRCS = $(sort $(filter-out $(HOOK_SRCS) $(WRAPPER_SRCS),$(wildcard client/*.c)))
# The few library modules the client shares with the daemon.
CLIENT_LIB_SRCS = daemon/secbuf.c daemon/secret-set.c daemon/parse.c daemon/fileio.c daemon/protocol.c
UNIT_TESTS  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test-*.c))
# Small programs the integration tests drive (hostile peers).
TEST_HELPERS = $(patsubst tests/integration/helpers/%.c,$(BUILD)/helpers/%,$(wildcard tests/integration/helpers/*.c))
UNITS = $(BUILD)/systemd/secretd.service systemd/secretd.socket systemd/secretd-admin.socket

LIB_OBJS    = $(LIB_SRCS:%.c=$(BUILD)/%.o)
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
CLIENT_OBJS = $(CLIENT_SRCS:%.c=$(BUILD)/%.o) $(CLIENT_LIB_SRCS:%.c=$(BUILD)/%.o)
# the hook speaks to the daemon through secretctl's transport
HOOK_OBJS   = $(HOOK_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/client/transport.o $(BUILD)/client/output.o \
              $(CLIENT_LIB_SRCS:%.c=$(BUILD)/%.o)
WRAPPER_OBJS = $(WRAPPER_SRCS:%.c=$(BUILD)/%.o)
LIB         = $(BUILD)/libsecretd.a

# secretctl-static: the same client as one static PIE (glibc, libsodium
# and jansson inside; it opens no other file), to bind-mount or copy into a
# container.  Not in a sanitizer build: ASan has no static runtime.
ifeq ($(SANITIZE),1)
SECRETD   = $(BIN_DIR)/secretd
SECRETCTL = $(BIN_DIR)/secretctl
SECRETCTL_STATIC =
OCI_HOOK  = $(BIN_DIR)/secretd-oci-hook
RUNC_WRAPPER = $(BIN_DIR)/secretd-runc
else
SECRETD   = daemon/secretd
SECRETCTL = client/secretctl
SECRETCTL_STATIC = client/secretctl-static
OCI_HOOK  = client/secretd-oci-hook
RUNC_WRAPPER = client/secretd-runc
endif

.PHONY: all check install uninstall clean run bench deps fuzz memcheck FORCE

all: $(SECRETD) $(SECRETCTL) $(SECRETCTL_STATIC) $(OCI_HOOK) $(RUNC_WRAPPER) $(BUILD)/oci/secretd.json

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SECRETD): $(DAEMON_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

$(BUILD)/client/%.o: client/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CLIENT_CFLAGS) -c $< -o $@

$(SECRETCTL): $(CLIENT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CLIENT_LIBS) -o $@

$(OCI_HOOK): $(HOOK_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CLIENT_LIBS) -o $@

$(RUNC_WRAPPER): $(WRAPPER_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CLIENT_LIBS) -o $@

client/secretctl-static: $(CLIENT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static-pie -Wl,-z,relro,-z,now,-z,noexecstack $^ $(CLIENT_STATIC_LIBS) -o $@

$(BUILD)/tests/test-%.o: tests/unit/test-%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/tests/test-%: $(BUILD)/tests/test-%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) $(TEST_LIBS) -o $@

# secretd-runc's argv and config.json logic is the client's, not the daemon's
$(BUILD)/tests/test-runc-wrapper: $(BUILD)/client/runc-spec.o

$(BUILD)/helpers/%: tests/integration/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< -o $@

# Runs inside a bare busybox container: static, no sanitizer runtime.
$(BUILD)/helpers/lease-client: tests/integration/helpers/lease-client.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 $(WARNINGS) $< -o $@

# A stand-in for systemd's MainPID on a private bus (t-service-signal).
$(BUILD)/helpers/systemd-standin: tests/integration/helpers/systemd-standin.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) $< -o $@ $(PKG_LIBS)

# Its main in crash-load.c, its modules in crash-load/ (not helpers of
# their own: the TEST_HELPERS wildcard does not descend into it).
CRASH_LOAD_SRCS = tests/integration/helpers/crash-load.c $(sort $(wildcard tests/integration/helpers/crash-load/*.c))

$(BUILD)/helpers/crash-load: $(CRASH_LOAD_SRCS) tests/integration/helpers/crash-load/crash-load.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(CRASH_LOAD_SRCS) -o $@

# The unit embeds SBINDIR and DOCDIR, so it is rewritten whenever they
# differ from the last build (`make install PREFIX=/usr` after a build for
# /usr/local must not install a unit that runs /usr/local/sbin/secretd).
$(BUILD)/systemd/secretd.service: systemd/secretd.service.in FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' $< >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# The hooks.d entry embeds LIBEXECDIR: rewritten like the unit.
$(BUILD)/oci/secretd.json: config/secretd-oci-hook.json.in FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' $< >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

FORCE:

# Installs the Debian packages the build and tests need, when missing.
deps:
	@sh .ci/deps

check: all $(UNIT_TESTS) $(TEST_HELPERS) $(UNITS)
	SECRETD=$(abspath $(SECRETD)) SECRETCTL=$(abspath $(SECRETCTL)) SANITIZE=$(SANITIZE) \
	SECRETCTL_STATIC=$(if $(SECRETCTL_STATIC),$(abspath $(SECRETCTL_STATIC))) \
	PEER_HANDOFF=$(abspath $(BUILD)/helpers/peer-handoff) SLOW_CLIENT=$(abspath $(BUILD)/helpers/slow-client) \
	LEASE_CLIENT=$(abspath $(BUILD)/helpers/lease-client) CRASH_LOAD=$(abspath $(BUILD)/helpers/crash-load) \
	FAULT_PEER=$(abspath $(BUILD)/helpers/fault-peer) HELPER_DIR=$(abspath $(BUILD)/helpers) \
	UNIT_DIR=$(abspath $(BUILD)/systemd) OCI_HOOK=$(abspath $(OCI_HOOK)) RUNC_WRAPPER=$(abspath $(RUNC_WRAPPER)) \
		sh tests/run.sh $(UNIT_TESTS)
	@$(if $(filter 1,$(SANITIZE)),,$(MAKE) --no-print-directory memcheck)

# Every unit test binary under valgrind's memcheck: any memory error or any
# definite, indirect or possible leak fails it.  Release build only (ASan
# and valgrind do not mix); `make check` runs it after the suite.
# tests/valgrind.supp silences libsodium and cmocka internals only, never
# ours.
# --child-silent-after-fork: test-secbuf forks a child that overruns a
# guarded buffer on purpose and must die of SIGSEGV; the verdict is the
# parent's.
VALGRIND = valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
           --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1 \
           --child-silent-after-fork=yes --suppressions=tests/valgrind.supp

memcheck: $(UNIT_TESTS)
	@test "$(SANITIZE)" != 1 || { echo "memcheck: not with SANITIZE=1" >&2; exit 1; }
	@n=0; for t in $(UNIT_TESTS); do \
		n=$$((n + 1)); log=$(BUILD)/memcheck-$${t##*/}.log; \
		HELPER_DIR=$(abspath $(BUILD)/helpers) $(VALGRIND) --log-file=$$log.vg $$t >$$log 2>&1 || { \
			echo "memcheck: $${t##*/} FAILED"; cat $$log $$log.vg; exit 1; }; \
		printf 'memcheck: %-20s %s\n' "$${t##*/}" "$$(grep -o 'ERROR SUMMARY: .*' $$log.vg)"; \
	done; echo "memcheck: $$n unit test binaries, no memory errors, no leaks"

# libFuzzer harnesses (clang, ASan + UBSan), each run FUZZ_SECONDS on its
# seed corpus (tests/fuzz/corpus/<name>, plus what it finds, kept in
# build/fuzz/corpus-<name>), with tests/fuzz/<name>.dict when there is one.
# The daemon's modules are built once with the fuzzer's instrumentation.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_CFLAGS   = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
                -Wall -Wextra -Werror -Wno-unused-parameter
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_LIB_OBJS = $(LIB_SRCS:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(CPPFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CPPFLAGS) $(PKG_CFLAGS) $< $(FUZZ_LIB_OBJS) $(PKG_LIBS) -o $@

# Stops at the first crash, leak or sanitizer report and shows it; the
# reproducer is left in build/fuzz/crash-* (add it to the seed corpus once
# fixed).  Prints each target's number of executions.
fuzz: $(FUZZ_TARGETS)
	@for f in $(FUZZ_TARGETS); do \
		n=$${f##*/fuzz-}; mkdir -p build/fuzz/corpus-$$n tests/fuzz/corpus/$$n; \
		dict=; [ -f tests/fuzz/$$n.dict ] && dict=-dict=tests/fuzz/$$n.dict; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/fuzz/ $$dict \
			build/fuzz/corpus-$$n tests/fuzz/corpus/$$n >build/fuzz/$$n.log 2>&1 || { \
			echo "fuzz-$$n: FAILED"; tail -60 build/fuzz/$$n.log; exit 1; }; \
		awk -v n="fuzz-$$n" -v s=$(FUZZ_SECONDS) '/stat::number_of_executed_units/ { e = $$2 } \
			/stat::peak_rss_mb/ { m = $$2 } END { printf "%-22s %10d executions in %d s, peak RSS %d MB\n", n, e, s, m }' \
			build/fuzz/$$n.log; \
	done

# The development daemon: built-in config, everything under build/dev.
run: all
	@mkdir -p build/dev
	$(SECRETD) --dev build/dev

# The benchmark (issue 8): the real daemon on its own temporary config, as
# root; a table on stdout, every figure as JSON in $(BENCH_JSON).
BENCH_JSON ?= tests/bench/last.json

$(BUILD)/bench/bench: $(wildcard tests/bench/*.c) tests/bench/bench.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c,$^) $(shell pkg-config --libs libsodium) -lm -o $@

bench: all $(BUILD)/bench/bench $(BUILD)/helpers/lease-client
	$(BUILD)/bench/bench --secretd $(abspath $(SECRETD)) --lease-client $(abspath $(BUILD)/helpers/lease-client) \
		--oci-hook $(abspath $(OCI_HOOK)) \
		--json $(BENCH_JSON)

install: all $(UNITS)
	install -Dm0755 daemon/secretd $(DESTDIR)$(SBINDIR)/secretd
	install -Dm0755 client/secretctl $(DESTDIR)$(BINDIR)/secretctl
	install -Dm0755 client/secretctl-static $(DESTDIR)$(BINDIR)/secretctl-static
	install -Dm0755 client/secretd-oci-hook $(DESTDIR)$(LIBEXECDIR)/secretd-oci-hook
	install -Dm0755 client/secretd-runc $(DESTDIR)$(LIBEXECDIR)/secretd-runc
	install -Dm0644 $(BUILD)/oci/secretd.json $(DESTDIR)$(HOOKSDIR)/secretd.json
	install -Dm0644 config/secretd.json $(DESTDIR)$(SYSCONFDIR)/secretd/secretd.json.example
	install -Dm0644 systemd/secretd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/secretd.conf
	install -Dm0644 -t $(DESTDIR)$(UNITDIR) $(UNITS)
	install -Dm0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -Dm0644 client/secretctl.1 $(DESTDIR)$(MANDIR)/man1/secretctl.1
	install -Dm0644 daemon/secretd.8 $(DESTDIR)$(MANDIR)/man8/secretd.8
	install -Dm0644 client/secretctl.bash-completion $(DESTDIR)$(BASHCOMPLETIONDIR)/secretctl

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/secretd $(DESTDIR)$(BINDIR)/secretctl $(DESTDIR)$(BINDIR)/secretctl-static \
	      $(DESTDIR)$(SYSCONFDIR)/secretd/secretd.json.example $(DESTDIR)$(TMPFILESDIR)/secretd.conf \
	      $(DESTDIR)$(UNITDIR)/secretd.service $(DESTDIR)$(UNITDIR)/secretd.socket \
	      $(DESTDIR)$(UNITDIR)/secretd-admin.socket $(DESTDIR)$(DOCDIR)/README.md \
	      $(DESTDIR)$(MANDIR)/man1/secretctl.1 $(DESTDIR)$(MANDIR)/man8/secretd.8 \
	      $(DESTDIR)$(BASHCOMPLETIONDIR)/secretctl \
	      $(DESTDIR)$(LIBEXECDIR)/secretd-oci-hook $(DESTDIR)$(LIBEXECDIR)/secretd-runc \
	      $(DESTDIR)$(HOOKSDIR)/secretd.json
	@# the directories that are secretd's alone go too, when nothing else is in them
	rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
	rmdir $(DESTDIR)$(HOOKSDIR) $(dir $(DESTDIR)$(HOOKSDIR)) 2>/dev/null || true

clean:
	rm -rf build daemon/secretd client/secretctl client/secretctl-static client/secretd-oci-hook client/secretd-runc

-include $(LIB_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(CLIENT_OBJS:.o=.d) $(HOOK_OBJS:.o=.d) \
	$(WRAPPER_OBJS:.o=.d) $(UNIT_TESTS:=.d)
