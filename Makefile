# Keystone — plain GNU make + pkg-config.  `make V=1` shows the commands.
#
#   make              build/keystone and the helper binaries
#   make check        every test layer (unit, host, vm); ends with a summary
#   make check-fast   unit + host tests
#   make check-vm [ONLY=name]
#   make fuzz [FUZZ_TIME=seconds]   libFuzzer harnesses, bounded time each
#   make demo         the main job (see README.md)
#   make deps         install the Debian packages the build and tests need
#
# Areas add their pkg-config packages and Debian packages without touching
# this file: mk/<area>.mk (PKGS += …) and mk/deps/<area>.list.

CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif
CLANG   ?= clang
BUILD   ?= build
PKGS    := json-c
-include $(sort $(wildcard mk/*.mk))

VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)

CFLAGS_BASE := -std=gnu17 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wshadow -Wformat=2 -Wno-format-truncation -Wmissing-prototypes -Wstrict-prototypes \
	-fno-strict-aliasing -D_GNU_SOURCE -Isrc -MMD -MP
CFLAGS  ?= -O2 -g
# pkg-config runs when a recipe first needs its flags, not when this file is
# read: on a fresh machine the -dev packages arrive only with $(BUILD)/.deps,
# which every compile and link waits for.  Each is computed once per make
# (the eval replaces the recursive variable by its value) and an unknown
# package stops the build with pkg-config's own message.
pkg_config = $(shell pkg-config $(1) $(PKGS) 2>&1 || echo __pkg_config_failed)
pkg_checked = $(if $(findstring __pkg_config_failed,$(1)),$(error pkg-config $(2) $(PKGS) failed: $(subst __pkg_config_failed,,$(1)); run 'make deps' (scripts/deps.sh) and check mk/*.mk),$(1))
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg_checked,$(call pkg_config,--cflags),--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(call pkg_checked,$(call pkg_config,--libs),--libs))$(PKG_LIBS)
ALL_CFLAGS  = $(CFLAGS_BASE) $(CFLAGS) $(PKG_CFLAGS)
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS   = $(PKG_LIBS) -lresolv

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Library code: every src/<area>/*.c except the command layer and programs.
LIB_SRCS  := $(sort $(filter-out src/cmd/% src/bin/%,$(wildcard src/*/*.c)))
CMD_SRCS  := src/keystone.c $(sort $(wildcard src/cmd/*.c))
BIN_SRCS  := $(sort $(wildcard src/bin/*.c))
BINS      := $(BIN_SRCS:src/bin/%.c=$(BUILD)/%)
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
HOST_C    := $(sort $(wildcard tests/host/test-*.c))
HOST_BINS := $(HOST_C:tests/host/%.c=$(BUILD)/tests/host/%)
HOST_SH   := $(sort $(wildcard tests/host/test-*.sh))
VM_C      := $(sort $(wildcard tests/vm/test-*.c))
VM_BINS   := $(VM_C:tests/vm/%.c=$(BUILD)/tests/vm/%)
# The VM tests' own layer over src/vm (helpers that fail the test on any
# error, cached test images): tests/lib/vmtest*.c, in a library only the
# VM tests link, never in libkeystone.a.
VMTEST_SRCS := $(sort $(wildcard tests/lib/vmtest*.c))
VMTEST_OBJS := $(VMTEST_SRCS:%.c=$(BUILD)/asan/obj/%.o)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

LIB_OBJS      := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB_ASAN_OBJS := $(LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)
CMD_OBJS      := $(CMD_SRCS:%.c=$(BUILD)/obj/%.o)
CMD_ASAN_OBJS := $(CMD_SRCS:%.c=$(BUILD)/asan/obj/%.o)

.SECONDARY:
.PHONY: FORCE all deps check check-fast check-unit check-host check-vm fuzz demo clean tests
.DEFAULT_GOAL := all

all: $(BUILD)/.deps $(BUILD)/keystone $(BINS)

# Every build first checks that the Debian packages of mk/deps/*.list are
# installed (one dpkg-query, ~0.2 s) and has scripts/deps.sh apt-get install
# what is missing.  Objects depend on the stamp order-only, so the check
# never forces a rebuild.
deps:
	$(Q)scripts/deps.sh
$(BUILD)/.deps: FORCE
	$(Q)scripts/deps.sh
	$(Q)mkdir -p $(@D) && touch $@

# Every object depends on the deps stamp, so a fresh machine installs
# headers before the first compile (order-only: no rebuild when it changes).
$(BUILD)/obj/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/asan/obj/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC-ASAN $<")
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $(ASAN_FLAGS) -c -o $@ $<

# The version lives in one object, rebuilt when `git describe` changes.
$(BUILD)/version.c: FORCE | $(BUILD)/.deps
	@mkdir -p $(@D)
	@printf 'const char keystone_version[] = "%s";\n' '$(VERSION)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:
$(BUILD)/obj/version.o: $(BUILD)/version.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/asan/obj/version.o: $(BUILD)/version.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

# Built-in modules are embedded in the binary, so keystone works anywhere.
MODULES := $(sort $(wildcard modules/*.toml))
$(BUILD)/modules.c: $(MODULES) scripts/embed-modules.sh | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(Q)scripts/embed-modules.sh $(MODULES) > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/modules.o: $(BUILD)/modules.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/asan/obj/modules.o: $(BUILD)/modules.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

$(BUILD)/libkeystone.a: $(LIB_OBJS) $(BUILD)/obj/version.o $(BUILD)/obj/modules.o
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/asan/libkeystone.a: $(LIB_ASAN_OBJS) $(BUILD)/asan/obj/version.o $(BUILD)/asan/obj/modules.o
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/keystone: $(CMD_OBJS) $(BUILD)/libkeystone.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/asan/keystone: $(CMD_ASAN_OBJS) $(BUILD)/asan/libkeystone.a
	@$(if $(Q),echo "  LD-ASAN $@")
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/%: $(BUILD)/obj/src/bin/%.o $(BUILD)/libkeystone.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/asan/%: $(BUILD)/asan/obj/src/bin/%.o $(BUILD)/asan/libkeystone.a
	@$(if $(Q),echo "  LD-ASAN $@")
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

# keystone-kexec runs on the target (a stock Debian 12 or 13), whatever its
# C library: static, and without libkeystone, which it does not need.
$(BUILD)/keystone-kexec: $(BUILD)/obj/src/bin/keystone-kexec.o
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(CFLAGS) -static -o $@ $<
# The sanitizer build's is a copy of the static one: an ASan binary is not
# static and would not run on the target, and `build/asan/keystone install`
# uploads the keystone-kexec beside it.
$(BUILD)/asan/keystone-kexec: $(BUILD)/keystone-kexec
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CP      $@")
	$(Q)cp -f $< $@

# Test programs: always the sanitizer build.
$(BUILD)/tests/%: $(BUILD)/asan/obj/tests/%.o $(BUILD)/asan/libkeystone.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD-ASAN $@")
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The VM tests: their test layer (tests/lib/vmtest*.h, included by bare
# name) goes before libkeystone.a on the link line.
$(BUILD)/asan/obj/tests/vm/%.o $(VMTEST_OBJS): CFLAGS_BASE += -Itests/lib
$(BUILD)/tests/lib/libvmtest.a: $(VMTEST_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^
$(VM_BINS): $(BUILD)/tests/vm/%: $(BUILD)/asan/obj/tests/vm/%.o $(BUILD)/tests/lib/libvmtest.a $(BUILD)/asan/libkeystone.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD-ASAN $@")
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# test-cmd runs the command framework itself on a tree of fake verbs
$(BUILD)/tests/unit/test-cmd: $(BUILD)/asan/obj/src/cmd/cmd.o

# test-run watches what run() hands back to the allocator (secrets wiped)
$(BUILD)/tests/unit/test-run: LDLIBS += -Wl,--wrap=free,--wrap=realloc

# LD_PRELOAD shims the host tests use to inject faults (tests/lib/*.c)
$(BUILD)/tests/lib/%.so: tests/lib/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -shared -fPIC -o $@ $< -ldl

tests: $(BUILD)/keystone $(BINS) $(BUILD)/asan/keystone $(BINS:$(BUILD)/%=$(BUILD)/asan/%) \
	$(UNIT_BINS) $(HOST_BINS) $(VM_BINS) $(BUILD)/tests/lib/fail-read.so

RUN_TESTS = BUILD=$(abspath $(BUILD)) tests/run.sh
# The VM tests add cache entries (images, generations) per source change:
# keep the cache under its limit first (keystone cache prune --help).
PRUNE_CACHE = $(BUILD)/keystone cache prune >$(BUILD)/cache-prune.log && tail -n 1 $(BUILD)/cache-prune.log \
	|| echo "make: keystone cache prune failed (see above); the tests go on"
check: all tests
	$(Q)$(PRUNE_CACHE)
	$(Q)$(RUN_TESTS) $(UNIT_BINS) $(HOST_BINS) $(HOST_SH) $(VM_BINS)
check-fast: all tests
	$(Q)$(RUN_TESTS) $(UNIT_BINS) $(HOST_BINS) $(HOST_SH)
check-unit: all tests
	$(Q)$(RUN_TESTS) $(UNIT_BINS)
check-host: all tests
	$(Q)$(RUN_TESTS) $(HOST_BINS) $(HOST_SH)
check-vm: all tests
	$(Q)$(PRUNE_CACHE)
	$(Q)$(RUN_TESTS) $(if $(ONLY),$(filter %/test-$(ONLY) %/$(ONLY),$(VM_BINS)),$(VM_BINS))

# libFuzzer: clang builds the library once (instrumented, no fuzzer main)
# and links each harness against it.  Clang also refuses what GCC lets by,
# such as a goto past a _cleanup_ declaration; .ci/run builds this.
FUZZ_TIME ?= 60
FUZZ_SAN    = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -g -O1 $(FUZZ_SAN) $(filter-out -MMD -MP -Wno-format-truncation,$(CFLAGS_BASE)) $(PKG_CFLAGS)
FUZZ_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) $(BUILD)/fuzz/obj/version.o $(BUILD)/fuzz/obj/modules.o
$(BUILD)/fuzz/obj/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CLANG   $<")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(BUILD)/fuzz/obj/version.o: $(BUILD)/version.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<
$(BUILD)/fuzz/obj/modules.o: $(BUILD)/modules.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<
$(BUILD)/fuzz/libkeystone.a: $(FUZZ_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libkeystone.a | $(BUILD)/.deps
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
fuzz: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		seeds=; [ -d tests/fuzz/corpus/$$n ] && seeds=tests/fuzz/corpus/$$n; \
		echo "fuzz: $$n for $(FUZZ_TIME)s"; \
		$$f -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$n- $(BUILD)/fuzz/corpus-$$n $$seeds \
			2>$(BUILD)/fuzz/$$n.log || { tail -30 $(BUILD)/fuzz/$$n.log; exit 1; }; \
		grep -E '^#[0-9]+.*DONE' $(BUILD)/fuzz/$$n.log | tail -1; \
	done

demo: all
	$(Q)scripts/demo.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
