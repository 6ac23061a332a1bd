/* backend.h - the one interface every store in the benchmark is driven through.
 *
 * Each store (toykv, LevelDB, RocksDB, LMDB) has one small file, backend_<store>.c, that
 * fills in a `struct backend` with calls into its C API. The driver (bench.c) only ever
 * calls through this table, so every store runs exactly the same workload code. A backend
 * reports any error with bench_die(): a benchmark that hit an error measured nothing.
 *
 * Threads: a bench_db is used by several threads at once in the multi-threaded workloads
 * (every store's handle allows that); a bench_iter by one thread only.
 */
#ifndef BENCH_BACKEND_H
#define BENCH_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* The settings every store gets: the same for all, by construction. */
struct bench_settings {
    size_t block_cache_bytes;  /* 8 MiB */
    int bloom_bits_per_key;    /* 10 */
    size_t write_buffer_bytes; /* memtable size: 4 MiB */
    size_t block_bytes;        /* 4096 */
    int sync;                  /* fsync the log before a write returns */
    uint64_t expected_keys;    /* sizing hint (LMDB's map size) */
};

typedef struct bench_db bench_db;
typedef struct bench_iter bench_iter;

struct backend {
    const char *name;
    /* The library version, e.g. "1.23" (static storage). */
    const char *(*version)(void);
    bench_db *(*open)(const char *dir, const struct bench_settings *s);
    void (*close)(bench_db *db);
    void (*put)(bench_db *db, const char *key, size_t key_len, const char *value,
                size_t value_len);
    void (*del)(bench_db *db, const char *key, size_t key_len);
    /* 1 with the value copied into buf (at most cap bytes; *value_len the full length),
     * 0 when the key is absent. */
    int (*get)(bench_db *db, const char *key, size_t key_len, char *buf, size_t cap,
               size_t *value_len);
    /* Write the memtable out as a table (a no-op for stores without one). */
    void (*flush)(bench_db *db);
    /* Return once no flush or compaction is running or due (best effort). */
    void (*settle)(bench_db *db);
    /* A new iterator over the whole store, reading a consistent view taken now. */
    bench_iter *(*iter_new)(bench_db *db);
    /* Position before the first key >= key (key NULL: before the first key). */
    void (*iter_seek)(bench_iter *it, const char *key, size_t key_len);
    /* 1 with the next entry (valid until the next call), 0 at the end. */
    int (*iter_next)(bench_iter *it, const char **key, size_t *key_len, const char **value,
                     size_t *value_len);
    void (*iter_free)(bench_iter *it);
};

extern const struct backend backend_toykv;
extern const struct backend backend_leveldb;
extern const struct backend backend_rocksdb;
extern const struct backend backend_lmdb;

/* Prints "store: what: detail" to stderr and exits the (child) process with status 2. */
void bench_die(const char *store, const char *what, const char *detail)
    __attribute__((noreturn));

/* Polls `pending` (non-zero while work is due) every 10 ms for up to 120 s. */
void bench_wait_until_idle(int (*pending)(void *ctx), void *ctx);

#endif
