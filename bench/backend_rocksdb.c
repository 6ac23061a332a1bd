/* backend_rocksdb.c - RocksDB through its C API (rocksdb/c.h, Debian's librocksdb-dev).
 *
 * Block-based tables with full bloom filters; everything not in bench_settings is RocksDB's
 * default (level sizes, file sizes, background jobs, checksum verification on reads).
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

struct bench_db {
    rocksdb_t *db;
    rocksdb_options_t *options;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *read;
    rocksdb_writeoptions_t *write;
};

struct bench_iter {
    rocksdb_iterator_t *iter;
    int fresh;
};

static void check(char *err, const char *what) {
    if (err != NULL) {
        bench_die("rocksdb", what, err);
    }
}

static const char *rdb_version(void) {
    static char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", BENCH_ROCKSDB_MAJOR, BENCH_ROCKSDB_MINOR,
             BENCH_ROCKSDB_PATCH);
    return buf;
}

static bench_db *rdb_open(const char *dir, const struct bench_settings *s) {
    bench_db *db = calloc(1, sizeof *db);
    db->options = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(db->options, 1);
    rocksdb_options_set_compression(db->options, rocksdb_no_compression);
    rocksdb_options_set_write_buffer_size(db->options, s->write_buffer_bytes);
    db->table = rocksdb_block_based_options_create();
    db->cache = rocksdb_cache_create_lru(s->block_cache_bytes);
    rocksdb_block_based_options_set_block_cache(db->table, db->cache);
    rocksdb_block_based_options_set_block_size(db->table, s->block_bytes);
    rocksdb_block_based_options_set_filter_policy(
        db->table, rocksdb_filterpolicy_create_bloom_full(s->bloom_bits_per_key));
    rocksdb_options_set_block_based_table_factory(db->options, db->table);
    db->read = rocksdb_readoptions_create();
    db->write = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->write, (unsigned char)(s->sync != 0));
    char *err = NULL;
    db->db = rocksdb_open(db->options, dir, &err);
    check(err, "open");
    return db;
}

static void rdb_close(bench_db *db) {
    rocksdb_close(db->db);
    rocksdb_readoptions_destroy(db->read);
    rocksdb_writeoptions_destroy(db->write);
    rocksdb_options_destroy(db->options);
    rocksdb_block_based_options_destroy(db->table);
    rocksdb_cache_destroy(db->cache);
    free(db);
}

static void rdb_put(bench_db *db, const char *k, size_t kl, const char *v, size_t vl) {
    char *err = NULL;
    rocksdb_put(db->db, db->write, k, kl, v, vl, &err);
    check(err, "put");
}

static void rdb_del(bench_db *db, const char *k, size_t kl) {
    char *err = NULL;
    rocksdb_delete(db->db, db->write, k, kl, &err);
    check(err, "delete");
}

/* get_pinned: the value is read in place (no malloc'd copy), the cheapest C API get. */
static int rdb_get(bench_db *db, const char *k, size_t kl, char *buf, size_t cap, size_t *vl) {
    char *err = NULL;
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned(db->db, db->read, k, kl, &err);
    check(err, "get");
    if (p == NULL) {
        return 0;
    }
    const char *v = rocksdb_pinnableslice_value(p, vl);
    memcpy(buf, v, *vl < cap ? *vl : cap);
    rocksdb_pinnableslice_destroy(p);
    return 1;
}

static void rdb_flush(bench_db *db) {
    rocksdb_flushoptions_t *f = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(f, 1);
    char *err = NULL;
    rocksdb_flush(db->db, f, &err);
    rocksdb_flushoptions_destroy(f);
    check(err, "flush");
}

static int property_nonzero(rocksdb_t *db, const char *name) {
    char *v = rocksdb_property_value(db, name);
    int nonzero = v != NULL && strcmp(v, "0") != 0;
    rocksdb_free(v);
    return nonzero;
}

static int rdb_pending(void *ctx) {
    return property_nonzero(ctx, "rocksdb.compaction-pending") ||
           property_nonzero(ctx, "rocksdb.num-running-compactions") ||
           property_nonzero(ctx, "rocksdb.num-running-flushes") ||
           property_nonzero(ctx, "rocksdb.mem-table-flush-pending");
}

static void rdb_settle(bench_db *db) { bench_wait_until_idle(rdb_pending, db->db); }

static bench_iter *rdb_iter_new(bench_db *db) {
    bench_iter *it = calloc(1, sizeof *it);
    it->iter = rocksdb_create_iterator(db->db, db->read);
    return it;
}

static void rdb_iter_seek(bench_iter *it, const char *k, size_t kl) {
    if (k == NULL) {
        rocksdb_iter_seek_to_first(it->iter);
    } else {
        rocksdb_iter_seek(it->iter, k, kl);
    }
    it->fresh = 1;
}

static int rdb_iter_next(bench_iter *it, const char **k, size_t *kl, const char **v, size_t *vl) {
    if (!it->fresh) {
        rocksdb_iter_next(it->iter);
    }
    it->fresh = 0;
    if (!rocksdb_iter_valid(it->iter)) {
        char *err = NULL;
        rocksdb_iter_get_error(it->iter, &err);
        check(err, "iterator");
        return 0;
    }
    *k = rocksdb_iter_key(it->iter, kl);
    *v = rocksdb_iter_value(it->iter, vl);
    return 1;
}

static void rdb_iter_free(bench_iter *it) {
    rocksdb_iter_destroy(it->iter);
    free(it);
}

const struct backend backend_rocksdb = {
    .name = "rocksdb",
    .version = rdb_version,
    .open = rdb_open,
    .close = rdb_close,
    .put = rdb_put,
    .del = rdb_del,
    .get = rdb_get,
    .flush = rdb_flush,
    .settle = rdb_settle,
    .iter_new = rdb_iter_new,
    .iter_seek = rdb_iter_seek,
    .iter_next = rdb_iter_next,
    .iter_free = rdb_iter_free,
};
