/*
 * crash.c - the kill -9 crash harness: a driver that starts a writer process, kills it with
 * SIGKILL at a random moment, and checks what a reopen finds, cycle after cycle.
 *
 * One program, two roles. `crash` is the driver; it runs itself again as
 * `crash --writer DIR SYNC SEED FD` for the writer, which opens DIR through the C API with a
 * 64 KiB memtable (flushes and compactions run all the time), optionally `sync_writes`, and
 * writes batches forever from WRITERS threads while one more thread reads through snapshots
 * and cursors (which pins old versions during compactions). Thread t owns the keys "t<t>/k.."
 * and writes its batches 1, 2, 3, ... in order; batch n puts and deletes a few of its keys,
 * and finally sets "t<t>/last" to n. Every batch is a pure function of (seed, t, n), so the
 * driver can rebuild any prefix of the history. After each toykv_write that returned
 * TOYKV_OK the thread reports (t, n) to the driver through a pipe.
 *
 * After the kill the driver copies the directory (the writer's next run recovers the
 * original itself, so recovery is also killed half way, now and then), opens the copy and
 * checks, per writer thread:
 *   - the database opens;
 *   - "t<t>/last" = N is at least every batch the thread reported (no acknowledged batch
 *     lost; without sync_writes too: toykv hands each WAL append to the kernel before the
 *     write returns, so a process crash, unlike a power cut, must lose nothing), at most one
 *     more (the one in flight), and never less than the previous cycle found;
 *   - the thread's keys hold exactly the state after batches 1..N: every batch is all or
 *     nothing, what survived is a prefix of what was written;
 *   - nothing else appeared (a full scan holds only model keys), and toykv_get agrees with
 *     the full scan for every key of the model, present or deleted.
 *
 * Usage: crash [CYCLES]   (or TOYKV_CRASH_CYCLES; default 50 per mode)
 * Runs CYCLES with sync_writes, then CYCLES without (TOYKV_CRASH_MODE=sync or nosync runs
 * one of them). TOYKV_CRASH_SEED fixes the workload's
 * seed (printed on every run); TOYKV_CRASH_MAX_KILL_MS the latest kill (default 400 ms).
 * Ends with one "N passed, N failed" line (a mode passes when none of its cycles failed).
 * A failing cycle keeps its image: the path is printed.
 */
#define _POSIX_C_SOURCE 200809L

#include "support.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#define WRITERS 2
#define KEYS_PER_THREAD 1000
#define MAX_OPS_PER_BATCH 16
#define MAX_VALUE 8192
#define MEMTABLE_BYTES ((size_t)64 * 1024)
#define KEY_CAP 32

/* ---- the workload: a pure function of (seed, thread, batch) ------------------------------ */

static uint64_t splitmix(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct op {
    int key;       /* index into the thread's keys */
    int is_delete;
    size_t len;    /* value length for a put */
};

struct batch_plan {
    int n_ops;
    struct op ops[MAX_OPS_PER_BATCH];
};

/* The operations of batch `n` of thread `t` (the final put of "t<t>/last" is implied). */
static void plan_batch(uint64_t seed, int t, uint64_t n, struct batch_plan *plan) {
    uint64_t state = seed ^ ((uint64_t)t << 56) ^ (n * 0x2545f4914f6cdd1dULL);
    int i;
    plan->n_ops = 1 + (int)(splitmix(&state) % MAX_OPS_PER_BATCH);
    for (i = 0; i < plan->n_ops; i++) {
        uint64_t r = splitmix(&state);
        struct op *op = &plan->ops[i];
        op->key = (int)(r % KEYS_PER_THREAD);
        op->is_delete = (r >> 20) % 4 == 0;
        /* Mostly small values; one in sixteen large, so memtables fill in a few batches. */
        op->len = (r >> 24) % 16 == 0 ? 1 + (size_t)((r >> 32) % MAX_VALUE)
                                       : 10 + (size_t)((r >> 32) % 190);
    }
}

static size_t key_name(char *buf, int t, int key) {
    return (size_t)snprintf(buf, KEY_CAP, "t%d/k%04d", t, key);
}

static size_t last_key_name(char *buf, int t) {
    return (size_t)snprintf(buf, KEY_CAP, "t%d/last", t);
}

/* The value batch `n` puts under `key`: names its origin, then filler derived from it. */
static void fill_value(unsigned char *buf, int t, uint64_t n, int key, size_t len) {
    char head[64];
    size_t head_len = (size_t)snprintf(head, sizeof head, "%d/%" PRIu64 "/%d:", t, n, key), i;
    for (i = 0; i < len; i++)
        buf[i] = i < head_len ? (unsigned char)head[i]
                              : (unsigned char)('a' + (n * 7 + (uint64_t)key * 3 + i) % 26);
}

/* ---- the writer ------------------------------------------------------------------------- */

struct ack {
    uint32_t kind; /* 'R': resumed after batch n; 'A': batch n acknowledged */
    uint32_t thread;
    uint64_t n;
};

struct writer_ctx {
    toykv_db *db;
    uint64_t seed;
    int fd;
    int t;
    uint64_t resume;
};

static void report(int fd, char kind, int t, uint64_t n) {
    struct ack a;
    memset(&a, 0, sizeof a);
    a.kind = (uint32_t)kind;
    a.thread = (uint32_t)t;
    a.n = n;
    /* One write of fewer than PIPE_BUF bytes: atomic among the threads. */
    if (write(fd, &a, sizeof a) != (ssize_t)sizeof a)
        _exit(4);
}

static void writer_die(const char *what, int st, char *err) {
    fprintf(stderr, "crash writer: %s: %s: %s\n", what, toykv_status_str(st),
            err ? err : "(no message)");
    _exit(3);
}

static void *writer_thread(void *arg) {
    struct writer_ctx *w = arg;
    unsigned char *value = malloc(MAX_VALUE);
    toykv_batch *b = toykv_batch_new();
    char key[KEY_CAP], last[32];
    uint64_t n;
    if (value == NULL || b == NULL)
        _exit(5);
    for (n = w->resume + 1;; n++) {
        struct batch_plan plan;
        char *err = NULL;
        int i, st;
        plan_batch(w->seed, w->t, n, &plan);
        toykv_batch_clear(b);
        for (i = 0; i < plan.n_ops; i++) {
            const struct op *op = &plan.ops[i];
            size_t klen = key_name(key, w->t, op->key);
            if (op->is_delete) {
                st = toykv_batch_delete(b, key, klen);
            } else {
                fill_value(value, w->t, n, op->key, op->len);
                st = toykv_batch_put(b, key, klen, value, op->len);
            }
            if (st != TOYKV_OK)
                writer_die("toykv_batch_put/delete", st, NULL);
        }
        i = snprintf(last, sizeof last, "%" PRIu64, n);
        st = toykv_batch_put(b, key, last_key_name(key, w->t), last, (size_t)i);
        if (st != TOYKV_OK)
            writer_die("toykv_batch_put", st, NULL);
        st = toykv_write(w->db, b, &err);
        if (st != TOYKV_OK)
            writer_die("toykv_write", st, err);
        report(w->fd, 'A', w->t, n);
    }
    return NULL;
}

/* Snapshots and cursors while the writers work: they pin versions that compaction must keep. */
static void *reader_thread(void *arg) {
    toykv_db *db = arg;
    for (;;) {
        toykv_snapshot *snap = NULL;
        toykv_cursor *c = NULL;
        const void *k, *v;
        size_t kl, vl;
        char *err = NULL;
        int i, st = toykv_snapshot_open(db, &snap, &err);
        if (st != TOYKV_OK)
            writer_die("toykv_snapshot_open", st, err);
        st = toykv_snapshot_cursor_open(snap, NULL, 0, NULL, 0, &c, &err);
        if (st != TOYKV_OK)
            writer_die("toykv_snapshot_cursor_open", st, err);
        for (i = 0; i < 200 && (st = toykv_cursor_next(c, &k, &kl, &v, &vl, &err)) == TOYKV_OK; i++)
            ;
        if (st != TOYKV_OK && st != TOYKV_END)
            writer_die("toykv_cursor_next", st, err);
        toykv_cursor_close(c);
        {
            struct timespec pause = {0, 2000000};
            nanosleep(&pause, NULL);
        }
        toykv_snapshot_close(snap);
    }
    return NULL;
}

/* Reads "t<t>/last" as a batch number; 0 when absent. Exits on any other failure. */
static uint64_t read_last(toykv_db *db, int t, char **err_out, int *st_out) {
    char key[KEY_CAP], text[32];
    void *v = NULL;
    size_t n = 0;
    uint64_t last = 0;
    *st_out = toykv_get(db, key, last_key_name(key, t), &v, &n, err_out);
    if (*st_out == TOYKV_OK) {
        if (n > 0 && n < sizeof text) {
            memcpy(text, v, n);
            text[n] = '\0';
            last = strtoull(text, NULL, 10);
        }
        toykv_free(v);
    }
    return last;
}

static int writer_main(const char *dir, int sync, uint64_t seed, int fd) {
    toykv_options *opts = toykv_options_new();
    struct writer_ctx ctx[WRITERS];
    pthread_t threads[WRITERS + 1];
    toykv_db *db = NULL;
    char *err = NULL;
    int t, st;
    toykv_options_set_memtable_bytes(opts, MEMTABLE_BYTES);
    toykv_options_set_sync_writes(opts, sync);
    st = toykv_open(dir, opts, &db, &err);
    toykv_options_free(opts);
    if (st != TOYKV_OK)
        writer_die("toykv_open", st, err);
    for (t = 0; t < WRITERS; t++) {
        ctx[t].db = db;
        ctx[t].seed = seed;
        ctx[t].fd = fd;
        ctx[t].t = t;
        ctx[t].resume = read_last(db, t, &err, &st);
        if (st != TOYKV_OK && st != TOYKV_NOT_FOUND)
            writer_die("toykv_get of the last batch", st, err);
        report(fd, 'R', t, ctx[t].resume);
    }
    for (t = 0; t < WRITERS; t++)
        if (pthread_create(&threads[t], NULL, writer_thread, &ctx[t]) != 0)
            _exit(6);
    if (pthread_create(&threads[WRITERS], NULL, reader_thread, db) != 0)
        _exit(6);
    /* Runs until the driver kills the process. */
    pthread_join(threads[0], NULL);
    return 7;
}

/* ---- the driver ------------------------------------------------------------------------- */

/* What the driver knows of one writer thread's keys: the state after batches 1..applied. */
struct model {
    uint64_t applied;
    uint64_t put_by[KEYS_PER_THREAD]; /* batch whose put is the key's value; 0: absent */
    size_t len[KEYS_PER_THREAD];
};

static void model_apply(struct model *m, uint64_t seed, int t, uint64_t upto) {
    for (; m->applied < upto; m->applied++) {
        struct batch_plan plan;
        uint64_t n = m->applied + 1;
        int i;
        plan_batch(seed, t, n, &plan);
        for (i = 0; i < plan.n_ops; i++) {
            const struct op *op = &plan.ops[i];
            m->put_by[op->key] = op->is_delete ? 0 : n;
            m->len[op->key] = op->is_delete ? 0 : op->len;
        }
    }
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copies the regular files of `src` (but LOCK) into the new directory `dst`. */
static int copy_dir(const char *src, const char *dst) {
    DIR *d = opendir(src);
    struct dirent *e;
    static unsigned char buf[1 << 16];
    if (d == NULL || mkdir(dst, 0700) != 0)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char *from, *to;
        struct stat st;
        int in, out, ok = 1;
        ssize_t n;
        if (strcmp(e->d_name, "LOCK") == 0)
            continue;
        from = path_join(src, e->d_name);
        if (stat(from, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(from);
            continue;
        }
        to = path_join(dst, e->d_name);
        in = open(from, O_RDONLY);
        out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0)
            ok = 0;
        while (ok && (n = read(in, buf, sizeof buf)) > 0)
            ok = write(out, buf, (size_t)n) == n;
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
        free(from);
        free(to);
        if (!ok) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

struct mode_totals {
    long cycles, acked, lost, in_flight_survived, killed_before_resume;
};

/* One writer run: start, wait `kill_ms`, SIGKILL, collect its reports. */
struct run_result {
    int resumed[WRITERS];
    uint64_t resume[WRITERS];
    uint64_t acked[WRITERS]; /* highest acknowledged batch reported this run */
    long acks;
    int exited_by_itself;
    int status;
};

static int run_writer(const char *self, const char *dir, int sync, uint64_t seed, long kill_ms,
                      struct run_result *r) {
    int fds[2], t;
    char fd_text[16], seed_text[32];
    double deadline;
    pid_t pid;
    struct ack a;
    size_t have = 0;
    memset(r, 0, sizeof *r);
    if (pipe(fds) != 0)
        return -1;
    snprintf(fd_text, sizeof fd_text, "%d", fds[1]);
    snprintf(seed_text, sizeof seed_text, "%" PRIu64, seed);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        execl(self, self, "--writer", dir, sync ? "1" : "0", seed_text, fd_text, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    deadline = now_seconds() + (double)kill_ms / 1000.0;
    /* Reads reports until the kill time, then kills, then drains what the pipe still holds. */
    for (int killed = 0;;) {
        double left = deadline - now_seconds();
        struct pollfd p = {fds[0], POLLIN, 0};
        ssize_t n;
        if (!killed && left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        if (!killed && poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        n = read(fds[0], (char *)&a + have, sizeof a - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!killed) {
                r->exited_by_itself = 1; /* EOF before the kill: the writer died on its own */
                kill(pid, SIGKILL);
            }
            break;
        }
        have += (size_t)n;
        if (have < sizeof a)
            continue;
        have = 0;
        t = (int)a.thread;
        if (t < 0 || t >= WRITERS)
            continue;
        if (a.kind == 'R') {
            r->resumed[t] = 1;
            r->resume[t] = a.n;
            r->acked[t] = a.n;
        } else if (a.kind == 'A') {
            r->acked[t] = a.n;
            r->acks++;
        }
    }
    close(fds[0]);
    waitpid(pid, &r->status, 0);
    if (WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGKILL && !r->exited_by_itself)
        return 0;
    r->exited_by_itself = 1;
    return 0;
}

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return FAIL(msg);
}

/* Opens the image, checks it against the models (advancing them to what survived). Returns
 * 1 when everything held. */
static int check_image(const char *image, uint64_t seed, struct model *models,
                       const struct run_result *r, int *lost_out, int *extra_out) {
    toykv_db *db = NULL;
    toykv_cursor *c = NULL;
    unsigned char *want = malloc(MAX_VALUE);
    char *err = NULL, key[KEY_CAP];
    int t, st, ok = 1;
    long scanned = 0, expected_live = 0;
    const void *k, *v;
    size_t kl, vl;
    *lost_out = 0;
    *extra_out = 0;
    st = toykv_open(image, NULL, &db, &err);
    if (st != TOYKV_OK) {
        failf("the crashed database does not open: %s: %s", toykv_status_str(st), err);
        toykv_free(err);
        free(want);
        return 0;
    }
    for (t = 0; t < WRITERS && ok; t++) {
        struct model *m = &models[t];
        uint64_t acked = r->acked[t] > m->applied ? r->acked[t] : m->applied;
        uint64_t last = read_last(db, t, &err, &st);
        if (st != TOYKV_OK && st != TOYKV_NOT_FOUND) {
            ok = failf("thread %d: toykv_get of its last batch: %s: %s", t,
                       toykv_status_str(st), err);
            toykv_free(err);
            break;
        }
        if (r->resumed[t] && r->resume[t] != m->applied)
            ok = failf("thread %d: the writer recovered batch %" PRIu64 " as the last, the previous "
                       "check found %" PRIu64, t, r->resume[t], m->applied);
        if (last < acked) {
            *lost_out += (int)(acked - last);
            ok = failf("thread %d: acknowledged batches %" PRIu64 "..%" PRIu64 " are lost", t,
                       last + 1, acked);
        }
        if (last > acked + 1)
            ok = failf("thread %d: batch %" PRIu64 " survived, but only %" PRIu64
                       " was acknowledged and one more can be in flight", t, last, acked);
        if (!ok)
            break;
        *extra_out += last > r->acked[t] && last > m->applied;
        model_apply(m, seed, t, last);
    }
    /* Every model key through get; expected values as the model says. */
    for (t = 0; t < WRITERS && ok; t++) {
        const struct model *m = &models[t];
        int i;
        expected_live += m->applied > 0; /* "t<t>/last" */
        for (i = 0; i < KEYS_PER_THREAD && ok; i++) {
            size_t klen = key_name(key, t, i);
            void *got = NULL;
            size_t got_len = 0;
            st = toykv_get(db, key, klen, &got, &got_len, &err);
            if (m->put_by[i] == 0) {
                if (st != TOYKV_NOT_FOUND)
                    ok = failf("%s: expected absent (after batch %" PRIu64 "), get says %s", key,
                               m->applied, toykv_status_str(st));
            } else {
                expected_live++;
                fill_value(want, t, m->put_by[i], i, m->len[i]);
                if (st != TOYKV_OK)
                    ok = failf("%s: expected the value of batch %" PRIu64 ", get says %s: %s", key,
                               m->put_by[i], toykv_status_str(st), err ? err : "");
                else if (!bytes_eq(got, got_len, want, m->len[i]))
                    ok = failf("%s: wrong value %.*s (%zu bytes), expected batch %" PRIu64
                               " (%zu bytes)", key, (int)(got_len < 40 ? got_len : 40),
                               (const char *)got, got_len, m->put_by[i], m->len[i]);
            }
            if (st == TOYKV_OK)
                toykv_free(got);
            toykv_free(err);
            err = NULL;
        }
    }
    /* A full scan holds exactly the model's live keys, with the same values as get. */
    if (ok && (st = toykv_cursor_open(db, NULL, 0, NULL, 0, &c, &err)) != TOYKV_OK) {
        ok = failf("toykv_cursor_open: %s: %s", toykv_status_str(st), err);
        toykv_free(err);
        err = NULL;
    }
    while (ok && (st = toykv_cursor_next(c, &k, &kl, &v, &vl, &err)) == TOYKV_OK) {
        int tt, i, n = 0;
        char name[KEY_CAP];
        scanned++;
        if (kl >= KEY_CAP) {
            ok = failf("scan: unexpected key of %zu bytes", kl);
            break;
        }
        memcpy(name, k, kl);
        name[kl] = '\0';
        if (sscanf(name, "t%d/k%4d%n", &tt, &i, &n) == 2 && (size_t)n == kl && tt >= 0 &&
            tt < WRITERS && i >= 0 && i < KEYS_PER_THREAD) {
            const struct model *m = &models[tt];
            if (m->put_by[i] == 0) {
                ok = failf("scan: %s is present, the model (batch %" PRIu64 ") has it deleted",
                           name, m->applied);
            } else {
                fill_value(want, tt, m->put_by[i], i, m->len[i]);
                if (!bytes_eq(v, vl, want, m->len[i]))
                    ok = failf("scan: %s holds a value other than get's", name);
            }
        } else if (sscanf(name, "t%d/last%n", &tt, &n) == 1 && (size_t)n == kl && tt >= 0 &&
                   tt < WRITERS) {
            char text[32];
            snprintf(text, sizeof text, "%" PRIu64, models[tt].applied);
            if (!bytes_eq(v, vl, text, strlen(text)))
                ok = failf("scan: %s disagrees with get", name);
        } else {
            ok = failf("scan: a key nobody wrote appeared: %s", name);
        }
    }
    if (ok && st != TOYKV_END) {
        ok = failf("toykv_cursor_next: %s: %s", toykv_status_str(st), err);
    }
    toykv_free(err);
    if (ok && scanned != expected_live)
        ok = failf("scan found %ld keys, the model has %ld live", scanned, expected_live);
    toykv_cursor_close(c);
    err = NULL;
    st = toykv_close(db, &err);
    if (st != TOYKV_OK) {
        ok = failf("toykv_close of the checked image: %s: %s", toykv_status_str(st), err);
        toykv_free(err);
    }
    free(want);
    return ok;
}

static long cycles_requested(int argc, char **argv) {
    const char *s = argc > 1 ? argv[1] : getenv("TOYKV_CRASH_CYCLES");
    long n = s ? strtol(s, NULL, 10) : 50;
    return n > 0 ? n : 50;
}

static uint64_t seed_value;
static long max_kill_ms = 400;
static long n_cycles;
static const char *self_path;

static void run_mode(int sync) {
    char *base = tmpdir_new();
    char *dir = path_join(base, "db");
    char *image = path_join(base, "image");
    struct model *models = calloc(WRITERS, sizeof *models);
    struct mode_totals tot;
    uint64_t rng = seed_value ^ (uint64_t)sync;
    long cycle;
    double started = now_seconds();
    memset(&tot, 0, sizeof tot);
    if (models == NULL)
        exit(2);
    for (cycle = 0; cycle < n_cycles; cycle++) {
        struct run_result r;
        long kill_ms = (long)(splitmix(&rng) % (uint64_t)(max_kill_ms + 1));
        int lost = 0, extra = 0, ok;
        if (run_writer(self_path, dir, sync, seed_value, kill_ms, &r) != 0) {
            failf("could not start the writer: %s", strerror(errno));
            break;
        }
        if (r.exited_by_itself) {
            failf("cycle %ld: the writer exited on its own (status 0x%x) instead of being killed "
                  "(its stderr says why)", cycle, r.status);
            break;
        }
        remove_tree(image);
        if (!path_exists(dir)) {
            /* Killed before it created the directory: nothing can have been written. */
            int ok = r.acks == 0 && models[0].applied == 0;
            if (!ok)
                failf("cycle %ld: the database directory vanished", cycle);
            else
                check_record(1, __FILE__, __LINE__, "cycle held");
            tot.cycles++;
            tot.killed_before_resume++;
            if (!ok)
                break;
            continue;
        }
        if (copy_dir(dir, image) != 0) {
            failf("cycle %ld: could not copy %s: %s", cycle, dir, strerror(errno));
            break;
        }
        ok = check_image(image, seed_value, models, &r, &lost, &extra);
        tot.cycles++;
        tot.acked += r.acks;
        tot.lost += lost;
        tot.in_flight_survived += extra;
        tot.killed_before_resume += !r.resumed[0];
        if (ok)
            check_record(1, __FILE__, __LINE__, "cycle held");
        if (!ok) {
            fprintf(stderr, "cycle %ld (kill after %ld ms) failed; the image is kept in %s\n",
                    cycle, kill_ms, image);
            free(image);
            image = NULL;
            break;
        }
    }
    printf("%s: %ld cycles in %.0f s, %ld batches acknowledged, %ld acknowledged lost, "
           "%ld unacknowledged in-flight batches survived, %ld kills before the writer "
           "had recovered; batches per thread now %" PRIu64 ", %" PRIu64 "\n",
           sync ? "sync_writes" : "no sync_writes", tot.cycles, now_seconds() - started,
           tot.acked, tot.lost, tot.in_flight_survived, tot.killed_before_resume,
           models[0].applied, models[WRITERS - 1].applied);
    fflush(stdout);
    if (image != NULL) {
        remove_tree(image);
        free(image);
        remove_tree(base);
    }
    free(dir);
    free(base);
    free(models);
}

static void run_sync_writes(void) { run_mode(1); }
static void run_without_sync_writes(void) { run_mode(0); }

int main(int argc, char **argv) {
    const char *s;
    if (argc == 6 && strcmp(argv[1], "--writer") == 0)
        return writer_main(argv[2], strcmp(argv[3], "1") == 0, strtoull(argv[4], NULL, 10),
                           atoi(argv[5]));
    self_path = argv[0];
    n_cycles = cycles_requested(argc, argv);
    s = getenv("TOYKV_CRASH_SEED");
    seed_value = s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
    if ((s = getenv("TOYKV_CRASH_MAX_KILL_MS")) != NULL && atol(s) > 0)
        max_kill_ms = atol(s);
    printf("crash harness: %ld cycles per mode, seed %" PRIu64 " (TOYKV_CRASH_SEED), kills "
           "within %ld ms\n", n_cycles, seed_value, max_kill_ms);
    fflush(stdout);
    s = getenv("TOYKV_CRASH_MODE");
    if (s == NULL || strcmp(s, "nosync") != 0)
        RUN_TEST(run_sync_writes);
    if (s == NULL || strcmp(s, "sync") != 0)
        RUN_TEST(run_without_sync_writes);
    return check_summary();
}
