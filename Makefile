# toykv build entry points. `make quickstart` and `make test` are the README's two commands.

CARGO ?= cargo

.PHONY: quickstart test watchdog-test rust-test loom lint header-check fuzz-build c-fuzz-build fuzz-ci

# Build libtoykv and run the C quickstart against it.
quickstart: c-quickstart

# Every test: the test watchdog's own check, then Rust unit and integration tests of the whole
# workspace, the library and the `toykv` command-line tool in cli/ (release build: the
# recovery and model tests push hundreds of thousands of records), then the loom models of
# the write path's thread protocols, then the C tests (plain, valgrind, ASan+UBSan), then the
# kill -9 crash harness (50 cycles per mode), then an install into a temporary prefix used
# through pkg-config, then the Go binding (go vet, go test -race) and the Python binding
# (pytest, pip install), then the side-by-side benchmark at N = 10,000 as a smoke test (it
# builds and every store reads the same bytes).
test: watchdog-test rust-test loom c-test crash-test c-install-test go-test py-test bench-smoke

# The watchdog every test below runs under (tests/watchdog.sh) passes statuses through and
# still stops a hang, with its stacks.
watchdog-test:
	tests/watchdog-test.sh

# Under tests/watchdog.sh, as the C tests are (c.mk): a hung test prints its stacks and fails
# within the limit instead of holding CI to its own.
rust-test:
	$(CARGO) build --release --examples
	tests/watchdog.sh 2400 $(CARGO) test --release --workspace --lib --tests

# The loom models (the `loom_` tests; doc/RELIABILITY.md, "Concurrency tools"): the write
# path's thread protocols under every interleaving up to LOOM_MAX_PREEMPTIONS preemptions.
# Built with `--cfg loom` in a target directory of its own, so the normal build's cache
# stays. A deeper run: `make loom LOOM_MAX_PREEMPTIONS=4` (under a minute; 5 takes long).
LOOM_MAX_PREEMPTIONS ?= 3
loom:
	RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=$(LOOM_MAX_PREEMPTIONS) tests/watchdog.sh 1800 \
		$(CARGO) test --release --lib --target-dir target/loom loom_ -- --nocapture --test-threads 1

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The checked-in header must be what build.rs generates from src/ffi.
header-check:
	$(CARGO) build --release
	git diff --exit-code -- include/toykv.h

# ---- fuzzing (doc/RELIABILITY.md) ----------------------------------------------------------
# The Rust targets in fuzz/ (cargo-fuzz, nightly) and the C API target fuzz/c/c_api.c (clang
# with -fsanitize=fuzzer,address,undefined). `make fuzz-ci` runs each for FUZZ_SECONDS from
# its checked-in seeds (fuzz/corpus/<target>); new inputs go to fuzz/corpus-work, crashers
# to fuzz/artifacts. A long run: `make fuzz-ci FUZZ_SECONDS=3600`.
FUZZ_SECONDS ?= 7
FUZZ_TARGETS = log_reader wal_replay block sstable manifest write_batch api_sequence
# libFuzzer's coverage counters in the Rust library, so that the C target is guided by what
# the engine does, not only by its own few branches (the flags cargo-fuzz uses).
C_FUZZ_RUSTFLAGS = -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
	-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
	-Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares
C_FUZZ_TARGET_DIR = target/c-fuzz
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros.
C_FUZZ_HOST = $(shell rustc -vV | sed -n 's/^host: //p')

fuzz-build:
	$(CARGO) +nightly fuzz build -O

c-fuzz-build:
	RUSTFLAGS="$(C_FUZZ_RUSTFLAGS)" $(CARGO) build --release --lib \
		--target $(C_FUZZ_HOST) --target-dir $(C_FUZZ_TARGET_DIR)
	mkdir -p build/c
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Iinclude fuzz/c/c_api.c $(C_FUZZ_TARGET_DIR)/$(C_FUZZ_HOST)/release/libtoykv.a -lpthread -ldl -lm \
		-o build/c/c_api_fuzz

fuzz-ci: fuzz-build c-fuzz-build
	@set -e; mkdir -p fuzz/corpus-work fuzz/artifacts/c_api; passed=0; \
	for t in $(FUZZ_TARGETS) c_api; do \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; mkdir -p fuzz/corpus-work/$$t; \
		log=fuzz/corpus-work/$$t.log; \
		dirs="fuzz/corpus-work/$$t fuzz/corpus/$$t"; \
		limits="-max_total_time=$(FUZZ_SECONDS) -max_len=4096"; \
		if [ $$t = c_api ]; then \
			cmd="build/c/c_api_fuzz -artifact_prefix=fuzz/artifacts/c_api/ $$limits $$dirs"; \
		else \
			cmd="$(CARGO) +nightly fuzz run -O $$t $$dirs -- $$limits"; \
		fi; \
		if $$cmd > $$log 2>&1; then \
			grep -E '^Done' $$log || true; passed=$$((passed + 1)); \
		else \
			tail -40 $$log; echo "fuzz: $$t found a crasher (fuzz/artifacts/$$t)"; \
			echo "$$passed passed, 1 failed"; exit 1; \
		fi; \
	done; \
	echo "$$passed passed, 0 failed"

include c.mk
include bindings.mk
# make bench, bench-long, bench-smoke, bench-examples (bench/bench.mk).
include bench/bench.mk
