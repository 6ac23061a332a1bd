# toykv build entry points. `make quickstart` and `make test` are the README's two commands.

CARGO ?= cargo

.PHONY: quickstart test rust-test lint bench header-check

# Build libtoykv and run the C quickstart against it.
quickstart: c-quickstart

# Every test: Rust unit and integration tests of the whole workspace, the library and the
# `toykv` command-line tool in cli/ (release build: the recovery and model tests push
# hundreds of thousands of records), then the C tests (plain, valgrind, ASan+UBSan), then an
# install into a temporary prefix used through pkg-config, then the Go binding (go vet,
# go test -race) and the Python binding (pytest, pip install).
test: rust-test c-test c-install-test go-test py-test

rust-test:
	$(CARGO) build --release --examples
	$(CARGO) test --release --workspace --lib --tests

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The checked-in header must be what build.rs generates from src/ffi.
header-check:
	$(CARGO) build --release
	git diff --exit-code -- include/toykv.h

# The learning project's read benchmark, the C layer's per-call cost and the Go binding's
# (cgo) per-call cost beside C's (numbers depend on the machine: not tests).
bench:
	$(CARGO) run --release --example read_bench
	$(CARGO) run --release --example ffi_overhead
	$(MAKE) --no-print-directory go-bench

include c.mk
include bindings.mk
