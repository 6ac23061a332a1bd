/*
 * test_corruption.c - damage beyond single bits, seen through the C API.
 *
 * A database is built and closed cleanly: 3,000 keys written twice with a 64 KiB memtable,
 * so several sstables hold the first round, later ones and the WAL the second, and a lost
 * file would show old values rather than nothing. Then, on a fresh copy each time, one file
 * of each kind (WAL, every sstable, manifest, CURRENT) gets
 *   - each 4 KiB page zeroed in turn (the last page may be partial),
 *   - 64 bytes of garbage appended, and 4 KiB of zeros appended;
 * and separately an sstable the manifest names is deleted, and CURRENT is pointed at a
 * manifest that does not exist. Every case must either fail to open with TOYKV_CORRUPTION
 * and a message naming the damaged file (or, for a deleted sstable or a missing manifest,
 * the manifest that names it), or open and read exactly right: every key's latest value
 * through toykv_get (a get may instead fail with TOYKV_CORRUPTION naming the file), and a
 * full scan equal to the model. A clean close fsyncs every WAL, so damage in one is
 * corruption, not a torn tail.
 */
#define _POSIX_C_SOURCE 200809L

#include "support.h"

#include <fcntl.h>

#define KEYS 3000
#define PAGE 4096

static char *source_dir;
static long cases_tried, cases_detected, cases_read_right;

static size_t key_of(char *buf, int i) { return (size_t)snprintf(buf, 32, "key%06d", i); }

static size_t value_of(char *buf, int i, int round) {
    return (size_t)snprintf(buf, 64, "value-%d-%d-%.*s", i, round, i % 20, "xxxxxxxxxxxxxxxxxxxx");
}

static void build_source(void) {
    char k[32], v[64], *err;
    int i, round;
    toykv_db *db;
    source_dir = tmpdir_new();
    db = OPEN_DB(source_dir, SMALL_MEMTABLE);
    if (db == NULL)
        exit(2);
    for (round = 0; round < 2; round++)
        for (i = 0; i < KEYS; i++)
            EXPECT(TOYKV_OK, toykv_put(db, k, key_of(k, i), v, value_of(v, i, round), &err));
    CLOSE_DB(db);
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    rewind(f);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL)
        ok = fclose(f) == 0 && ok;
    return ok;
}

/* A copy of the source database (without LOCK) in a new directory. */
static char *copy_source(void) {
    char *dst = tmpdir_new();
    DIR *d = opendir(source_dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char *from, *to;
        unsigned char *data;
        size_t len = 0;
        if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0)
            continue;
        from = path_join(source_dir, e->d_name);
        to = path_join(dst, e->d_name);
        data = read_file(from, &len);
        CHECK(data != NULL && write_file(to, data, len));
        free(data);
        free(from);
        free(to);
    }
    if (d != NULL)
        closedir(d);
    return dst;
}

static int names(const char *msg, const char *a, const char *b) {
    return msg != NULL && (strstr(msg, a) != NULL || (b != NULL && strstr(msg, b) != NULL));
}

/*
 * Opens `dir` and checks the promise: CORRUPTION naming `file` (or `also`), or exactly the
 * right data. `what` describes the damage for failure messages.
 */
static void check_outcome(const char *dir, const char *file, const char *also, const char *what) {
    toykv_db *db = NULL;
    toykv_cursor *c = NULL;
    char *err = NULL, k[32], v[64], msg[512];
    int st, i, ok = 1, detected = 0;
    cases_tried++;
    st = toykv_open(dir, NULL, &db, &err);
    if (st != TOYKV_OK) {
        snprintf(msg, sizeof msg, "%s: open says %s, not TOYKV_CORRUPTION naming %s: %s", what,
                 status_name(st), file, err ? err : "(no message)");
        if (st == TOYKV_CORRUPTION && names(err, file, also)) {
            CHECK(1);
            cases_detected++;
        } else {
            FAIL(msg);
        }
        toykv_free(err);
        return;
    }
    for (i = 0; i < KEYS && ok; i++) {
        void *got = NULL;
        size_t n = 0;
        size_t vlen = value_of(v, i, 1);
        err = NULL;
        st = toykv_get(db, k, key_of(k, i), &got, &n, &err);
        if (st == TOYKV_CORRUPTION && names(err, file, also)) {
            detected = 1;
        } else if (st != TOYKV_OK || !bytes_eq(got, n, v, vlen)) {
            snprintf(msg, sizeof msg, "%s: opened, and get of %s says %s (%.*s): %s", what, k,
                     status_name(st), st == TOYKV_OK ? (int)n : 0,
                     st == TOYKV_OK ? (const char *)got : "", err ? err : "");
            ok = FAIL(msg);
        }
        if (st == TOYKV_OK)
            toykv_free(got);
        toykv_free(err);
    }
    err = NULL;
    if (ok && toykv_cursor_open(db, NULL, 0, NULL, 0, &c, &err) == TOYKV_OK) {
        const void *ck, *cv;
        size_t ckl, cvl;
        for (i = 0; ok; i++) {
            err = NULL;
            st = toykv_cursor_next(c, &ck, &ckl, &cv, &cvl, &err);
            if (st == TOYKV_END) {
                if (i != KEYS)
                    ok = FAIL("scan ended early without an error");
                break;
            }
            if (st == TOYKV_CORRUPTION && names(err, file, also)) {
                detected = 1;
                toykv_free(err);
                break;
            }
            if (st != TOYKV_OK || i >= KEYS ||
                !bytes_eq(ck, ckl, k, key_of(k, i)) || !bytes_eq(cv, cvl, v, value_of(v, i, 1))) {
                snprintf(msg, sizeof msg, "%s: scan entry %d is wrong (%s): %s", what, i,
                         status_name(st), err ? err : "");
                ok = FAIL(msg);
            }
            toykv_free(err);
        }
        toykv_cursor_close(c);
    } else if (ok) {
        ok = FAIL("toykv_cursor_open failed");
        toykv_free(err);
    }
    if (ok)
        CHECK(ok);
    cases_detected += ok && detected;
    cases_read_right += ok && !detected;
    err = NULL;
    st = toykv_close(db, &err);
    toykv_free(err);
}

enum damage { ZERO_PAGE, APPEND_GARBAGE, APPEND_ZEROS };

/* Applies `how` (page `page` for ZERO_PAGE) to `name` in a fresh copy and checks it. */
static void damage_case(const char *name, enum damage how, size_t page) {
    char *dir = copy_source(), *path = path_join(dir, name), what[256];
    size_t len = 0, i;
    unsigned char *data = read_file(path, &len), *out;
    if (data == NULL) {
        FAIL("cannot read a file of the copy");
        free(path);
        tmpdir_remove(dir);
        return;
    }
    out = malloc(len + PAGE);
    memcpy(out, data, len);
    if (how == ZERO_PAGE) {
        size_t end = (page + 1) * PAGE < len ? (page + 1) * PAGE : len;
        memset(out + page * PAGE, 0, end - page * PAGE);
        snprintf(what, sizeof what, "%s with page %zu (bytes %zu..%zu of %zu) zeroed", name, page,
                 page * PAGE, end, len);
    } else if (how == APPEND_GARBAGE) {
        for (i = 0; i < 64; i++)
            out[len + i] = (unsigned char)(0x5a ^ (i * 37 + 11));
        len += 64;
        snprintf(what, sizeof what, "%s with 64 bytes of garbage appended", name);
    } else {
        memset(out + len, 0, PAGE);
        len += PAGE;
        snprintf(what, sizeof what, "%s with 4 KiB of zeros appended", name);
    }
    CHECK(write_file(path, out, len));
    check_outcome(dir, name, NULL, what);
    free(out);
    free(data);
    free(path);
    tmpdir_remove(dir);
}

/* The names of the source's files, NULL-terminated (malloc'd). */
static char **source_files(void) {
    char **out = calloc(256, sizeof *out);
    DIR *d = opendir(source_dir);
    struct dirent *e;
    int n = 0;
    while (d != NULL && (e = readdir(d)) != NULL && n < 255)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "LOCK") != 0)
            out[n++] = strdup(e->d_name);
    if (d != NULL)
        closedir(d);
    return out;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void every_file_kind_damaged(const char *kind) {
    char **files = source_files();
    int i, seen = 0;
    for (i = 0; files[i] != NULL; i++) {
        const char *f = files[i];
        int match = strcmp(kind, "wal") == 0        ? ends_with(f, ".log")
                    : strcmp(kind, "sstable") == 0  ? ends_with(f, ".sst")
                    : strcmp(kind, "manifest") == 0 ? strncmp(f, "MANIFEST-", 9) == 0
                                                    : strcmp(f, "CURRENT") == 0;
        char *path = path_join(source_dir, f);
        size_t len = 0, page;
        unsigned char *data = read_file(path, &len);
        free(path);
        free(data);
        if (!match || len == 0)
            continue;
        seen++;
        for (page = 0; page * PAGE < len; page++)
            damage_case(f, ZERO_PAGE, page);
        damage_case(f, APPEND_GARBAGE, 0);
        damage_case(f, APPEND_ZEROS, 0);
    }
    CHECK(seen > 0);
    for (i = 0; files[i] != NULL; i++)
        free(files[i]);
    free(files);
}

static void wal_damage(void) { every_file_kind_damaged("wal"); }
static void sstable_damage(void) { every_file_kind_damaged("sstable"); }
static void manifest_damage(void) { every_file_kind_damaged("manifest"); }
static void current_damage(void) { every_file_kind_damaged("current"); }

static void a_deleted_sstable_named_by_the_manifest(void) {
    char **files = source_files();
    int i, deleted = 0;
    for (i = 0; files[i] != NULL; i++) {
        char *dir, *path, what[128];
        if (!ends_with(files[i], ".sst"))
            continue;
        dir = copy_source();
        path = path_join(dir, files[i]);
        CHECK(unlink(path) == 0);
        snprintf(what, sizeof what, "%s deleted", files[i]);
        check_outcome(dir, files[i], "MANIFEST-", what);
        free(path);
        tmpdir_remove(dir);
        deleted++;
    }
    CHECK(deleted > 0);
    for (i = 0; files[i] != NULL; i++)
        free(files[i]);
    free(files);
}

static void current_naming_a_missing_manifest(void) {
    char *dir = copy_source(), *path = path_join(dir, "CURRENT");
    const char *text = "MANIFEST-999999\n";
    CHECK(write_file(path, text, strlen(text)));
    check_outcome(dir, "MANIFEST-999999", NULL, "CURRENT naming MANIFEST-999999, which is missing");
    free(path);
    tmpdir_remove(dir);
}

int main(void) {
    build_source();
    RUN_TEST(wal_damage);
    RUN_TEST(sstable_damage);
    RUN_TEST(manifest_damage);
    RUN_TEST(current_damage);
    RUN_TEST(a_deleted_sstable_named_by_the_manifest);
    RUN_TEST(current_naming_a_missing_manifest);
    printf("corruption cases: %ld tried, %ld detected as corruption naming the file, %ld read "
           "exactly right\n", cases_tried, cases_detected, cases_read_right);
    tmpdir_remove(source_dir);
    return check_summary();
}
