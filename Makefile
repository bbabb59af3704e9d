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

PKGS      = libsodium jansson libsystemd
TEST_PKGS = cmocka

CC       ?= cc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
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
	daemon/backend-dir.c \
	daemon/backend.c \
	daemon/cgroup.c \
	daemon/config.c \
	daemon/keys.c \
	daemon/log.c \
	daemon/parse.c \
	daemon/policy.c \
	daemon/privilege.c \
	daemon/secbuf.c \
	daemon/store.c

DAEMON_SRCS = daemon/main.c
CLIENT_SRCS = client/secretctl.c
UNIT_TESTS  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test-*.c))

LIB_OBJS    = $(LIB_SRCS:%.c=$(BUILD)/%.o)
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
CLIENT_OBJS = $(CLIENT_SRCS:%.c=$(BUILD)/%.o)
LIB         = $(BUILD)/libsecretd.a

ifeq ($(SANITIZE),1)
SECRETD   = $(BIN_DIR)/secretd
SECRETCTL = $(BIN_DIR)/secretctl
else
SECRETD   = daemon/secretd
SECRETCTL = client/secretctl
endif

.PHONY: all check install uninstall clean run bench deps

all: $(SECRETD) $(SECRETCTL)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SECRETD): $(DAEMON_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

$(SECRETCTL): $(CLIENT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

$(BUILD)/tests/test-%.o: tests/unit/test-%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/tests/test-%: $(BUILD)/tests/test-%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(PKG_LIBS) $(TEST_LIBS) -o $@

# Installs the Debian packages the build and tests need, when missing.
deps:
	@sh .ci/deps

check: all $(UNIT_TESTS)
	SECRETD=$(abspath $(SECRETD)) SECRETCTL=$(abspath $(SECRETCTL)) SANITIZE=$(SANITIZE) \
		sh tests/run.sh $(UNIT_TESTS)

# The development daemon: built-in config, everything under build/dev.
run: all
	@mkdir -p build/dev
	$(SECRETD) --dev build/dev

bench:
	@echo "make bench: no benchmark yet (arrives with the lease path)"

install: all
	install -Dm0755 daemon/secretd $(DESTDIR)$(SBINDIR)/secretd
	install -Dm0755 client/secretctl $(DESTDIR)$(BINDIR)/secretctl
	install -Dm0644 config/secretd.json $(DESTDIR)$(SYSCONFDIR)/secretd/secretd.json.example
	install -Dm0644 systemd/secretd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/secretd.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/secretd $(DESTDIR)$(BINDIR)/secretctl \
	      $(DESTDIR)$(SYSCONFDIR)/secretd/secretd.json.example $(DESTDIR)$(TMPFILESDIR)/secretd.conf

clean:
	rm -rf build daemon/secretd client/secretctl

-include $(LIB_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(CLIENT_OBJS:.o=.d) $(UNIT_TESTS:=.d)
