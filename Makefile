# toykv build entry points. `make quickstart` and `make test` are the README's two commands.

CARGO ?= cargo

.PHONY: quickstart test lint bench

# Build the library and run the quickstart example.
quickstart:
	$(CARGO) run --release --example quickstart

# Every test: Rust unit and integration tests (release build: the recovery and model tests
# push hundreds of thousands of records).
test:
	$(CARGO) build --release --examples
	$(CARGO) test --release --lib --tests

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# The learning project's read benchmark (not a test: numbers depend on the machine).
bench:
	$(CARGO) run --release --example read_bench
