# toykv build entry points. `make quickstart` and `make test` are the README's two commands.

CARGO ?= cargo

.PHONY: quickstart test rust-test lint bench header-check

# Build libtoykv and run the C quickstart against it.
quickstart: c-quickstart

# Every test: Rust unit and integration tests (release build: the recovery and model tests
# push hundreds of thousands of records), then the C tests (plain, valgrind, ASan+UBSan),
# then the kill -9 crash harness (50 cycles per mode), then an install into a temporary
# prefix used through pkg-config.
test: rust-test c-test crash-test c-install-test

rust-test:
	$(CARGO) build --release --examples
	$(CARGO) test --release --lib --tests

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# The checked-in header must be what build.rs generates from src/ffi.
header-check:
	$(CARGO) build --release
	git diff --exit-code -- include/toykv.h

# The learning project's read benchmark and the C layer's per-call cost (numbers depend
# on the machine: not tests).
bench:
	$(CARGO) run --release --example read_bench
	$(CARGO) run --release --example ffi_overhead

include c.mk
