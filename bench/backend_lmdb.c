/* backend_lmdb.c - LMDB (lmdb.h, Debian's liblmdb-dev): the B+tree reference.
 *
 * Every put and delete is its own write transaction, as every write is its own operation
 * for the LSM stores. Without `sync`, the environment is opened MDB_NOSYNC|MDB_NOMETASYNC
 * (commits reach the OS, not the disk), the counterpart of an unsynced WAL. LMDB has no
 * block cache, no filter and no memtable: it reads through the OS page cache via its map,
 * and flush and settle have nothing to do. Gets renew a per-thread read transaction.
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

struct bench_db {
    MDB_env *env;
    MDB_dbi dbi;
};

struct bench_iter {
    MDB_txn *txn;
    MDB_cursor *cursor;
    MDB_cursor_op next_op;
    MDB_val seek_key;
};

/* One reusable read transaction per thread (reset between gets). */
static __thread MDB_txn *thread_read_txn;
static __thread bench_db *thread_read_db;

static void check(int rc, const char *what) {
    if (rc != MDB_SUCCESS) {
        bench_die("lmdb", what, mdb_strerror(rc));
    }
}

static const char *lmdb_version(void) {
    static char buf[32];
    int major, minor, patch;
    mdb_version(&major, &minor, &patch);
    snprintf(buf, sizeof buf, "%d.%d.%d", major, minor, patch);
    return buf;
}

static bench_db *lmdb_open(const char *dir, const struct bench_settings *s) {
    bench_db *db = calloc(1, sizeof *db);
    check(mdb_env_create(&db->env), "env_create");
    size_t map = (size_t)s->expected_keys * 1024;
    check(mdb_env_set_mapsize(db->env, map < ((size_t)1 << 30) ? (size_t)1 << 30 : map),
          "set_mapsize");
    check(mdb_env_set_maxreaders(db->env, 512), "set_maxreaders");
    unsigned flags = MDB_NOTLS | (s->sync ? 0 : MDB_NOSYNC | MDB_NOMETASYNC);
    check(mdb_env_open(db->env, dir, flags, 0644), "env_open");
    MDB_txn *txn;
    check(mdb_txn_begin(db->env, NULL, 0, &txn), "txn_begin");
    check(mdb_dbi_open(txn, NULL, 0, &db->dbi), "dbi_open");
    check(mdb_txn_commit(txn), "commit");
    return db;
}

static void lmdb_close(bench_db *db) {
    if (thread_read_db == db) {
        mdb_txn_abort(thread_read_txn);
        thread_read_txn = NULL;
        thread_read_db = NULL;
    }
    mdb_env_close(db->env);
    free(db);
}

static void lmdb_put(bench_db *db, const char *k, size_t kl, const char *v, size_t vl) {
    MDB_txn *txn;
    MDB_val key = {kl, (void *)k}, value = {vl, (void *)v};
    check(mdb_txn_begin(db->env, NULL, 0, &txn), "txn_begin");
    check(mdb_put(txn, db->dbi, &key, &value, 0), "put");
    check(mdb_txn_commit(txn), "commit");
}

static void lmdb_del(bench_db *db, const char *k, size_t kl) {
    MDB_txn *txn;
    MDB_val key = {kl, (void *)k};
    check(mdb_txn_begin(db->env, NULL, 0, &txn), "txn_begin");
    int rc = mdb_del(txn, db->dbi, &key, NULL);
    if (rc != MDB_NOTFOUND) {
        check(rc, "delete");
    }
    check(mdb_txn_commit(txn), "commit");
}

static int lmdb_get(bench_db *db, const char *k, size_t kl, char *buf, size_t cap, size_t *vl) {
    if (thread_read_db != db) {
        check(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &thread_read_txn), "txn_begin");
        thread_read_db = db;
    } else {
        check(mdb_txn_renew(thread_read_txn), "txn_renew");
    }
    MDB_val key = {kl, (void *)k}, value;
    int rc = mdb_get(thread_read_txn, db->dbi, &key, &value);
    int found = rc == MDB_SUCCESS;
    if (!found && rc != MDB_NOTFOUND) {
        check(rc, "get");
    }
    if (found) {
        *vl = value.mv_size;
        memcpy(buf, value.mv_data, *vl < cap ? *vl : cap);
    }
    mdb_txn_reset(thread_read_txn);
    return found;
}

static void lmdb_nothing(bench_db *db) { (void)db; }

static bench_iter *lmdb_iter_new(bench_db *db) {
    bench_iter *it = calloc(1, sizeof *it);
    check(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &it->txn), "txn_begin");
    check(mdb_cursor_open(it->txn, db->dbi, &it->cursor), "cursor_open");
    it->next_op = MDB_FIRST;
    return it;
}

static void lmdb_iter_seek(bench_iter *it, const char *k, size_t kl) {
    it->next_op = k ? MDB_SET_RANGE : MDB_FIRST;
    it->seek_key.mv_size = kl;
    it->seek_key.mv_data = (void *)k;
}

static int lmdb_iter_next(bench_iter *it, const char **k, size_t *kl, const char **v, size_t *vl) {
    MDB_val key = it->seek_key, value;
    int rc = mdb_cursor_get(it->cursor, &key, &value, it->next_op);
    it->next_op = MDB_NEXT;
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    check(rc, "cursor_get");
    *k = key.mv_data;
    *kl = key.mv_size;
    *v = value.mv_data;
    *vl = value.mv_size;
    return 1;
}

static void lmdb_iter_free(bench_iter *it) {
    mdb_cursor_close(it->cursor);
    mdb_txn_abort(it->txn);
    free(it);
}

const struct backend backend_lmdb = {
    .name = "lmdb",
    .version = lmdb_version,
    .open = lmdb_open,
    .close = lmdb_close,
    .put = lmdb_put,
    .del = lmdb_del,
    .get = lmdb_get,
    .flush = lmdb_nothing,
    .settle = lmdb_nothing,
    .iter_new = lmdb_iter_new,
    .iter_seek = lmdb_iter_seek,
    .iter_next = lmdb_iter_next,
    .iter_free = lmdb_iter_free,
};
