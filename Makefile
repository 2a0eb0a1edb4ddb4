# deadbolt — build, test, bench.
#
#   make            build build/deadbolt
#   make deps       install what the build and the tests need (Debian + Python)
#   make test       build and run every test (C units, the same under ASan+UBSan,
#                   then integration on moto)
#   make check-asan the C unit tests under AddressSanitizer and UBSan
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each (default 60)
#   make bench      benchmarks that print ratios against a peer run
#
# Sources are found by wildcard: a new engine/*/*.c or sandbox/*.c is built
# without touching this file; a new tests/unit/test_*.c becomes a Check binary.

CC      ?= cc
BUILD   ?= build
# Lua, lua-cjson, libcurl and OpenSSL are built and linked statically by
# tools/deps.mk (DEPS_CFLAGS, DEPS_LIBS); pkg-config serves the tests only.
PKGS     = expat
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  ?=
CFLAGS  += $(OPT) $(SAN) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -fno-strict-aliasing -Iengine/util -Iengine/aws -Iengine/run -Iengine/cmd -Isandbox $(DEPS_CFLAGS) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(DEPS_LIBS)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

MAIN_OBJ    = $(BUILD)/obj/engine/cmd/main.o
ENGINE_SRC  = $(filter-out engine/cmd/main.c,$(wildcard engine/*/*.c sandbox/*.c))
ENGINE_OBJ  = $(ENGINE_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC    = $(wildcard tests/unit/test_*.c)
UNIT_BIN    = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps deps-check test unit integration check-asan fuzz fuzz-run bench clean demo lint

all: $(BUILD)/deadbolt

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libdeadbolt.a: $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The link puts first the archive members whose code a dry run executes
# (tools/link-order.txt, tools/link-hot.sh says why): the same objects, in
# another order; $(BUILD)/hot.list names them.
LINK_ORDER = tools/link-order.txt

$(BUILD)/deadbolt: $(MAIN_OBJ) $(BUILD)/libdeadbolt.a $(LINK_ORDER) tools/link-hot.sh
	sh tools/link-hot.sh $(BUILD)/hot $(LINK_ORDER) $(BUILD)/libdeadbolt.a $(filter %.a,$(LDLIBS)) >$(BUILD)/hot.list
	$(CC) $(CFLAGS) -o $@ $(MAIN_OBJ) $$(cat $(BUILD)/hot.list) $(BUILD)/libdeadbolt.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libdeadbolt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -MMD -MP -o $@ $< $(BUILD)/libdeadbolt.a $(LDLIBS) $(CHECK_LIBS)

# expat is linked into this one test only: it checks engine/aws/xml.c against
# expat, which xml.c replaced (the binary itself no longer uses expat).
$(BUILD)/tests/test_xml_expat: LDLIBS += -lexpat

-include $(ENGINE_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_BIN:=.d)

deps:
	sh tools/install-deps.sh

# test, demo and bench install what is missing first (quietly when nothing
# is), so that they work on a fresh machine; install-deps.sh says in one line
# what it could not install.
deps-check:
	@sh tools/install-deps.sh --check >/dev/null 2>&1 || sh tools/install-deps.sh

unit: deps-check $(UNIT_BIN)
	@sh tools/run-units.sh $(UNIT_BIN)

integration: deps-check $(BUILD)/deadbolt
	@sh tests/run-integration.sh

# test: the units, the units again under ASan and UBSan (about 5 minutes
# on two cores), then the integration tests.
test: deps-check
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory integration

check-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" unit

# Fuzz targets (tests/fuzz/fuzz_*.c): the finding decoder and the journal's
# Lua value walkers, built with clang's libFuzzer, ASan and UBSan in a build
# of their own, each run for FUZZ_SECONDS from a seed corpus
# (tools/run-fuzz.sh).
FUZZ_SECONDS ?= 60
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)

fuzz:
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang OPT="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  fuzz-run

fuzz-run: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
	@sh tools/run-fuzz.sh $(FUZZ_SECONDS) $^

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h $(BUILD)/libdeadbolt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libdeadbolt.a $(LDLIBS)

bench: deps-check $(BUILD)/deadbolt
	@sh bench/run.sh

demo: deps-check $(BUILD)/deadbolt
	@sh tools/demo.sh

clean:
	rm -rf $(BUILD)

include tools/deps.mk
include tools/Makefile.lambda.inc
