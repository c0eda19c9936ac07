# parley: a terminal chat client for local LLMs.
#   make            build ./parley
#   make deps       install the Debian packages the build and tests need (root)
#   make check      sanitizer build + every test; last line "N passed, N failed"
#   make bench      benchmarks (not part of check)
#   make run        deps if missing, build, start parley
#   make install    PREFIX=/usr/local DESTDIR=
# V=1 shows full commands; WERROR=1 turns warnings into errors.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/parley
DESTDIR ?=

CC      ?= cc
PKGS    := ncursesw libcurl jansson libedit libmicrohttpd sqlite3 inih md4c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl and libmicrohttpd are opened on first use (src/dl.c), not linked:
# their thirty-odd dependencies cost ~9 ms at every exec. Their sonames come
# from the development links pkg-config points at.
DL_PKGS    := libcurl libmicrohttpd
PKG_LIBS   := $(shell pkg-config --libs $(filter-out $(DL_PKGS),$(PKGS)) 2>/dev/null)
MHD_LIBS   := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
soname      = $(shell objdump -p $$(pkg-config --variable=libdir $(1) 2>/dev/null)/$(1).so 2>/dev/null | \
                awk '$$1 == "SONAME" { print $$2 }')
CURL_SONAME := $(call soname,libcurl)
MHD_SONAME  := $(call soname,libmicrohttpd)

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes \
           -Wstrict-prototypes -Wwrite-strings -Wpointer-arith -Wundef
ifeq ($(WERROR),1)
WARN    += -Werror
endif
CFLAGS  ?= -O2 -g
DL_DEFS  = $(if $(CURL_SONAME),-DPARLEY_CURL_SONAME='"$(CURL_SONAME)"') \
           $(if $(MHD_SONAME),-DPARLEY_MHD_SONAME='"$(MHD_SONAME)"')
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DPARLEY_DATADIR='"$(DATADIR)"' $(DL_DEFS) \
             -Iinclude $(WARN) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lm -ldl

# BUILD selects the object tree: rel (default) or san (ASan+UBSan, for tests).
BUILD   ?= rel
ifeq ($(BUILD),san)
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
OUT     ?= build/$(BUILD)

ifeq ($(V),1)
Q :=
else
Q := @
endif

SRCS     := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS     := $(SRCS:src/%.c=$(OUT)/%.o)
LIB      := $(OUT)/libparley.a
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
FAKE_SRC := $(wildcard tests/fakes/*.c)
FAKE_BIN := $(OUT)/tests/fakellm
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

.PHONY: all deps check test unit lint format bench run install uninstall clean fuzz

all: parley

ifeq ($(BUILD),rel)
parley: $(OUT)/parley
	$(Q)cp $< $@
endif

$(OUT)/parley: $(OUT)/main.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# Rebuild everything when the compiler flags (PREFIX included, through
# PARLEY_DATADIR) differ from the last build in this tree.
$(OUT)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(VERSION)' | cmp -s - $@ || \
	  echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(VERSION)' > $@

.PHONY: FORCE
FORCE:

$(OUT)/%.o: src/%.c $(OUT)/.flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DPARLEY_VERSION='"$(VERSION)"' -c -o $@ $<

$(OUT)/tests/%.o: tests/unit/%.c $(OUT)/.flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -c -o $@ $<

$(OUT)/tests/test_%: $(OUT)/tests/test_%.o $(OUT)/tests/tcase.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(OUT)/tests/fakes/%.o: tests/fakes/%.c $(OUT)/.flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -c -o $@ $<

# The test double links libmicrohttpd itself, ahead of parley's loader.
$(FAKE_BIN): $(FAKE_SRC:tests/fakes/%.c=$(OUT)/tests/fakes/%.o) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter-out $(LIB),$^) $(MHD_LIBS) $(LIB) $(LDLIBS) -lpthread

# The test build: everything under sanitizers, then the runner.
check: lint
	$(Q)$(MAKE) --no-print-directory BUILD=san tests-build
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/run.sh build/san

tests-build: $(OUT)/parley $(UNIT_BIN) $(FAKE_BIN)

test: check

lint:
	$(Q)tests/lint.sh

format:
	$(Q)clang-format -i src/*.c include/*.h tests/unit/*.c tests/fakes/*.c tests/*.h

# Debian packages for the build, the tests and the benchmarks. Each is
# installed only when missing: node and npm may come from elsewhere, and
# mixing their sources breaks apt.
DEB_PKGS := build-essential pkg-config libncurses-dev libcurl4-openssl-dev \
            libjansson-dev libedit-dev libmicrohttpd-dev libsqlite3-dev \
            libinih-dev libmd4c-dev libcmocka-dev clang libclang-rt-14-dev clang-format tmux jq \
            curl sqlite3 valgrind
deps:
	$(Q)missing=""; \
	for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all build and test dependencies are installed"; fi
	$(Q)# the node packages the tests run (the openai SDK, real MCP servers),
	$(Q)# pinned by tests/node/package-lock.json
	$(Q)cd tests/node && npm ci --no-audit --no-fund --loglevel=error

run:
	$(Q)pkg-config --exists $(PKGS) || $(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory parley
	./parley

install: parley
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR)/themes
	install -m 755 parley $(DESTDIR)$(BINDIR)/parley
	install -m 644 man/parley.1 $(DESTDIR)$(MANDIR)/man1/parley.1
	install -m 644 themes/*.theme $(DESTDIR)$(DATADIR)/themes/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/parley $(DESTDIR)$(MANDIR)/man1/parley.1
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build parley

-include $(wildcard build/*/*.d build/*/tests/*.d build/*/tests/fakes/*.d)

# ---- fuzz: libFuzzer targets for the parsers (clang) ----
#   make fuzz           build tests/fuzz/fuzz_*.c and run each FUZZ_SECONDS
#   make fuzz-smoke     the same, 3 seconds each
# Each target runs on a scratch copy of its seed corpus, so the corpus in the
# repository only changes by hand; a crash fails the target and leaves the
# input in build/fuzz/<target>-crash-*.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_OUT     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -DPARLEY_DATADIR='"$(DATADIR)"' $(DL_DEFS) \
                -DPARLEY_VERSION='"$(VERSION)"' -Iinclude $(WARN) $(PKG_CFLAGS) \
                -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -MMD -MP
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_OUT)/%)
FUZZ_OBJS    := $(SRCS:src/%.c=$(FUZZ_OUT)/obj/%.o)

.PHONY: fuzz-build fuzz-smoke

$(FUZZ_OUT)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_OUT)/libparley.a: $(FUZZ_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OUT)/libparley.a
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OUT)/libparley.a $(PKG_LIBS) -lm -ldl

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	$(Q)for t in $(FUZZ_BIN); do \
	  name=$${t##*/}; scratch=$$(mktemp -d); \
	  cp tests/fuzz/corpus/$$name/* "$$scratch"/ 2>/dev/null; \
	  dict=; [ -f tests/fuzz/$$name.dict ] && dict=-dict=tests/fuzz/$$name.dict; \
	  echo "  FUZZ    $$name ($(FUZZ_SECONDS)s)"; \
	  if ! $$t $$dict -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -rss_limit_mb=2048 \
	      -artifact_prefix=$(FUZZ_OUT)/$$name- "$$scratch" >$(FUZZ_OUT)/$$name.log 2>&1; then \
	    tail -n 40 $(FUZZ_OUT)/$$name.log; rm -rf "$$scratch"; \
	    echo "fuzz: $$name failed (log $(FUZZ_OUT)/$$name.log)"; exit 1; \
	  fi; \
	  grep -E '^Done [0-9]+ runs' $(FUZZ_OUT)/$$name.log | sed 's/^/          /'; \
	  rm -rf "$$scratch"; \
	done

fuzz-smoke:
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=3

-include $(wildcard $(FUZZ_OUT)/obj/*.d $(FUZZ_OUT)/*.d)
# ---- end fuzz ----

# ---- bench: parley against curl and the official clients (not in check) ----
#   make bench               the full run (a few minutes), table + build/bench/results.json
#   make bench BENCH_QUICK=1 a smoke run on small inputs
# The helpers measure a command's own CPU and memory (rusage) and time an
# interactive face on a pseudo-terminal (ptyrun); the release build is used.
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=build/rel/bench/%)

.PHONY: bench-build

build/rel/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -o $@ $< -lutil

bench-build: $(BENCH_BIN)

bench: parley
	$(Q)$(MAKE) --no-print-directory BUILD=rel tests-build bench-build
	$(Q)BENCH_QUICK=$(BENCH_QUICK) tests/bench/run.sh build/rel
# ---- end bench ----
