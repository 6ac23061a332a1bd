/* backend_toykv.c - toykv through its C API (include/toykv.h, libtoykv). */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include "toykv.h"

struct bench_db {
    toykv_db *db;
};

struct bench_iter {
    toykv_cursor *cursor;
};

static void check(int rc, char *err, const char *what) {
    if (rc != TOYKV_OK) {
        bench_die("toykv", what, err ? err : toykv_status_str(rc));
    }
}

static const char *tk_version(void) { return toykv_version(); }

static bench_db *tk_open(const char *dir, const struct bench_settings *s) {
    toykv_options *o = toykv_options_new();
    toykv_options_set_block_cache_bytes(o, s->block_cache_bytes);
    toykv_options_set_bloom_bits_per_key(o, (uint32_t)s->bloom_bits_per_key);
    toykv_options_set_memtable_bytes(o, s->write_buffer_bytes);
    toykv_options_set_block_bytes(o, s->block_bytes);
    toykv_options_set_sync_writes(o, s->sync != 0);
    bench_db *db = calloc(1, sizeof *db);
    char *err = NULL;
    check(toykv_open(dir, o, &db->db, &err), err, "open");
    toykv_options_free(o);
    return db;
}

static void tk_close(bench_db *db) {
    char *err = NULL;
    check(toykv_close(db->db, &err), err, "close");
    free(db);
}

static void tk_put(bench_db *db, const char *k, size_t kl, const char *v, size_t vl) {
    char *err = NULL;
    check(toykv_put(db->db, k, kl, v, vl, &err), err, "put");
}

static void tk_del(bench_db *db, const char *k, size_t kl) {
    char *err = NULL;
    check(toykv_delete(db->db, k, kl, &err), err, "delete");
}

static int tk_get(bench_db *db, const char *k, size_t kl, char *buf, size_t cap, size_t *vl) {
    char *err = NULL;
    int rc = toykv_get_into(db->db, k, kl, buf, cap, vl, &err);
    if (rc == TOYKV_NOT_FOUND) {
        return 0;
    }
    check(rc, err, "get");
    return 1;
}

static void tk_flush(bench_db *db) {
    char *err = NULL;
    check(toykv_flush(db->db, &err), err, "flush");
}

static int tk_pending(void *ctx) {
    char *value = NULL, *err = NULL;
    check(toykv_property(ctx, "toykv.compaction-pending", &value, &err), err, "property");
    int pending = strcmp(value, "0") != 0;
    toykv_free(value);
    return pending;
}

static void tk_settle(bench_db *db) { bench_wait_until_idle(tk_pending, db->db); }

static bench_iter *tk_iter_new(bench_db *db) {
    bench_iter *it = calloc(1, sizeof *it);
    char *err = NULL;
    check(toykv_cursor_open(db->db, NULL, 0, NULL, 0, &it->cursor, &err), err, "cursor_open");
    return it;
}

static void tk_iter_seek(bench_iter *it, const char *k, size_t kl) {
    char *err = NULL;
    check(toykv_cursor_seek(it->cursor, k ? k : "", k ? kl : 0, &err), err, "cursor_seek");
}

static int tk_iter_next(bench_iter *it, const char **k, size_t *kl, const char **v, size_t *vl) {
    char *err = NULL;
    const void *key, *value;
    int rc = toykv_cursor_next(it->cursor, &key, kl, &value, vl, &err);
    if (rc == TOYKV_END) {
        return 0;
    }
    check(rc, err, "cursor_next");
    *k = key;
    *v = value;
    return 1;
}

static void tk_iter_free(bench_iter *it) {
    toykv_cursor_close(it->cursor);
    free(it);
}

const struct backend backend_toykv = {
    .name = "toykv",
    .version = tk_version,
    .open = tk_open,
    .close = tk_close,
    .put = tk_put,
    .del = tk_del,
    .get = tk_get,
    .flush = tk_flush,
    .settle = tk_settle,
    .iter_new = tk_iter_new,
    .iter_seek = tk_iter_seek,
    .iter_next = tk_iter_next,
    .iter_free = tk_iter_free,
};
