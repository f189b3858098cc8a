# imapmoved build. `make` builds ./imapmoved; `make check` runs every test;
# `make demo` starts a demo server; see README.

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/imapmoved
DESTDIR    ?=

VERSION := 0.1.0
CC      ?= cc
CLANG   ?= clang
PYTHON  ?= /usr/bin/python3

PKGS := gnutls libcrypt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lgnutls -lcrypt)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wold-style-definition -Wpointer-arith -Wvla \
	-Wcast-qual -Wwrite-strings -Wimplicit-fallthrough -Wundef
DEFS := -std=c11 -D_GNU_SOURCE -I. -DIMAPMOVED_VERSION='"$(VERSION)"' \
	-DSYSCONFDIR='"$(SYSCONFDIR)"'
CFLAGS ?= -O2 -g
REL_CFLAGS := $(DEFS) $(WARN) $(CFLAGS) -fno-common -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 $(PKG_CFLAGS)
FAULT_CFLAGS := $(REL_CFLAGS) -DIMAPMOVED_FAULTS
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_CFLAGS := $(DEFS) $(WARN) -O1 -g -fno-omit-frame-pointer -fno-common \
	$(SAN) -DIMAPMOVED_FAULTS $(PKG_CFLAGS)
FUZZ_CFLAGS := $(DEFS) $(WARN) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS)

SRCS  := $(sort $(wildcard lib/*.c maildir/*.c protocol/*.c server/*.c))
CORE  := $(filter-out server/main.c,$(SRCS))
UNITS := $(sort $(wildcard tests/unit/test-*.c))
FUZZERS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
TOOLS := $(sort $(wildcard tests/tools/*.c))

define variant
$(1)_OBJS := $$(CORE:%.c=build/$(1)/%.o)
build/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$(2) $(3) -MMD -MP -c $$< -o $$@
build/$(1)/libimapmoved.a: $$($(1)_OBJS)
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/imapmoved: build/$(1)/server/main.o build/$(1)/libimapmoved.a
	$(2) $(3) -o $$@ $$^ $(PKG_LIBS)
build/$(1)/tests/unit/%: build/$(1)/tests/unit/%.o build/$(1)/libimapmoved.a
	$(2) $(3) -o $$@ $$^ $(CMOCKA_LIBS) $(PKG_LIBS)
build/$(1)/tests/tools/%: build/$(1)/tests/tools/%.o build/$(1)/libimapmoved.a
	$(2) $(3) -o $$@ $$^ $(PKG_LIBS)
$(1)-all: build/$(1)/imapmoved $$(UNITS:%.c=build/$(1)/%) $$(TOOLS:%.c=build/$(1)/%)
endef

$(eval $(call variant,rel,$(CC),$(REL_CFLAGS)))
$(eval $(call variant,faults,$(CC),$(FAULT_CFLAGS)))
$(eval $(call variant,asan,$(CLANG),$(ASAN_CFLAGS)))
$(eval $(call variant,fuzz,$(CLANG),$(FUZZ_CFLAGS)))

.PHONY: all check unit demo fuzz fuzz-build install lint format deps clean \
	rel-all faults-all asan-all bench
.SECONDARY:

all: imapmoved

imapmoved: build/rel/imapmoved
	cp $< $@.tmp && mv -f $@.tmp $@

build/fuzz/tests/fuzz/%: build/fuzz/tests/fuzz/%.o build/fuzz/libimapmoved.a
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-build: $(FUZZERS:%.c=build/fuzz/%)

deps:
	@sh tools/deps.sh

# Everything a test run needs: the release binary, the fault-injection build
# (gcc) used by unit and crash tests, the sanitizer build (clang) and the
# fuzz targets (replayed over their seed corpora).
check: deps
	$(MAKE) imapmoved faults-all asan-all fuzz-build
	@sh tests/check.sh

unit: faults-all
	@sh tests/check.sh unit

fuzz: fuzz-build
	@for f in $(FUZZERS:%.c=build/fuzz/%); do \
		n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
		echo "fuzzing $$n for $${FUZZ_SECONDS:-60}s"; \
		$$f -max_total_time=$${FUZZ_SECONDS:-60} -dict=tests/fuzz/imap.dict \
			build/fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

demo: deps
	$(MAKE) imapmoved
	@sh tools/demo.sh

# Units and examples carry @SBINDIR@ and @SYSCONFDIR@; the man pages name
# the default /usr/local paths. Both get the configured paths here.
SUBST := sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|/usr/local/sbin|$(SBINDIR)|g' -e 's|/usr/local/etc|$(SYSCONFDIR)|g' \
	-e 's|/usr/local/lib/systemd/system|$(SYSTEMDUNITDIR)|g' \
	-e 's|/usr/local/share/doc/imapmoved|$(DOCDIR)|g'

install: imapmoved
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR) \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DOCDIR)/xinetd.d
	install -m 755 imapmoved $(DESTDIR)$(SBINDIR)/imapmoved
	$(SUBST) man/imapmoved.8 >$(DESTDIR)$(MANDIR)/man8/imapmoved.8
	$(SUBST) man/imapmoved.conf.5 >$(DESTDIR)$(MANDIR)/man5/imapmoved.conf.5
	$(SUBST) imapmoved.conf.example \
		>$(DESTDIR)$(SYSCONFDIR)/imapmoved.conf.example
	for f in server/systemd/*.socket server/systemd/*.service.in; do \
		$(SUBST) $$f >$(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$f .in) \
			|| exit 1; \
	done
	$(SUBST) server/systemd/strict.conf >$(DESTDIR)$(DOCDIR)/strict.conf
	$(SUBST) server/inetd/inetd.conf.in >$(DESTDIR)$(DOCDIR)/inetd.conf
	$(SUBST) server/inetd/xinetd.d/imapmoved.in \
		>$(DESTDIR)$(DOCDIR)/xinetd.d/imapmoved
	$(SUBST) imapmoved.conf.example >$(DESTDIR)$(DOCDIR)/imapmoved.conf.example
	chmod 644 $(DESTDIR)$(MANDIR)/man8/imapmoved.8 \
		$(DESTDIR)$(MANDIR)/man5/imapmoved.conf.5 \
		$(DESTDIR)$(SYSCONFDIR)/imapmoved.conf.example \
		$(DESTDIR)$(SYSTEMDUNITDIR)/imapmoved* $(DESTDIR)$(DOCDIR)/*.conf \
		$(DESTDIR)$(DOCDIR)/imapmoved.conf.example \
		$(DESTDIR)$(DOCDIR)/xinetd.d/imapmoved

format:
	clang-format -i $(SRCS) $(wildcard */*.h tests/unit/*.c tests/fuzz/*.c)

lint:
	@sh tools/lint.sh

bench: deps
	$(MAKE) imapmoved build/rel/tests/tools/bench-rename
	$(PYTHON) tests/bench/bench.py

clean:
	rm -rf build imapmoved imapmoved.tmp

-include $(shell find build -name '*.d' 2>/dev/null)
