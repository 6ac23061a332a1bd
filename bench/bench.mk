# bench.mk - the side-by-side benchmark (bench/): toykv, LevelDB, RocksDB and LMDB through
# their C APIs. Included from the Makefile; paths are relative to the repository root.
#
#   make bench        N = 1,000,000, every workload: table on stdout, CSV and SVG chart in
#                     build/bench/ (about 10 minutes on 2 cores)
#   make bench-long   N = 10,000,000 for readrandom, seekrandom and readseq (about 15 min)
#   make bench-smoke  N = 10,000: it builds, every store runs every workload, and the read
#                     checksums agree (part of `make test`; never a timing)
#   make bench-examples  the example benchmarks (read_bench, the C and Go per-call costs)
#
# Needs Debian's libleveldb-dev, librocksdb-dev and liblmdb-dev (and python3 for the chart).

bench_mk_saved_default_goal := $(.DEFAULT_GOAL)

BENCH_BUILD = build/bench
BENCH_SRC = bench/bench.c bench/backend_toykv.c bench/backend_leveldb.c \
	bench/backend_rocksdb.c bench/backend_lmdb.c
BENCH_ARGS ?=
ROCKSDB_VERSION_H ?= /usr/include/rocksdb/version.h
bench_rocksdb_version = $(foreach part,MAJOR MINOR PATCH,-DBENCH_ROCKSDB_$(part)=$(shell \
	sed -n 's/^\#define ROCKSDB_$(part) \([0-9]*\).*/\1/p' $(ROCKSDB_VERSION_H) 2>/dev/null))

.PHONY: bench bench-long bench-smoke bench-build bench-examples

bench-build: c-build
	@mkdir -p $(BENCH_BUILD)
	@test -f $(ROCKSDB_VERSION_H) || { echo "bench: install libleveldb-dev librocksdb-dev liblmdb-dev" >&2; exit 1; }
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -Iinclude $(bench_rocksdb_version) \
		$(BENCH_SRC) -o $(BENCH_BUILD)/bench \
		-L$(LIBDIR) -ltoykv -Wl,-rpath,$(abspath $(LIBDIR)) -lleveldb -lrocksdb -llmdb

bench: bench-build
	$(BENCH_BUILD)/bench --csv $(BENCH_BUILD)/results.csv $(BENCH_ARGS)
	python3 bench/chart.py $(BENCH_BUILD)/results.csv $(BENCH_BUILD)/results.svg

bench-long: bench-build
	$(BENCH_BUILD)/bench --n 10000000 --workloads readrandom,seekrandom,readseq \
		--csv $(BENCH_BUILD)/results-10m.csv $(BENCH_ARGS)
	python3 bench/chart.py $(BENCH_BUILD)/results-10m.csv $(BENCH_BUILD)/results-10m.svg

bench-smoke: bench-build
	tests/watchdog.sh 900 $(BENCH_BUILD)/bench --n 10000 --dir $(BENCH_BUILD)/smoke-data \
		--csv $(BENCH_BUILD)/smoke.csv
	python3 bench/chart.py $(BENCH_BUILD)/smoke.csv $(BENCH_BUILD)/smoke.svg
	@echo "1 passed, 0 failed: bench smoke (every store, every workload, checksums agree)"

# The example benchmarks: the learning project's read benchmark, the C layer's per-call cost
# and the Go binding's (cgo) per-call cost beside C's.
bench-examples:
	$(CARGO) run --release --example read_bench
	$(CARGO) run --release --example ffi_overhead
	$(MAKE) --no-print-directory go-bench

.DEFAULT_GOAL := $(bench_mk_saved_default_goal)
