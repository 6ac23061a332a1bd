/*
 * test_threads.c - proves that one toykv_db * may be shared by many threads (API.md,
 * "Conventions": the database handle is thread-safe; cursors, batches and options are used
 * by one thread at a time).
 *
 * Four threads share one handle opened with a 64 KiB memtable, so flushes happen while they
 * work. Each owns a key prefix "t<N>/" and, thousands of times, puts, overwrites, deletes and
 * reads its own keys, scans its own range with a cursor and checks every entry against its
 * private model of what it wrote. Alongside, each writes a two-key batch ("pair/a" and
 * "pair/b" with the same value) and reads its neighbour's pair through a snapshot and a
 * cursor, which must never show half a batch. One thread also calls toykv_flush, one
 * toykv_compact and one reads properties while the others write. Afterwards main checks every
 * key and the total count, then again after close and reopen.
 *
 * TOYKV_TEST_SCALE=N divides the number of operations per thread by N (valgrind runs).
 */
#define _POSIX_C_SOURCE 200809L

#include "support.h"

#include <pthread.h>

#define THREADS 4
#define MAX_FAILURES_PER_THREAD 10

struct worker {
    pthread_t thread;
    toykv_db *db;
    int id;
    int ops;             /* keys written: k000000 .. k<ops-1> */
    unsigned char *live; /* live[j]: key j is present */
    unsigned char *gen;  /* gen[j]: generation of key j's current value */
    long pairs_written;  /* batches of the pair written */
    int failures;        /* local count, to stop a broken thread from flooding the log */
};

static void key_for(char *buf, size_t cap, int tid, int j) {
    snprintf(buf, cap, "t%d/k%06d", tid, j);
}

/* A value of 30..109 bytes naming its thread, key and generation. */
static size_t value_for(char *buf, size_t cap, int tid, int j, int gen) {
    size_t len = 30 + (size_t)((j * 13 + gen * 7 + tid) % 80), i;
    int head = snprintf(buf, cap, "t%d-k%d-g%d:", tid, j, gen);
    for (i = (size_t)head; i < len && i < cap; i++)
        buf[i] = (char)('A' + (j + (int)i) % 26);
    return len;
}

/* Records a failed check of this worker; returns nonzero when it should give up. */
static int worker_failed(struct worker *w, int ok) {
    if (!ok)
        w->failures++;
    return w->failures >= MAX_FAILURES_PER_THREAD;
}

/* Scans the worker's own key range and compares it with its model, keys 0..upto-1. */
static int scan_own_keys(struct worker *w, int upto) {
    char start[32], end[32], key[32], val[128];
    toykv_cursor *c = NULL;
    char *err;
    int j = 0, ok = 1;

    snprintf(start, sizeof start, "t%d/k", w->id);
    snprintf(end, sizeof end, "t%d/l", w->id); /* 'l' follows 'k': the whole k... range */
    if (EXPECT(TOYKV_OK, toykv_cursor_open(w->db, start, strlen(start), end, strlen(end), &c,
                                           &err)) != TOYKV_OK)
        return 0;
    for (;;) {
        const void *k, *v;
        size_t kl, vl, want_len;
        int st = toykv_cursor_next(c, &k, &kl, &v, &vl, NULL);
        while (j < upto && !w->live[j])
            j++;
        if (st != TOYKV_OK) {
            ok = CHECK_EQ(st, TOYKV_END) && CHECK_EQ(j, upto);
            break;
        }
        key_for(key, sizeof key, w->id, j);
        want_len = value_for(val, sizeof val, w->id, j, w->gen[j]);
        if (!CHECK(j < upto && bytes_eq(k, kl, key, strlen(key)) && bytes_eq(v, vl, val, want_len))) {
            fprintf(stderr, "thread %d: scan entry %.*s, expected %s\n", w->id, (int)kl,
                    (const char *)k, key);
            ok = 0;
            break;
        }
        j++;
    }
    toykv_cursor_close(c);
    return ok;
}

/* Reads the neighbour's pair through a snapshot and a cursor: both halves or neither. */
static int check_pair_is_whole(struct worker *w, int other) {
    char a[32], b[32], lo[32], hi[32];
    toykv_snapshot *snap = NULL;
    toykv_cursor *c = NULL;
    void *va = NULL, *vb = NULL;
    size_t la = 0, lb = 0;
    char *err;
    int sa, sb, ok = 1;

    snprintf(a, sizeof a, "t%d/pair/a", other);
    snprintf(b, sizeof b, "t%d/pair/b", other);
    if (EXPECT(TOYKV_OK, toykv_snapshot_open(w->db, &snap, &err)) != TOYKV_OK)
        return 0;
    err = ERR_SENTINEL;
    sa = toykv_snapshot_get(snap, a, strlen(a), &va, &la, &err);
    check_call(__FILE__, __LINE__, "snapshot_get pair/a", sa,
               sa == TOYKV_NOT_FOUND ? TOYKV_NOT_FOUND : TOYKV_OK, &err);
    err = ERR_SENTINEL;
    sb = toykv_snapshot_get(snap, b, strlen(b), &vb, &lb, &err);
    check_call(__FILE__, __LINE__, "snapshot_get pair/b", sb,
               sb == TOYKV_NOT_FOUND ? TOYKV_NOT_FOUND : TOYKV_OK, &err);
    ok = CHECK(sa == sb) && (sa != TOYKV_OK || CHECK(bytes_eq(va, la, vb, lb)));
    if (sa == TOYKV_OK)
        toykv_free(va);
    if (sb == TOYKV_OK)
        toykv_free(vb);
    toykv_snapshot_close(snap);

    /* A cursor is a snapshot too: [t<o>/pair/, t<o>/pair0) holds a and b or neither. */
    snprintf(lo, sizeof lo, "t%d/pair/", other);
    snprintf(hi, sizeof hi, "t%d/pair0", other);
    if (EXPECT(TOYKV_OK, toykv_cursor_open(w->db, lo, strlen(lo), hi, strlen(hi), &c, &err)) ==
        TOYKV_OK) {
        const void *k1, *v1, *k2, *v2;
        size_t kl1, vl1, kl2, vl2;
        int s1 = toykv_cursor_next(c, &k1, &kl1, &v1, &vl1, NULL);
        if (s1 == TOYKV_OK) {
            /* Copy the first value: the pointers are only valid until the next call. */
            char first[64];
            size_t first_len = vl1 < sizeof first ? vl1 : sizeof first;
            memcpy(first, v1, first_len);
            ok &= CHECK(bytes_eq(k1, kl1, a, strlen(a)));
            ok &= CHECK_EQ(toykv_cursor_next(c, &k2, &kl2, &v2, &vl2, NULL), TOYKV_OK) &&
                  CHECK(bytes_eq(k2, kl2, b, strlen(b)) && bytes_eq(v2, vl2, first, first_len));
        }
        ok &= CHECK_EQ(toykv_cursor_next(c, &k1, &kl1, &v1, &vl1, NULL), TOYKV_END);
        toykv_cursor_close(c);
    } else {
        ok = 0;
    }
    return ok;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    toykv_batch *batch = toykv_batch_new();
    unsigned long rng = 0x9e3779b9ul * (unsigned long)(w->id + 1);
    char key[32], val[128];
    size_t vl;
    char *err;
    int i;

    if (!CHECK(batch != NULL))
        return NULL;
    for (i = 0; i < w->ops; i++) {
        /* Put a new key. */
        key_for(key, sizeof key, w->id, i);
        vl = value_for(val, sizeof val, w->id, i, 0);
        if (worker_failed(w, EXPECT(TOYKV_OK, toykv_put(w->db, key, strlen(key), val, vl, &err)) ==
                                 TOYKV_OK))
            break;
        w->live[i] = 1;
        w->gen[i] = 0;

        /* Delete an older key now and then. */
        if (i % 10 == 9) {
            int j = i - 5;
            key_for(key, sizeof key, w->id, j);
            if (worker_failed(w, EXPECT(TOYKV_OK, toykv_delete(w->db, key, strlen(key), &err)) ==
                                     TOYKV_OK))
                break;
            w->live[j] = 0;
        }
        /* Overwrite an older key (a deleted one comes back). */
        if (i % 3 == 2) {
            int j = i / 2;
            int g = (w->gen[j] + 1) % 200;
            key_for(key, sizeof key, w->id, j);
            vl = value_for(val, sizeof val, w->id, j, g);
            if (worker_failed(w, EXPECT(TOYKV_OK, toykv_put(w->db, key, strlen(key), val, vl,
                                                            &err)) == TOYKV_OK))
                break;
            w->live[j] = 1;
            w->gen[j] = (unsigned char)g;
        }
        /* Read a random earlier key and compare with the model. */
        if (i % 2 == 1) {
            int j;
            void *v = NULL;
            size_t n = 0;
            int st;
            rng = rng * 6364136223846793005ul + 1442695040888963407ul;
            j = (int)((rng >> 33) % (unsigned long)(i + 1));
            key_for(key, sizeof key, w->id, j);
            err = ERR_SENTINEL;
            st = toykv_get(w->db, key, strlen(key), &v, &n, &err);
            if (w->live[j]) {
                check_call(__FILE__, __LINE__, "toykv_get(own live key)", st, TOYKV_OK, &err);
                vl = value_for(val, sizeof val, w->id, j, w->gen[j]);
                if (worker_failed(w, st == TOYKV_OK && CHECK(bytes_eq(v, n, val, vl))))
                    break;
            } else {
                check_call(__FILE__, __LINE__, "toykv_get(own deleted key)", st, TOYKV_NOT_FOUND,
                           &err);
                if (worker_failed(w, st == TOYKV_NOT_FOUND))
                    break;
            }
            if (st == TOYKV_OK)
                toykv_free(v);
        }
        /* An atomic two-key batch, and a look at the neighbour's. */
        if (i % 50 == 0) {
            char pa[32], pb[32], pv[32];
            snprintf(pa, sizeof pa, "t%d/pair/a", w->id);
            snprintf(pb, sizeof pb, "t%d/pair/b", w->id);
            snprintf(pv, sizeof pv, "pair-%ld", w->pairs_written);
            toykv_batch_clear(batch);
            EXPECT_STATUS(TOYKV_OK, toykv_batch_put(batch, pa, strlen(pa), pv, strlen(pv)));
            EXPECT_STATUS(TOYKV_OK, toykv_batch_put(batch, pb, strlen(pb), pv, strlen(pv)));
            if (worker_failed(w, EXPECT(TOYKV_OK, toykv_write(w->db, batch, &err)) == TOYKV_OK))
                break;
            w->pairs_written++;
        }
        if (i % 50 == 25 && worker_failed(w, check_pair_is_whole(w, (w->id + 1) % THREADS)))
            break;
        /* A full scan of the own range now and then. */
        if (i % 500 == 499 && worker_failed(w, scan_own_keys(w, i + 1)))
            break;
        /* Maintenance and introspection running alongside the other threads' writes. */
        if (w->id == 0 && i % 1000 == 999)
            EXPECT(TOYKV_OK, toykv_flush(w->db, &err));
        if (w->id == 1 && i == w->ops / 2)
            EXPECT(TOYKV_OK, toykv_compact(w->db, &err));
        if (w->id == 2 && i % 250 == 0) {
            char *stats = NULL;
            if (EXPECT(TOYKV_OK, toykv_property(w->db, "toykv.stats", &stats, &err)) == TOYKV_OK)
                toykv_free(stats);
        }
    }
    worker_failed(w, scan_own_keys(w, w->ops));
    toykv_batch_free(batch);
    return NULL;
}

/* Every worker's keys, checked by one scan of the whole database; returns entries seen. */
static long verify_all(toykv_db *db, struct worker *workers) {
    toykv_cursor *c = NULL;
    char key[32], val[128];
    char *err;
    long seen = 0, expected = 0;
    int t, j;

    for (t = 0; t < THREADS; t++) {
        for (j = 0; j < workers[t].ops; j++)
            expected += workers[t].live[j];
        if (workers[t].pairs_written > 0)
            expected += 2;
    }
    for (t = 0; t < THREADS; t++) {
        for (j = 0; j < workers[t].ops; j += 17) {
            size_t vl;
            key_for(key, sizeof key, t, j);
            if (workers[t].live[j]) {
                vl = value_for(val, sizeof val, t, j, workers[t].gen[j]);
                CHECK_GET(db, key, strlen(key), val, vl);
            } else {
                CHECK_ABSENT(db, key, strlen(key));
            }
        }
    }
    if (EXPECT(TOYKV_OK, toykv_cursor_open(db, NULL, 0, NULL, 0, &c, &err)) != TOYKV_OK)
        return -1;
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        int st = toykv_cursor_next(c, &k, &kl, &v, &vl, NULL);
        if (st != TOYKV_OK) {
            CHECK_EQ(st, TOYKV_END);
            break;
        }
        seen++;
    }
    toykv_cursor_close(c);
    CHECK_EQ(seen, expected);
    return seen;
}

int main(void) {
    const int ops = (int)scaled(10000);
    struct worker workers[THREADS];
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, SMALL_MEMTABLE);
    int t;

    printf("toykv %s thread tests: %d threads x %d operations (TOYKV_TEST_SCALE=%ld)\n",
           toykv_version(), THREADS, ops, test_scale());
    fflush(stdout);
    if (db == NULL)
        goto out;

    printf("-- four_threads_share_one_handle\n");
    fflush(stdout);
    memset(workers, 0, sizeof workers);
    for (t = 0; t < THREADS; t++) {
        workers[t].db = db;
        workers[t].id = t;
        workers[t].ops = ops;
        workers[t].live = calloc((size_t)ops, 1);
        workers[t].gen = calloc((size_t)ops, 1);
        if (workers[t].live == NULL || workers[t].gen == NULL) {
            perror("calloc");
            return 2;
        }
    }
    for (t = 0; t < THREADS; t++)
        CHECK_EQ(pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]), 0);
    for (t = 0; t < THREADS; t++)
        CHECK_EQ(pthread_join(workers[t].thread, NULL), 0);
    for (t = 0; t < THREADS; t++)
        CHECK_EQ(workers[t].failures, 0);

    printf("-- main_sees_every_thread_s_writes\n");
    fflush(stdout);
    verify_all(db, workers);
    if (ops >= 1000) {
        /* ~3 MB through a 64 KiB memtable: sstables must exist. */
        char *n = NULL;
        char *err;
        if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.sstables", &n, &err)) == TOYKV_OK) {
            CHECK(n != NULL && strchr(n, '\n') != NULL);
            toykv_free(n);
        }
    }

    printf("-- the_writes_survive_close_and_reopen\n");
    fflush(stdout);
    CLOSE_DB(db);
    db = OPEN_DB(dir, SMALL_MEMTABLE);
    if (db != NULL) {
        verify_all(db, workers);
        CLOSE_DB(db);
    }
    for (t = 0; t < THREADS; t++) {
        free(workers[t].live);
        free(workers[t].gen);
    }
out:
    tmpdir_remove(dir);
    return check_summary();
}
