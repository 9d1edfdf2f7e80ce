# idnode build. Plain GNU make: `make` builds, `make test` runs every test.
#   SANITIZE=address,undefined  build and test with sanitizers (own build dir)
#   WERROR=1                    warnings are errors (CI sets it)
#   CC=clang                    any C11 compiler
#   make install PREFIX=/usr DESTDIR=/tmp/root   install (default /usr/local)

CC ?= cc
SANITIZE ?=
WERROR ?=
OPT ?= -O2

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Werror=implicit -Werror=format-security -Wno-missing-field-initializers
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
CFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) -g -pthread $(WARN) -Isrc/lib $(PQ_CFLAGS) $(HTTP_CFLAGS) -MMD -MP
LDLIBS = -llmdb -lxxhash -lpq -lcrypto -lpthread -ljansson
# idnode's HTTP plane (src/http/): libh2o's evloop library
HTTP_CFLAGS = -DH2O_USE_LIBUV=0
HTTP_LIBS = -lh2o-evloop -lssl -lcrypto -lz

ifneq ($(WERROR),)
CFLAGS += -Werror
endif

ifneq ($(SANITIZE),)
B = build/san
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SANITIZE)
else
B = build
endif

LIB_SRC  = $(wildcard src/lib/*.c)
NODE_SRC = $(wildcard src/node/*.c)
HTTP_SRC = $(wildcard src/http/*.c)
CTL_SRC  = $(wildcard src/ctl/*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
E2E_SRC  = $(wildcard tests/e2e/test_*.c)
E2E_HELP = $(filter-out $(E2E_SRC),$(wildcard tests/e2e/*.c))
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJ  = $(LIB_SRC:%.c=$(B)/%.o)
NODE_OBJ = $(NODE_SRC:%.c=$(B)/%.o)
HTTP_OBJ = $(HTTP_SRC:%.c=$(B)/%.o)
CTL_OBJ  = $(CTL_SRC:%.c=$(B)/%.o)
E2E_HOBJ = $(E2E_HELP:%.c=$(B)/%.o)

LIB      = $(B)/libidn.a
IDNODE   = $(B)/idnode
IDCTL    = $(B)/idctl
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
E2E_BIN  = $(E2E_SRC:tests/e2e/%.c=$(B)/tests/e2e/%)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/fuzz/%)

.PHONY: all test unit e2e fuzz-replay fuzz format lint clean install \
	uninstall man
.SECONDARY:

all: $(IDNODE) $(IDCTL)

# the HTTP plane reads the daemon's handler and config; main starts HTTP
$(B)/src/http/%.o: CFLAGS += -Isrc/node -Isrc/http
$(B)/src/node/%.o: CFLAGS += -Isrc/node -Isrc/http
$(B)/tests/fuzz/fuzz_http.o: CFLAGS += -Isrc/node -Isrc/http

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(IDNODE): $(NODE_OBJ) $(HTTP_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(HTTP_LIBS)

$(IDCTL): $(CTL_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ljansson

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# the wire codec suites share the vectors' helpers (tests/unit/vector_fixture.c)
MSG_TESTS = $(B)/tests/unit/test_msg $(B)/tests/unit/test_msg_frame \
	$(B)/tests/unit/test_resolver $(B)/tests/unit/test_hsession \
	    $(B)/tests/unit/test_cnrikey $(B)/tests/unit/test_repl
$(MSG_TESTS): %: %.o $(B)/tests/unit/vector_fixture.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# the national trust suite reads the SDK's fixtures through the vectors'
# helpers (tests/vectors/idis-trust-*.txt)
$(B)/tests/unit/test_trust_idis: %: %.o $(B)/tests/unit/vector_fixture.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ljansson -lcmocka

# the store suites share one fixture (tests/unit/store_fixture.c) and
# helpers (tests/unit/store_helpers.c)
STORE_TESTS = $(B)/tests/unit/test_store $(B)/tests/unit/test_store_fault \
	      $(B)/tests/unit/test_store_integrity $(B)/tests/unit/test_changes \
	      $(B)/tests/unit/test_store_iter $(B)/tests/unit/test_search
$(STORE_TESTS): %: %.o $(B)/tests/unit/store_fixture.o \
		$(B)/tests/unit/store_helpers.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(B)/tests/e2e/%: $(B)/tests/e2e/%.o $(E2E_HOBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ljansson -lcmocka

# ---- daemon unit tests: test_config ----
# The options schema (src/node/config.c) linked with the log it needs.
CONFIG_TEST_OBJ = $(B)/src/node/config.o $(B)/src/node/log.o
$(B)/tests/unit/test_config.o: CFLAGS += -Isrc/node
$(B)/tests/unit/test_config: $(B)/tests/unit/test_config.o $(CONFIG_TEST_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
# ---- end of test_config ----

# ---- daemon unit tests: test_audit ----
# The audit log's lines and file (src/node/audit.c) with the log it needs.
AUDIT_TEST_OBJ = $(B)/src/node/audit.o $(B)/src/node/log.o
$(B)/tests/unit/test_audit.o: CFLAGS += -Isrc/node
$(B)/tests/unit/test_audit: $(B)/tests/unit/test_audit.o $(AUDIT_TEST_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
# ---- end of test_audit ----

# ---- daemon unit tests: test_log, test_reqlat ----
$(B)/tests/unit/test_log.o: CFLAGS += -Isrc/node
$(B)/tests/unit/test_log: $(B)/tests/unit/test_log.o $(B)/src/node/log.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
# the latency histograms (src/node/reqlat.c)
$(B)/tests/unit/test_reqlat.o: CFLAGS += -Isrc/node
$(B)/tests/unit/test_reqlat: $(B)/tests/unit/test_reqlat.o $(B)/src/node/reqlat.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
# ---- end of test_log, test_reqlat ----

# Fuzz targets linked with a replay driver: `make test` runs each over its
# corpus in tests/fuzz/corpus/<target>/. `make fuzz` builds libFuzzer ones.
$(B)/tests/fuzz/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/replay.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# fuzz_http reaches the HTTP request parsers, which live in the daemon
NODE_LIBOBJ = $(filter-out $(B)/src/node/main.o,$(NODE_OBJ)) $(HTTP_OBJ)
$(B)/tests/fuzz/fuzz_http: $(B)/tests/fuzz/fuzz_http.o $(B)/tests/fuzz/replay.o $(NODE_LIBOBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(HTTP_LIBS)
# fuzz_files reaches idctl's CSV and HANDLE.NET batch readers
CTL_FILES_SRC = src/ctl/import_csv.c src/ctl/genbatch.c
$(B)/tests/fuzz/fuzz_files.o: CFLAGS += -Isrc/ctl
$(B)/tests/fuzz/fuzz_files: $(B)/tests/fuzz/fuzz_files.o $(B)/tests/fuzz/replay.o $(CTL_FILES_SRC:%.c=$(B)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests of the HTTP plane (tests/unit/test_http_*) link the daemon's
# objects without main (NODE_LIBOBJ) and libh2o.
HTTP_UNIT = $(filter $(B)/tests/unit/test_http_%,$(UNIT_BIN))
$(HTTP_UNIT:%=%.o): CFLAGS += -Isrc/node -Isrc/http
$(HTTP_UNIT): %: %.o $(NODE_LIBOBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(HTTP_LIBS) -lcmocka

# ---- daemon unit tests (src/node) ----
# They run the daemon's modules in-process (tests/unit/node_fixture.c): the
# daemon's objects but main.o, the library and the HTTP plane's libraries.
NODE_UNIT = $(B)/tests/unit/test_optable $(B)/tests/unit/test_authz \
	    $(B)/tests/unit/test_netlimit $(B)/tests/unit/test_rrl \
	    $(B)/tests/unit/test_nego
$(NODE_UNIT): %: %.o $(B)/tests/unit/node_fixture.o $(NODE_LIBOBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(HTTP_LIBS) -lcmocka
$(NODE_UNIT:%=%.o) $(B)/tests/unit/node_fixture.o: CFLAGS += -Isrc/node -Isrc/http
# sessions replayed from the captured vectors: both fixtures
$(B)/tests/unit/test_session.o: CFLAGS += -Isrc/node -Isrc/http
$(B)/tests/unit/test_session: $(B)/tests/unit/test_session.o \
		$(B)/tests/unit/node_fixture.o $(B)/tests/unit/vector_fixture.o \
		$(NODE_LIBOBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(HTTP_LIBS) -lcmocka

# ---- national client (IDIS SDK): test_national, test_login,
# test_idis_enc (encrypted sessions), test_login_enc ----
# replays of the SDK's captured bytes (tests/vectors/idis-*): the library's
# reading of them, and the daemon's answers (node fixture)
$(B)/tests/unit/test_national $(B)/tests/unit/test_idis_enc: %: %.o \
		$(B)/tests/unit/vector_fixture.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(B)/tests/unit/test_login.o $(B)/tests/unit/test_login_enc.o: \
	CFLAGS += -Isrc/node -Isrc/http
$(B)/tests/unit/test_login $(B)/tests/unit/test_login_enc: %: %.o \
		$(B)/tests/unit/node_fixture.o \
		$(B)/tests/unit/vector_fixture.o $(NODE_LIBOBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(HTTP_LIBS) -lcmocka
# ---- end of test_national, test_login, test_idis_enc, test_login_enc ----
# test_nego replays the reference's vectors too
$(B)/tests/unit/test_nego: $(B)/tests/unit/vector_fixture.o

$(B)/tests/fuzz/replay.o: tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

unit: $(UNIT_BIN)
e2e: $(E2E_BIN) $(IDNODE) $(IDCTL)
fuzz-replay: $(FUZZ_BIN)

test: all unit e2e fuzz-replay
	B=$(B) ./tests/run.sh

demo: all
	bash scripts/demo.sh

FUZZ_CC ?= clang
fuzz:
	@mkdir -p build/fuzz
	for t in $(FUZZ_SRC:tests/fuzz/%.c=%); do \
	  extra=; [ $$t = fuzz_http ] && \
	    extra="$(filter-out src/node/main.c,$(NODE_SRC)) $(HTTP_SRC) -Isrc/node -Isrc/http $(HTTP_CFLAGS) $(HTTP_LIBS)"; \
	  [ $$t = fuzz_files ] && extra="$(CTL_FILES_SRC) -Isrc/ctl"; \
	  $(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -Isrc/lib $(PQ_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined tests/fuzz/$$t.c $(LIB_SRC) \
	    $$extra -o build/fuzz/$$t $(LDLIBS) || exit 1; \
	done
	@echo "run: build/fuzz/<target> tests/fuzz/corpus/<target>"

# Everything clang-format keeps in the project's shape.
FORMATTED = $(LIB_SRC) $(NODE_SRC) $(HTTP_SRC) $(CTL_SRC) src/lib/*.h \
	    src/node/*.h src/http/*.h src/ctl/*.h tests/unit/*.[ch] \
	    tests/e2e/*.[ch] tests/fuzz/*.c bench/*.c

format:
	clang-format -i $(FORMATTED)

# The lint gate of CI: cppcheck's warning, performance and portability
# checks over src/ (a finding that is not a defect is suppressed where it
# stands, with `cppcheck-suppress ID` and the reason), and the tree as
# clang-format would write it.
CPPCHECK = cppcheck --std=c11 --enable=warning,performance,portability \
	   --inline-suppr --error-exitcode=1 --quiet \
	   --suppress=missingIncludeSystem -D_GNU_SOURCE -DH2O_USE_LIBUV=0 \
	   -Isrc/lib -Isrc/node -Isrc/http
lint:
	$(CPPCHECK) src/
	clang-format --dry-run -Werror $(FORMATTED)

# ---- install ----
# Where `make install` puts things; DESTDIR is prepended to each (staged
# installs, packages). Configuration goes to /etc when PREFIX is /usr, and
# the unit to /lib/systemd/system there (Debian's place for packages).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
WEBDIR ?= $(DATADIR)/idnode/web
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/idnode
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
else
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
endif
INSTALL ?= install

# The console's installed home is compiled into the HTTP plane; the stamp
# changes only when WEBDIR does, so `make install PREFIX=...` after `make`
# rebuilds just that object.
$(B)/webdir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(WEBDIR)' | cmp -s - $@ || echo '$(WEBDIR)' >$@
$(B)/src/http/http.o: $(B)/webdir.stamp
$(B)/src/http/http.o: CPPFLAGS += -DIDN_WEBDIR='"$(WEBDIR)"'
.PHONY: FORCE
FORCE:

# The man pages: their option and key lists are generated from idnode's
# usage text, which comes from the schema table (src/node/config.c).
MAN_PAGES = $(B)/man/idnode.8 $(B)/man/idnode.conf.5 $(B)/man/idctl.1
man: $(MAN_PAGES)
$(B)/man/%: man/%.in $(IDNODE) $(IDCTL) scripts/gen-man.sh
	@mkdir -p $(dir $@)
	scripts/gen-man.sh $(B) $< >$@.tmp && mv $@.tmp $@

DOCS = README.md docs/operations.md docs/architecture.md docs/http-api.md \
       docs/storage-postgresql.md docs/search.md docs/trust.md

install: all man
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	  $(DESTDIR)$(WEBDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/idnode $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 755 $(IDCTL) $(DESTDIR)$(BINDIR)/idctl
	$(INSTALL) -m 755 $(IDNODE) $(DESTDIR)$(SBINDIR)/idnode
	$(INSTALL) -m 644 web/* $(DESTDIR)$(WEBDIR)/
	$(INSTALL) -m 644 $(B)/man/idctl.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 $(B)/man/idnode.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 644 $(B)/man/idnode.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 644 contrib/idnode.conf.example \
	  $(DESTDIR)$(SYSCONFDIR)/idnode/idnode.conf.example
	@# the live config only once: never over what the operator wrote
	[ -e $(DESTDIR)$(SYSCONFDIR)/idnode/idnode.conf ] || \
	  $(INSTALL) -m 644 contrib/idnode.conf.example \
	    $(DESTDIR)$(SYSCONFDIR)/idnode/idnode.conf
	sed -e 's|/usr/sbin/idnode|$(SBINDIR)/idnode|g' \
	    -e 's|/etc/idnode/|$(SYSCONFDIR)/idnode/|g' \
	    contrib/systemd/idnode.service >$(DESTDIR)$(UNITDIR)/idnode.service
	chmod 644 $(DESTDIR)$(UNITDIR)/idnode.service
	$(INSTALL) -m 644 contrib/systemd/idnode.sysusers \
	  $(DESTDIR)$(SYSUSERSDIR)/idnode.conf

# Leaves the configuration (idnode.conf) and the data alone.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/idctl $(DESTDIR)$(SBINDIR)/idnode \
	  $(DESTDIR)$(MANDIR)/man1/idctl.1 \
	  $(DESTDIR)$(MANDIR)/man5/idnode.conf.5 \
	  $(DESTDIR)$(MANDIR)/man8/idnode.8 \
	  $(DESTDIR)$(SYSCONFDIR)/idnode/idnode.conf.example \
	  $(DESTDIR)$(UNITDIR)/idnode.service \
	  $(DESTDIR)$(SYSUSERSDIR)/idnode.conf
	rm -rf $(DESTDIR)$(WEBDIR) $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(DATADIR)/idnode 2>/dev/null

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
