/*
 * support.h - toykv-specific helpers shared by the C tests (the generic harness is check.h).
 *
 * EXPECT(want, call) runs one toykv call that takes `&err` and checks the whole error
 * contract of API.md at once:
 *   - the returned status is `want`;
 *   - on TOYKV_OK, and on the two "not an error" codes TOYKV_NOT_FOUND and TOYKV_END,
 *     `*err` is left untouched (it is preset to a sentinel address the library cannot know);
 *   - on TOYKV_BUFFER_TOO_SMALL `*err` may be left untouched or set (API.md does not say);
 *   - on every other code `*err` holds a non-empty message, which is freed with toykv_free
 *     so that valgrind stays quiet.
 * It needs a `char *err;` in scope and evaluates to the status the call returned.
 *
 * Also here: temporary directories (mkdtemp, removed recursively afterwards), opening a
 * database with a given memtable size, byte-string helpers, and TOYKV_TEST_SCALE (a divisor
 * applied to the big loop counts so that valgrind runs stay short without dropping a test).
 */
#ifndef TOYKV_SUPPORT_H
#define TOYKV_SUPPORT_H

#include "check.h"
#include "toykv.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An address no library can hand out: `*err` equal to it means "untouched". */
static char support_err_sentinel_byte;
#define ERR_SENTINEL (&support_err_sentinel_byte)

/* The status's enum name, for failure messages ("?" for codes outside the table). */
static inline const char *status_name(int st) {
    static const char *const names[] = {
        "TOYKV_OK",  "TOYKV_NOT_FOUND",  "TOYKV_END",    "TOYKV_INVALID_ARGUMENT",
        "TOYKV_IO",  "TOYKV_CORRUPTION", "TOYKV_LOCKED", "TOYKV_BUFFER_TOO_SMALL",
        "TOYKV_CLOSED", "TOYKV_INTERNAL",
    };
    return (st >= 0 && st < (int)(sizeof names / sizeof names[0])) ? names[st] : "?";
}

/* Whether API.md allows `*err` to be set for a call that returned `st`. */
static inline int err_expected(int st) {
    return st != TOYKV_OK && st != TOYKV_NOT_FOUND && st != TOYKV_END &&
           st != TOYKV_BUFFER_TOO_SMALL;
}

/*
 * Checks status and `*err` of one call (see the file comment), frees any message and
 * resets `*err` to NULL. Returns `got`.
 */
static inline int check_call(const char *file, int line, const char *text, int got, int want,
                             char **err) {
    char what[1024];
    const char *problem = NULL;
    int touched = *err != ERR_SENTINEL;
    char *msg = touched ? *err : NULL;

    if (got != want) {
        problem = "wrong status";
    } else if (err_expected(got)) {
        if (!touched || msg == NULL)
            problem = "*err was not set on failure";
        else if (msg[0] == '\0')
            problem = "*err is an empty message";
    } else if (got != TOYKV_BUFFER_TOO_SMALL && touched) {
        problem = "*err was written although the call did not fail";
    } else if (touched && (msg == NULL || msg[0] == '\0')) {
        problem = "*err was set to NULL or an empty message";
    }
    if (problem != NULL) {
        snprintf(what, sizeof what, "%s: %s: got %d (%s), want %d (%s); *err: %s", text, problem,
                 got, status_name(got), want, status_name(want),
                 *err == ERR_SENTINEL ? "(untouched)" : *err == NULL ? "(NULL)" : *err);
    }
    check_record(problem == NULL, file, line, problem ? what : "");
    toykv_free(msg); /* a message is freed even when it should not have been produced */
    *err = NULL;
    return got;
}

#define EXPECT(want, call) \
    (err = ERR_SENTINEL, check_call(__FILE__, __LINE__, #call, (call), (want), &err))

/* For calls without an `err` argument (batch functions) or made with err == NULL. */
#define EXPECT_STATUS(want, call) CHECK_EQ((call), (want))

/* ---- scale ---------------------------------------------------------------------------- */

/* TOYKV_TEST_SCALE=N divides the big loop counts by N (default 1: full size). */
static inline long test_scale(void) {
    const char *s = getenv("TOYKV_TEST_SCALE");
    long n = s ? strtol(s, NULL, 10) : 1;
    return n >= 1 ? n : 1;
}

static inline long scaled(long n) {
    long m = n / test_scale();
    return m >= 1 ? m : 1;
}

/* ---- temporary directories ------------------------------------------------------------- */

/* A fresh empty directory under $TMPDIR (or /tmp); the returned path is malloc'd. */
static inline char *tmpdir_new(void) {
    const char *base = getenv("TMPDIR");
    size_t n;
    char *path;
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    n = strlen(base) + sizeof "/toykv-c-XXXXXX";
    path = malloc(n);
    if (path == NULL) {
        perror("malloc");
        exit(2);
    }
    snprintf(path, n, "%s/toykv-c-XXXXXX", base);
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    return path;
}

/* `dir` + "/" + `name`, malloc'd. */
static inline char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p == NULL) {
        perror("malloc");
        exit(2);
    }
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* rm -rf `path` (missing is fine: toykv_destroy may already have removed it). */
static inline void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        if (d != NULL) {
            while ((e = readdir(d)) != NULL) {
                char *child;
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                child = path_join(path, e->d_name);
                remove_tree(child);
                free(child);
            }
            closedir(d);
        }
        if (rmdir(path) != 0)
            fprintf(stderr, "warning: rmdir %s: %s\n", path, strerror(errno));
    } else if (unlink(path) != 0) {
        fprintf(stderr, "warning: unlink %s: %s\n", path, strerror(errno));
    }
}

/* Removes the directory tree and frees the path. */
static inline void tmpdir_remove(char *path) {
    remove_tree(path);
    free(path);
}

static inline int path_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ---- databases ------------------------------------------------------------------------- */

/*
 * Opens (creating) the database at `path` with `memtable_bytes` (0: library default).
 * Returns NULL after recording the failure.
 */
static inline toykv_db *open_db_at(const char *file, int line, const char *path,
                                   size_t memtable_bytes) {
    toykv_options *opts = toykv_options_new();
    toykv_db *db = NULL;
    char *err = ERR_SENTINEL;
    int st;
    if (!check_record(opts != NULL, file, line, "toykv_options_new() != NULL"))
        return NULL;
    if (memtable_bytes != 0)
        toykv_options_set_memtable_bytes(opts, memtable_bytes);
    st = toykv_open(path, opts, &db, &err);
    check_call(file, line, "toykv_open(path, opts, &db, &err)", st, TOYKV_OK, &err);
    check_record(st != TOYKV_OK || db != NULL, file, line, "toykv_open returned a database");
    toykv_options_free(opts);
    return st == TOYKV_OK ? db : NULL;
}
#define OPEN_DB(path, memtable_bytes) open_db_at(__FILE__, __LINE__, (path), (memtable_bytes))

/* Closes `db`, checking the status. */
static inline void close_db_at(const char *file, int line, toykv_db *db) {
    char *err = ERR_SENTINEL;
    int st = toykv_close(db, &err);
    check_call(file, line, "toykv_close(db, &err)", st, TOYKV_OK, &err);
}
#define CLOSE_DB(db) close_db_at(__FILE__, __LINE__, (db))

/* A 64 KiB memtable: small enough that a few hundred KiB of writes reach sstables. */
#define SMALL_MEMTABLE ((size_t)64 * 1024)

/* ---- byte strings ---------------------------------------------------------------------- */

static inline int bytes_eq(const void *a, size_t a_len, const void *b, size_t b_len) {
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* Checks that `key` holds exactly the value (expected, expected_len) through toykv_get. */
static inline void check_get_at(const char *file, int line, toykv_db *db, const void *key,
                                size_t key_len, const void *expected, size_t expected_len) {
    void *v = NULL;
    size_t n = (size_t)-1;
    char *err = ERR_SENTINEL;
    int st = toykv_get(db, key, key_len, &v, &n, &err);
    check_call(file, line, "toykv_get(db, key, key_len, &v, &n, &err)", st, TOYKV_OK, &err);
    if (st == TOYKV_OK)
        check_record(bytes_eq(v, n, expected, expected_len), file, line,
                     "toykv_get returned the expected value");
    toykv_free(v);
}
/* CHECK_GET(db, key, key_len, value, value_len); variadic so that LIT("k") may stand for two. */
#define CHECK_GET(...) check_get_at(__FILE__, __LINE__, __VA_ARGS__)

/* Checks that `key` is absent through toykv_get. */
static inline void check_absent_at(const char *file, int line, toykv_db *db, const void *key,
                                   size_t key_len) {
    void *v = NULL;
    size_t n = 0;
    char *err = ERR_SENTINEL;
    int st = toykv_get(db, key, key_len, &v, &n, &err);
    check_call(file, line, "toykv_get(db, key, key_len, &v, &n, &err) on an absent key", st,
               TOYKV_NOT_FOUND, &err);
    if (st == TOYKV_OK)
        toykv_free(v);
}
/* CHECK_ABSENT(db, key, key_len) */
#define CHECK_ABSENT(...) check_absent_at(__FILE__, __LINE__, __VA_ARGS__)

#endif /* TOYKV_SUPPORT_H */
