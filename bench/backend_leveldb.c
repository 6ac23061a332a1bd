/* backend_leveldb.c - LevelDB through its C API (leveldb/c.h, Debian's libleveldb-dev).
 *
 * Read options are LevelDB's defaults (it does not verify block checksums on reads unless
 * asked; toykv always verifies a block the first time it is read from disk).
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <leveldb/c.h>

struct bench_db {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *read;
    leveldb_writeoptions_t *write;
};

struct bench_iter {
    leveldb_iterator_t *iter;
    /* The iterator sits on the entry the next call returns (no step needed first). */
    int fresh;
};

static void check(char *err, const char *what) {
    if (err != NULL) {
        bench_die("leveldb", what, err);
    }
}

static const char *ldb_version(void) {
    static char buf[32];
    snprintf(buf, sizeof buf, "%d.%d", leveldb_major_version(), leveldb_minor_version());
    return buf;
}

static bench_db *ldb_open(const char *dir, const struct bench_settings *s) {
    bench_db *db = calloc(1, sizeof *db);
    db->options = leveldb_options_create();
    db->cache = leveldb_cache_create_lru(s->block_cache_bytes);
    db->filter = leveldb_filterpolicy_create_bloom(s->bloom_bits_per_key);
    leveldb_options_set_create_if_missing(db->options, 1);
    leveldb_options_set_cache(db->options, db->cache);
    leveldb_options_set_filter_policy(db->options, db->filter);
    leveldb_options_set_compression(db->options, leveldb_no_compression);
    leveldb_options_set_write_buffer_size(db->options, s->write_buffer_bytes);
    leveldb_options_set_block_size(db->options, s->block_bytes);
    db->read = leveldb_readoptions_create();
    db->write = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(db->write, (unsigned char)(s->sync != 0));
    char *err = NULL;
    db->db = leveldb_open(db->options, dir, &err);
    check(err, "open");
    return db;
}

static void ldb_close(bench_db *db) {
    leveldb_close(db->db);
    leveldb_readoptions_destroy(db->read);
    leveldb_writeoptions_destroy(db->write);
    leveldb_options_destroy(db->options);
    leveldb_filterpolicy_destroy(db->filter);
    leveldb_cache_destroy(db->cache);
    free(db);
}

static void ldb_put(bench_db *db, const char *k, size_t kl, const char *v, size_t vl) {
    char *err = NULL;
    leveldb_put(db->db, db->write, k, kl, v, vl, &err);
    check(err, "put");
}

static void ldb_del(bench_db *db, const char *k, size_t kl) {
    char *err = NULL;
    leveldb_delete(db->db, db->write, k, kl, &err);
    check(err, "delete");
}

/* LevelDB's C API has no get into a caller's buffer: it returns a malloc'd copy. */
static int ldb_get(bench_db *db, const char *k, size_t kl, char *buf, size_t cap, size_t *vl) {
    char *err = NULL;
    char *v = leveldb_get(db->db, db->read, k, kl, vl, &err);
    check(err, "get");
    if (v == NULL) {
        return 0;
    }
    memcpy(buf, v, *vl < cap ? *vl : cap);
    leveldb_free(v);
    return 1;
}

/* The C API has no flush; CompactRange writes the memtable out first and then compacts
 * only what overlaps the range, and this range (above every key) overlaps nothing. */
static void ldb_flush(bench_db *db) {
    static const char past_every_key[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
    leveldb_compact_range(db->db, past_every_key, sizeof past_every_key - 1, past_every_key,
                          sizeof past_every_key - 1);
}

/* LevelDB reports no pending-compaction figure: wait until its per-level statistics stop
 * changing for a second (each finished compaction updates them). */
static void ldb_settle(bench_db *db) {
    char *last = leveldb_property_value(db->db, "leveldb.stats");
    for (int quiet = 0, rounds = 0; quiet < 10 && rounds < 1200; rounds++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        char *now = leveldb_property_value(db->db, "leveldb.stats");
        quiet = (last && now && strcmp(last, now) == 0) ? quiet + 1 : 0;
        leveldb_free(last);
        last = now;
    }
    leveldb_free(last);
}

static bench_iter *ldb_iter_new(bench_db *db) {
    bench_iter *it = calloc(1, sizeof *it);
    it->iter = leveldb_create_iterator(db->db, db->read);
    return it;
}

static void ldb_iter_seek(bench_iter *it, const char *k, size_t kl) {
    if (k == NULL) {
        leveldb_iter_seek_to_first(it->iter);
    } else {
        leveldb_iter_seek(it->iter, k, kl);
    }
    it->fresh = 1;
}

static int ldb_iter_next(bench_iter *it, const char **k, size_t *kl, const char **v, size_t *vl) {
    if (!it->fresh) {
        leveldb_iter_next(it->iter);
    }
    it->fresh = 0;
    if (!leveldb_iter_valid(it->iter)) {
        char *err = NULL;
        leveldb_iter_get_error(it->iter, &err);
        check(err, "iterator");
        return 0;
    }
    *k = leveldb_iter_key(it->iter, kl);
    *v = leveldb_iter_value(it->iter, vl);
    return 1;
}

static void ldb_iter_free(bench_iter *it) {
    leveldb_iter_destroy(it->iter);
    free(it);
}

const struct backend backend_leveldb = {
    .name = "leveldb",
    .version = ldb_version,
    .open = ldb_open,
    .close = ldb_close,
    .put = ldb_put,
    .del = ldb_del,
    .get = ldb_get,
    .flush = ldb_flush,
    .settle = ldb_settle,
    .iter_new = ldb_iter_new,
    .iter_seek = ldb_iter_seek,
    .iter_next = ldb_iter_next,
    .iter_free = ldb_iter_free,
};
