/* bench.c - a db_bench-style benchmark of toykv beside LevelDB, RocksDB and LMDB.
 *
 * Every store runs every workload through the same code (backend.h), with the same
 * settings: 16-byte keys, 100-byte values, an 8 MiB block cache, 10 bits/key bloom filters,
 * 4 MiB memtables, 4 KiB blocks, no compression, and no fsync except where a workload says
 * so. Stores take turns within each workload (five rounds of turns for the workloads that
 * fsync, each store's median reported, as fsync latency drifts). Each (workload, store)
 * pair runs in a forked child in a fresh directory, so one store's memory, threads and
 * files never touch another's, and wait4() reports the child's peak RSS.
 *
 * Data for the read workloads: `fillrandom` loads N keys in a random order, waits until
 * the store has no flush or compaction running or due, and closes; that directory is kept.
 * Each read workload (and overwrite, deleterandom, mixed) copies it to a fresh directory,
 * opens the copy, waits again until the store is idle, and only then starts the clock. So
 * every store reads its own settled result of the same load, and no workload sees another
 * workload's leftovers.
 *
 * Keys are 16 decimal digits. Present keys are the even numbers 0, 2, ..., 2N-2; the odd
 * numbers are the missing keys `readmissing` asks for, so they fall inside every table's
 * key range and only the filters keep block reads away. Values are 100 pseudo-random bytes
 * that depend on the key number and the write round only, so every store holds the same
 * bytes. Every read workload folds the bytes it read into a checksum; the run fails when
 * two stores' checksums differ (or a store misses a present key or finds a missing one).
 *
 * Usage: bench [--n N] [--reads R] [--seeks S] [--workloads a,b] [--stores a,b]
 *              [--dir DIR] [--csv FILE]
 */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 16
#define VALUE_LEN 100
#define SEED_PAIRS 25000
#define SEED_FLUSH_EVERY 1000
#define SEED_READS 100000
#define SEEK_NEXTS 100
#define MAX_STORES 4
#define MAX_WORKLOADS 32

/* ---------------------------------------------------------------- run-wide options */

struct options {
    uint64_t n;     /* keys loaded */
    uint64_t reads; /* readrandom / readmissing / mixed operations */
    uint64_t seeks; /* seekrandom operations */
    const char *dir;
    const char *csv;
};

static struct options opt = {
    .n = 1000000,
    .reads = 0,
    .seeks = 0,
    .dir = "build/bench/data",
    .csv = "build/bench/results.csv",
};

static const struct backend *const all_backends[MAX_STORES] = {
    &backend_toykv, &backend_leveldb, &backend_rocksdb, &backend_lmdb};

void bench_die(const char *store, const char *what, const char *detail) {
    fprintf(stderr, "bench: %s: %s: %s\n", store, what, detail);
    exit(2);
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* User + system CPU time of this process (all its threads) so far. On a shared machine it
 * is steadier than wall time: time spent waiting for a core is not in it. */
static uint64_t cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_wait_until_idle(int (*pending)(void *ctx), void *ctx) {
    uint64_t deadline = now_ns() + 120ull * 1000000000u;
    while (pending(ctx) && now_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---------------------------------------------------------------- keys, values, checksums */

static uint64_t splitmix(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Key number k as 16 decimal digits. */
static void make_key(uint64_t k, char *out) {
    for (int i = KEY_LEN - 1; i >= 0; i--) {
        out[i] = (char)('0' + k % 10);
        k /= 10;
    }
}

/* The 100-byte value of key number k written in round `round`. */
static void make_value(uint64_t k, uint64_t round, char *out) {
    uint64_t state = k * 0x2545f4914f6cdd1dull + round;
    for (int i = 0; i < VALUE_LEN; i += 8) {
        uint64_t w = splitmix(&state);
        memcpy(out + i, &w, VALUE_LEN - i < 8 ? (size_t)(VALUE_LEN - i) : 8);
    }
}

/* A bijection of [0, n): position i of the order `seed` visits the keys in. Bijective
 * mixing steps on [0, 2^bits), then cycle-walking until the result falls below n. */
struct permutation {
    uint64_t n, mask, seed;
    int half;
};

static struct permutation permutation(uint64_t n, uint64_t seed) {
    int bits = 1;
    while (bits < 63 && (1ull << bits) < n) {
        bits++;
    }
    struct permutation p = {n, (1ull << bits) - 1, seed | 1, bits / 2 + 1};
    return p;
}

static uint64_t permute(const struct permutation *p, uint64_t i) {
    uint64_t x = i;
    do {
        x = (x * 0x9e3779b97f4a7c15ull + p->seed) & p->mask;
        x ^= x >> p->half;
        x = (x * ((p->seed * 2 + 0xd6e8feb86659fd93ull) | 1)) & p->mask;
        x ^= x >> p->half;
    } while (x >= p->n);
    return x;
}

/* Folds one entry into a running checksum, order-dependent across entries. A Fletcher-style
 * pair of sums over 8-byte words (one add each, no multiply chain): a few cycles per entry,
 * so it does not blur the differences between stores on the fast scans. */
static uint64_t fold(uint64_t h, const char *key, size_t key_len, const char *value,
                     size_t value_len) {
    uint64_t a = key_len * 0x100000001b3ull ^ value_len, b = 0;
    const char *parts[2] = {key, value};
    size_t lens[2] = {key_len, value_len};
    for (int p = 0; p < 2; p++) {
        size_t i = 0;
        for (; i + 8 <= lens[p]; i += 8) {
            uint64_t w;
            memcpy(&w, parts[p] + i, 8);
            a += w;
            b += a;
        }
        for (; i < lens[p]; i++) {
            a += (unsigned char)parts[p][i];
            b += a;
        }
    }
    return (h ^ a ^ (b * 0xff51afd7ed558ccdull)) * 0xc4ceb9fe1a85ec53ull + 1;
}

/* ---------------------------------------------------------------- workloads */

/* What one child measured, sent to the parent through a pipe. */
struct measure {
    uint64_t ops;
    uint64_t ns;
    uint64_t cpu_ns; /* user + system time of every thread of the child while timed */
    uint64_t checksum;
    uint64_t found; /* entries read (reads) */
    uint64_t disk_bytes;
};

struct job {
    const struct backend *be;
    bench_db *db;
    const char *dir;
    struct measure m;
};

enum prep { FRESH, LOADED };

struct workload {
    const char *name;
    const char *what;
    enum prep prep;
    int sync;
    int has_checksum;
    void (*run)(struct job *j);
    int threads; /* for the multi-threaded ones */
};

static void put_key(struct job *j, uint64_t k, uint64_t round) {
    char key[KEY_LEN], value[VALUE_LEN];
    make_key(k, key);
    make_value(k, round, value);
    j->be->put(j->db, key, KEY_LEN, value, VALUE_LEN);
}

static void get_key(struct job *j, uint64_t k, uint64_t *checksum, uint64_t *found) {
    char key[KEY_LEN], value[VALUE_LEN + 16];
    size_t len = 0;
    make_key(k, key);
    if (j->be->get(j->db, key, KEY_LEN, value, sizeof value, &len)) {
        *checksum = fold(*checksum, key, KEY_LEN, value, len < sizeof value ? len : sizeof value);
        *found += 1;
    }
}

static void run_fillseq(struct job *j) {
    for (uint64_t i = 0; i < opt.n; i++) {
        put_key(j, 2 * i, 0);
    }
    j->m.ops = opt.n;
}

static void run_fillrandom(struct job *j) {
    struct permutation p = permutation(opt.n, 1);
    for (uint64_t i = 0; i < opt.n; i++) {
        put_key(j, 2 * permute(&p, i), 0);
    }
    j->m.ops = opt.n;
}

static void run_overwrite(struct job *j) {
    struct permutation p = permutation(opt.n, 2);
    for (uint64_t i = 0; i < opt.n; i++) {
        put_key(j, 2 * permute(&p, i), 1);
    }
    j->m.ops = opt.n;
}

static void run_deleterandom(struct job *j) {
    struct permutation p = permutation(opt.n, 3);
    char key[KEY_LEN];
    for (uint64_t i = 0; i < opt.n; i++) {
        make_key(2 * permute(&p, i), key);
        j->be->del(j->db, key, KEY_LEN);
    }
    j->m.ops = opt.n;
}

static void run_fillsync(struct job *j) {
    uint64_t ops = opt.n / 1000 ? opt.n / 1000 : 1;
    struct permutation p = permutation(opt.n, 4);
    for (uint64_t i = 0; i < ops; i++) {
        put_key(j, 2 * permute(&p, i), 0);
    }
    j->m.ops = ops;
}

static void run_readrandom(struct job *j) {
    uint64_t state = 5;
    for (uint64_t i = 0; i < opt.reads; i++) {
        get_key(j, 2 * (splitmix(&state) % opt.n), &j->m.checksum, &j->m.found);
    }
    j->m.ops = opt.reads;
}

static void run_readmissing(struct job *j) {
    uint64_t state = 6;
    for (uint64_t i = 0; i < opt.reads; i++) {
        get_key(j, 2 * (splitmix(&state) % opt.n) + 1, &j->m.checksum, &j->m.found);
    }
    j->m.ops = opt.reads;
}

static void run_readseq(struct job *j) {
    bench_iter *it = j->be->iter_new(j->db);
    j->be->iter_seek(it, NULL, 0);
    const char *k, *v;
    size_t kl, vl;
    while (j->be->iter_next(it, &k, &kl, &v, &vl)) {
        j->m.checksum = fold(j->m.checksum, k, kl, v, vl);
        j->m.found++;
    }
    j->be->iter_free(it);
    j->m.ops = j->m.found;
}

/* A new iterator per seek (as LevelDB's db_bench), then up to 100 entries. */
static void run_seekrandom(struct job *j) {
    uint64_t state = 7;
    char key[KEY_LEN];
    for (uint64_t i = 0; i < opt.seeks; i++) {
        make_key(2 * (splitmix(&state) % opt.n), key);
        bench_iter *it = j->be->iter_new(j->db);
        j->be->iter_seek(it, key, KEY_LEN);
        const char *k, *v;
        size_t kl, vl;
        for (int e = 0; e < SEEK_NEXTS && j->be->iter_next(it, &k, &kl, &v, &vl); e++) {
            j->m.checksum = fold(j->m.checksum, k, kl, v, vl);
            j->m.found++;
        }
        j->be->iter_free(it);
    }
    j->m.ops = opt.seeks;
}

/* The learning project's read benchmark: 25,000 pairs written in key order with a flush
 * every 1,000, then random reads of present keys. */
static void seed_fill(struct job *j) {
    for (uint64_t i = 0; i < SEED_PAIRS; i++) {
        put_key(j, 2 * i, 0);
        if ((i + 1) % SEED_FLUSH_EVERY == 0) {
            j->be->flush(j->db);
        }
    }
}

static void run_seedfill(struct job *j) {
    seed_fill(j);
    j->m.ops = SEED_PAIRS;
}

/* Timed reads only: run_job does the seed fill (untimed) before the clock starts. */
static void run_seedread(struct job *j) {
    uint64_t state = 8;
    for (uint64_t i = 0; i < SEED_READS; i++) {
        get_key(j, 2 * (splitmix(&state) % SEED_PAIRS), &j->m.checksum, &j->m.found);
    }
    j->m.ops = SEED_READS;
}

/* Threads of the multi-threaded workloads. */
struct worker {
    struct job *job;
    int index, count;
    uint64_t ops, checksum, found;
    pthread_t thread;
};

static void run_threads(struct job *j, int count, void *(*body)(void *)) {
    struct worker w[64];
    for (int i = 0; i < count; i++) {
        w[i] = (struct worker){.job = j, .index = i, .count = count};
        if (pthread_create(&w[i].thread, NULL, body, &w[i]) != 0) {
            die("pthread_create failed");
        }
    }
    for (int i = 0; i < count; i++) {
        pthread_join(w[i].thread, NULL);
        j->m.ops += w[i].ops;
        /* Threads interleave freely: combine their checksums in an order-free way. */
        j->m.checksum += w[i].checksum;
        j->m.found += w[i].found;
    }
}

/* 90 % gets, 10 % puts that rewrite a key's own value, so every read returns the loaded
 * bytes and the checksum is the same for every store. */
static void *mixed_worker(void *arg) {
    struct worker *w = arg;
    uint64_t state = 100 + (uint64_t)w->index;
    uint64_t ops = opt.reads / (uint64_t)w->count;
    for (uint64_t i = 0; i < ops; i++) {
        uint64_t r = splitmix(&state);
        uint64_t k = 2 * ((r >> 8) % opt.n);
        if (r % 10 == 0) {
            put_key(w->job, k, 0);
        } else {
            get_key(w->job, k, &w->checksum, &w->found);
        }
    }
    w->ops = ops;
    return NULL;
}

static void run_mixed(struct job *j) { run_threads(j, 2, mixed_worker); }

/* Durable puts from many threads at once (each put fsynced before it returns). */
static void *syncputs_worker(void *arg) {
    struct worker *w = arg;
    uint64_t total = opt.n / 100 > (uint64_t)w->count ? opt.n / 100 : (uint64_t)w->count;
    uint64_t ops = total / (uint64_t)w->count;
    for (uint64_t i = 0; i < ops; i++) {
        put_key(w->job, 2 * (i * (uint64_t)w->count + (uint64_t)w->index), 0);
    }
    w->ops = ops;
    return NULL;
}

static int syncputs_threads;
static void run_syncputs(struct job *j) { run_threads(j, syncputs_threads, syncputs_worker); }

static const struct workload workloads[] = {
    {"fillseq", "N puts in key order", FRESH, 0, 0, run_fillseq, 0},
    {"fillrandom", "N puts in random order (the read workloads' data)", FRESH, 0, 0,
     run_fillrandom, 0},
    {"overwrite", "N puts of new values over the loaded keys", LOADED, 0, 0, run_overwrite, 0},
    {"readrandom", "random gets of present keys", LOADED, 0, 1, run_readrandom, 0},
    {"readmissing", "random gets of absent keys inside the key range", LOADED, 0, 1,
     run_readmissing, 0},
    {"readseq", "one iterator over every entry (per entry)", LOADED, 0, 1, run_readseq, 0},
    {"seekrandom", "new iterator, seek to a random key, read 100 entries", LOADED, 0, 1,
     run_seekrandom, 0},
    {"deleterandom", "N deletes of the loaded keys in random order", LOADED, 0, 0,
     run_deleterandom, 0},
    {"mixed", "2 threads, 90% gets / 10% puts", LOADED, 0, 1, run_mixed, 2},
    {"fillsync", "N/1000 puts, each fsynced", FRESH, 1, 0, run_fillsync, 0},
    {"syncputs_1t", "N/100 fsynced puts from 1 thread", FRESH, 1, 0, run_syncputs, 1},
    {"syncputs_4t", "N/100 fsynced puts from 4 threads", FRESH, 1, 0, run_syncputs, 4},
    {"syncputs_16t", "N/100 fsynced puts from 16 threads", FRESH, 1, 0, run_syncputs, 16},
    {"syncputs_64t", "N/100 fsynced puts from 64 threads", FRESH, 1, 0, run_syncputs, 64},
    {"seedfill", "25,000 puts in key order, a flush every 1,000", FRESH, 0, 0, run_seedfill, 0},
    {"seedread", "100,000 random gets over the seed fill", FRESH, 0, 1, run_seedread, 0},
};
#define NUM_WORKLOADS (sizeof workloads / sizeof workloads[0])

/* ---------------------------------------------------------------- files */

static void path_join(char *out, size_t cap, const char *a, const char *b) {
    if ((size_t)snprintf(out, cap, "%s/%s", a, b) >= cap) {
        die("path too long: %s/%s", a, b);
    }
}

/* Walks the tree under `dir`: returns the bytes its files occupy on disk (allocated
 * blocks, as du counts them) and, with `remove`, deletes it. */
static uint64_t walk_tree(const char *dir, int remove) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    uint64_t total = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        path_join(path, sizeof path, dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            total += walk_tree(path, remove);
        } else {
            total += (uint64_t)st.st_blocks * 512;
            if (remove) {
                unlink(path);
            }
        }
    }
    closedir(d);
    if (remove) {
        rmdir(dir);
    }
    return total;
}

static void remove_tree(const char *dir) { (void)walk_tree(dir, 1); }

static uint64_t disk_usage(const char *dir) { return walk_tree(dir, 0); }

static void make_dirs(const char *dir) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        die("mkdir %s: %s", buf, strerror(errno));
    }
}

/* Copies the regular files of `from` (one level, as every store keeps them) into `to`. */
static void copy_dir(const char *from, const char *to) {
    make_dirs(to);
    DIR *d = opendir(from);
    if (d == NULL) {
        die("opendir %s: %s", from, strerror(errno));
    }
    static char buf[1 << 20];
    struct dirent *e;
    char src[4096], dst[4096];
    while ((e = readdir(d)) != NULL) {
        path_join(src, sizeof src, from, e->d_name);
        struct stat st;
        if (lstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        path_join(dst, sizeof dst, to, e->d_name);
        int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0) {
            die("copy %s: %s", src, strerror(errno));
        }
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0) {
            if (write(out, buf, (size_t)n) != n) {
                die("write %s: %s", dst, strerror(errno));
            }
        }
        close(in);
        close(out);
    }
    closedir(d);
}

/* ---------------------------------------------------------------- one (workload, store) */

static void store_dir(char *out, size_t cap, const struct backend *be, const char *what) {
    char name[256];
    snprintf(name, sizeof name, "%s-%s", be->name, what);
    path_join(out, cap, opt.dir, name);
}

/* The child's body: prepare, time `run`, close, measure the directory. */
static struct measure run_job(const struct workload *w, const struct backend *be) {
    char dir[4096], loaded[4096];
    int keep = strcmp(w->name, "fillrandom") == 0;
    store_dir(loaded, sizeof loaded, be, "loaded");
    store_dir(dir, sizeof dir, be, "work");
    const char *at = keep ? loaded : dir;
    remove_tree(at);
    if (w->prep == LOADED) {
        copy_dir(loaded, dir);
    } else {
        make_dirs(at);
    }
    struct bench_settings s = {
        .block_cache_bytes = 8u << 20,
        .bloom_bits_per_key = 10,
        .write_buffer_bytes = 4u << 20,
        .block_bytes = 4096,
        .sync = w->sync,
        .expected_keys = opt.n > SEED_PAIRS ? opt.n : SEED_PAIRS,
    };
    struct job j = {.be = be, .dir = at};
    j.db = be->open(at, &s);
    if (w->run == run_seedread) {
        seed_fill(&j);
    }
    be->settle(j.db);
    syncputs_threads = w->threads;
    uint64_t start = now_ns(), cpu_start = cpu_ns();
    w->run(&j);
    j.m.ns = now_ns() - start;
    j.m.cpu_ns = cpu_ns() - cpu_start;
    if (keep) {
        be->settle(j.db);
    }
    be->close(j.db);
    j.m.disk_bytes = disk_usage(at);
    return j.m;
}

struct result {
    const struct workload *w;
    const struct backend *be;
    int ok;
    struct measure m;
    uint64_t peak_rss_bytes;
};

static struct result run_in_child(const struct workload *w, const struct backend *be) {
    struct result r = {.w = w, .be = be};
    int fds[2];
    if (pipe(fds) != 0) {
        die("pipe: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        die("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        struct measure m = run_job(w, be);
        if (write(fds[1], &m, sizeof m) != (ssize_t)sizeof m) {
            _exit(3);
        }
        _exit(0);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], &r.m, sizeof r.m);
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) {
        die("wait4: %s", strerror(errno));
    }
    r.ok = got == (ssize_t)sizeof r.m && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    r.peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024;
    if (strcmp(w->name, "fillrandom") != 0) {
        char dir[4096];
        store_dir(dir, sizeof dir, be, "work");
        remove_tree(dir);
    }
    return r;
}

/* ---------------------------------------------------------------- the fsync floor */

/* What fillsync cannot beat: one append of a put's bytes (key, value and a 20-byte record
 * header, about what a log record of one put costs) to a fresh file and an fdatasync of it,
 * as many times as fillsync puts. Measured before each round of the stores' turns and after
 * the last, as this machine's fsync latency drifts. Returns us per append, or 0 on failure. */
#define FLOOR_RECORD_BYTES (KEY_LEN + VALUE_LEN + 20)

static double fsync_floor_us(void) {
    char path[4096];
    path_join(path, sizeof path, opt.dir, "fsync-floor");
    (void)unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0) {
        return 0.0;
    }
    char record[FLOOR_RECORD_BYTES];
    memset(record, 'x', sizeof record);
    uint64_t ops = opt.n / 1000 ? opt.n / 1000 : 1;
    uint64_t start = now_ns();
    int ok = 1;
    for (uint64_t i = 0; i < ops && ok; i++) {
        ok = write(fd, record, sizeof record) == (ssize_t)sizeof record && fdatasync(fd) == 0;
    }
    uint64_t ns = now_ns() - start;
    close(fd);
    (void)unlink(path);
    return ok ? (double)ns / 1000.0 / (double)ops : 0.0;
}

#define SYNC_ROUNDS 5

/* The mean of the floors measured between fillsync's rounds of turns, and how many. */
static double fsync_floor;
static size_t fsync_floors;

/* ---------------------------------------------------------------- report */

static double us_per_op(const struct result *r) {
    return r->m.ops ? (double)r->m.ns / 1000.0 / (double)r->m.ops : 0.0;
}

static double cpu_us_per_op(const struct result *r) {
    return r->m.ops ? (double)r->m.cpu_ns / 1000.0 / (double)r->m.ops : 0.0;
}

static const struct result *find(const struct result *rs, size_t count, const struct workload *w,
                                 const char *store) {
    for (size_t i = 0; i < count; i++) {
        if (rs[i].w == w && strcmp(rs[i].be->name, store) == 0 && rs[i].ok) {
            return &rs[i];
        }
    }
    return NULL;
}

/* How many times faster toykv is than r's store on r's workload (1.0 for toykv itself). */
static double toykv_speedup(const struct result *rs, size_t count, const struct result *r) {
    const struct result *t = find(rs, count, r->w, "toykv");
    return t && us_per_op(t) > 0 ? us_per_op(r) / us_per_op(t) : 0.0;
}

static void print_table(const struct result *rs, size_t count) {
    printf("\n%-13s %-8s %10s %12s %9s %10s %10s %10s\n", "workload", "store", "us/op",
           "ops/s", "toykv x", "disk MB", "peak RSS", "cpu us/op");
    const struct workload *last = NULL;
    for (size_t i = 0; i < count; i++) {
        const struct result *r = &rs[i];
        if (last != NULL && r->w != last) {
            putchar('\n');
        }
        last = r->w;
        if (!r->ok) {
            printf("%-13s %-8s %10s\n", r->w->name, r->be->name, "FAILED");
            continue;
        }
        double us = us_per_op(r);
        printf("%-13s %-8s %10.3f %12.0f %9.2f %10.1f %8.1f MB %10.3f\n", r->w->name,
               r->be->name, us, us > 0 ? 1e6 / us : 0.0, toykv_speedup(rs, count, r),
               (double)r->m.disk_bytes / 1e6, (double)r->peak_rss_bytes / 1e6,
               cpu_us_per_op(r));
    }
    printf("\n'toykv x': the store's us/op divided by toykv's (above 1: toykv is faster).\n"
           "'cpu us/op': CPU time of all the store's threads per operation (wall time\n"
           "spent waiting for a core on a busy machine is not in it).\n");
    const struct result *sync_put = NULL;
    for (size_t i = 0; i < count && sync_put == NULL; i++) {
        if (strcmp(rs[i].w->name, "fillsync") == 0 && strcmp(rs[i].be->name, "toykv") == 0 &&
            rs[i].ok) {
            sync_put = &rs[i];
        }
    }
    if (sync_put != NULL && fsync_floor > 0) {
        printf("\nfsync floor   %d-byte append + fdatasync: %.3f us/op (mean of %zu, measured "
               "between\n              fillsync's rounds); toykv's fillsync is %+.1f%% of it\n",
               FLOOR_RECORD_BYTES, fsync_floor, fsync_floors,
               (us_per_op(sync_put) / fsync_floor - 1) * 100);
    }
    printf("\n%-13s %s\n", "workload", "toykv vs the faster of leveldb and rocksdb");
    last = NULL;
    for (size_t i = 0; i < count; i++) {
        if (rs[i].w == last) {
            continue;
        }
        last = rs[i].w;
        const struct result *t = find(rs, count, last, "toykv");
        const struct result *l = find(rs, count, last, "leveldb");
        const struct result *k = find(rs, count, last, "rocksdb");
        const struct result *best = l && k ? (us_per_op(l) < us_per_op(k) ? l : k) : l ? l : k;
        if (t && best && us_per_op(t) > 0) {
            const struct result *best_cpu =
                l && k ? (cpu_us_per_op(l) < cpu_us_per_op(k) ? l : k) : best;
            printf("%-13s %.2fx (%s)   cpu time: %.2fx (%s)\n", last->name,
                   us_per_op(best) / us_per_op(t), best->be->name,
                   cpu_us_per_op(t) > 0 ? cpu_us_per_op(best_cpu) / cpu_us_per_op(t) : 0.0,
                   best_cpu->be->name);
        }
    }
}

static void write_csv(const struct result *rs, size_t count) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", opt.csv);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = 0;
        make_dirs(dir);
    }
    FILE *f = fopen(opt.csv, "w");
    if (f == NULL) {
        die("open %s: %s", opt.csv, strerror(errno));
    }
    fprintf(f, "workload,store,version,n,ops,seconds,us_per_op,ops_per_sec,toykv_speedup,"
               "disk_bytes,peak_rss_bytes,checksum,cpu_us_per_op\n");
    for (size_t i = 0; i < count; i++) {
        const struct result *r = &rs[i];
        if (!r->ok) {
            continue;
        }
        double us = us_per_op(r);
        fprintf(f, "%s,%s,%s,%llu,%llu,%.6f,%.4f,%.0f,%.4f,%llu,%llu,%016llx,%.4f\n", r->w->name,
                r->be->name, r->be->version(), (unsigned long long)opt.n,
                (unsigned long long)r->m.ops, (double)r->m.ns / 1e9, us,
                us > 0 ? 1e6 / us : 0.0, toykv_speedup(rs, count, r),
                (unsigned long long)r->m.disk_bytes, (unsigned long long)r->peak_rss_bytes,
                (unsigned long long)(r->w->has_checksum ? r->m.checksum : 0), cpu_us_per_op(r));
    }
    fclose(f);
}

/* Every store must have read the same bytes, and every expected entry. */
static int check_reads(const struct result *rs, size_t count) {
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        const struct result *r = &rs[i];
        if (!r->ok || !r->w->has_checksum) {
            continue;
        }
        const char *name = r->w->name;
        uint64_t expect = UINT64_MAX;
        if (strcmp(name, "readrandom") == 0 || strcmp(name, "seedread") == 0) {
            expect = r->m.ops;
        } else if (strcmp(name, "readmissing") == 0) {
            expect = 0;
        } else if (strcmp(name, "readseq") == 0) {
            expect = opt.n;
        }
        if (expect != UINT64_MAX && r->m.found != expect) {
            fprintf(stderr, "bench: %s: %s read %llu entries, expected %llu\n", name,
                    r->be->name, (unsigned long long)r->m.found, (unsigned long long)expect);
            bad = 1;
        }
        for (size_t j = 0; j < i; j++) {
            const struct result *o = &rs[j];
            if (o->ok && o->w == r->w &&
                (o->m.checksum != r->m.checksum || o->m.found != r->m.found)) {
                fprintf(stderr,
                        "bench: %s: checksums differ: %s %016llx (%llu entries), %s %016llx "
                        "(%llu entries)\n",
                        name, o->be->name, (unsigned long long)o->m.checksum,
                        (unsigned long long)o->m.found, r->be->name,
                        (unsigned long long)r->m.checksum, (unsigned long long)r->m.found);
                bad = 1;
            }
        }
    }
    return bad;
}

/* ---------------------------------------------------------------- main */

static int listed(const char *list, const char *name) {
    if (list == NULL) {
        return 1;
    }
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0) {
            return 1;
        }
        p += n + (comma != NULL);
    }
    return 0;
}

static uint64_t parse_count(const char *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == 0 || *end != 0 || v == 0) {
        die("not a positive count: %s", s);
    }
    return v;
}

/* Runs one workload for every store, taking turns, into out[0..ns]. A workload that fsyncs
 * is dominated by this machine's fsync latency, which drifts from one minute to the next:
 * it runs SYNC_ROUNDS rounds of turns, and each store's result is its median round. */
static int by_us_per_op(const void *a, const void *b) {
    double x = us_per_op(a), y = us_per_op(b);
    return (x > y) - (x < y);
}

static void run_workload(const struct workload *w, const struct backend *const *stores,
                         size_t ns, struct result *out) {
    int fillsync = strcmp(w->name, "fillsync") == 0;
    size_t rounds = w->sync ? SYNC_ROUNDS : 1;
    struct result runs[MAX_STORES][SYNC_ROUNDS];
    double floor_sum = 0;
    size_t floors = 0;
    for (size_t round = 0; round < rounds; round++) {
        if (fillsync) {
            floor_sum += fsync_floor_us();
            floors++;
        }
        for (size_t s = 0; s < ns; s++) {
            struct result r = run_in_child(w, stores[s]);
            runs[s][round] = r;
            if (r.ok) {
                fprintf(stderr, "  %-13s %-8s %10.3f us/op\n", r.w->name, r.be->name,
                        us_per_op(&r));
            } else {
                fprintf(stderr, "  %-13s %-8s FAILED\n", r.w->name, r.be->name);
            }
        }
    }
    if (fillsync) {
        floor_sum += fsync_floor_us();
        floors++;
        fsync_floor = floor_sum / (double)floors;
        fsync_floors = floors;
    }
    for (size_t s = 0; s < ns; s++) {
        out[s] = runs[s][0];
        for (size_t round = 0; round < rounds; round++) {
            if (!runs[s][round].ok) {
                out[s] = runs[s][round]; /* a failed round fails the store's row */
                break;
            }
        }
        if (out[s].ok) {
            qsort(runs[s], rounds, sizeof runs[s][0], by_us_per_op);
            out[s] = runs[s][rounds / 2];
        }
    }
}

int main(int argc, char **argv) {
    const char *only_workloads = NULL, *only_stores = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            die("usage: bench [--n N] [--reads R] [--seeks S] [--workloads a,b] "
                "[--stores a,b] [--dir DIR] [--csv FILE]");
        }
        if (strcmp(a, "--n") == 0) {
            opt.n = parse_count(v);
        } else if (strcmp(a, "--reads") == 0) {
            opt.reads = parse_count(v);
        } else if (strcmp(a, "--seeks") == 0) {
            opt.seeks = parse_count(v);
        } else if (strcmp(a, "--workloads") == 0) {
            only_workloads = v;
        } else if (strcmp(a, "--stores") == 0) {
            only_stores = v;
        } else if (strcmp(a, "--dir") == 0) {
            opt.dir = v;
        } else if (strcmp(a, "--csv") == 0) {
            opt.csv = v;
        } else {
            die("unknown argument %s", a);
        }
        i++;
    }
    if (opt.reads == 0) {
        opt.reads = opt.n < 1000000 ? opt.n : 1000000;
    }
    if (opt.seeks == 0) {
        opt.seeks = opt.reads / 10 ? opt.reads / 10 : 1;
    }

    const struct workload *chosen[MAX_WORKLOADS];
    size_t nw = 0;
    int need_load = 0;
    for (size_t i = 0; i < NUM_WORKLOADS; i++) {
        need_load |= listed(only_workloads, workloads[i].name) && workloads[i].prep == LOADED;
    }
    for (size_t i = 0; i < NUM_WORKLOADS; i++) {
        int load = need_load && strcmp(workloads[i].name, "fillrandom") == 0;
        if (listed(only_workloads, workloads[i].name) || load) {
            chosen[nw++] = &workloads[i];
        }
    }
    const struct backend *stores[MAX_STORES];
    size_t ns = 0;
    for (size_t i = 0; i < MAX_STORES; i++) {
        if (listed(only_stores, all_backends[i]->name)) {
            stores[ns++] = all_backends[i];
        }
    }
    if (nw == 0 || ns == 0) {
        die("no workload or no store selected");
    }

    printf("N = %llu keys (16-byte keys, 100-byte values), %llu reads, %llu seeks\n",
           (unsigned long long)opt.n, (unsigned long long)opt.reads,
           (unsigned long long)opt.seeks);
    for (size_t s = 0; s < ns; s++) {
        printf("%s %s\n", stores[s]->name, stores[s]->version());
    }
    make_dirs(opt.dir);
    struct result *rs = calloc(nw * ns, sizeof *rs);
    size_t count = 0;
    for (size_t w = 0; w < nw; w++) {
        run_workload(chosen[w], stores, ns, rs + count);
        count += ns;
    }
    for (size_t s = 0; s < ns; s++) {
        char dir[4096];
        store_dir(dir, sizeof dir, stores[s], "loaded");
        remove_tree(dir);
    }
    print_table(rs, count);
    write_csv(rs, count);
    printf("\nwrote %s\n", opt.csv);
    int failed = check_reads(rs, count);
    for (size_t i = 0; i < count; i++) {
        failed |= !rs[i].ok;
    }
    if (failed) {
        fprintf(stderr, "bench: FAILED (see above)\n");
        return 1;
    }
    printf("checksums agree across stores on every read workload\n");
    free(rs);
    return 0;
}
