# bench/bench.mk — the C programs behind `make bench` (bench/run.sh builds
# them with `make -f Makefile -f bench/bench.mk`, or through an include in the
# Makefile). They link build/libdeadbolt.a; they are not part of deadbolt.

BENCH_PROGS = bench_client bench_sandbox

$(BUILD)/bench/%: bench/%.c $(BUILD)/libdeadbolt.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libdeadbolt.a $(LDLIBS)

.PHONY: bench-progs
bench-progs: $(BENCH_PROGS:%=$(BUILD)/bench/%)
