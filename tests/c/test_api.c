/*
 * test_api.c - proves every promise of the toykv C API contract (API.md), one function
 * at a time, from a C caller's point of view.
 *
 * It starts with the table-driven test the style guide asks for: every entry point called
 * with NULL handles, NULL pointers carrying non-zero lengths and NULL out-parameters must
 * return TOYKV_INVALID_ARGUMENT (with a message when `err` is given, and with `err` NULL too),
 * leave its outputs unwritten and never crash; every *_free / *_close accepts NULL. Then the
 * behaviour: size limits, option validation, open modes and the directory lock, get_into's
 * size protocol, empty and binary keys, large values, cursor ranges, seeks and snapshot
 * isolation, cursors and snapshots outliving their database, atomic batches, sync / flush /
 * compact and reopen, properties, 10,000 keys in order, destroy, version and status strings.
 *
 * Every status is checked with EXPECT (support.h), which also checks `*err`: untouched on
 * success, a non-empty message on failure, always freed so that valgrind reports no leak.
 * Runs in a few seconds; TOYKV_TEST_SCALE=N divides the big loop counts by N.
 */
#define _POSIX_C_SOURCE 200809L

#include "support.h"

#include <limits.h>
#include <stdint.h>

/* The version Cargo.toml declares; c.mk passes it so that one source decides. */
#ifndef TOYKV_EXPECTED_VERSION
#define TOYKV_EXPECTED_VERSION "0.1.0"
#endif

/* A string literal as (pointer, length) without its NUL: LIT("ab") is "ab", 2. */
#define LIT(s) (s), (sizeof(s) - 1)

/* ========================================================================================
 * Scanning helpers
 * ====================================================================================== */

/* Opens a cursor on `db` over [start, end), checking the status; NULL on failure. */
static toykv_cursor *cursor_open_at(const char *file, int line, toykv_db *db, const void *start,
                                    size_t start_len, const void *end, size_t end_len) {
    toykv_cursor *c = NULL;
    char *err = ERR_SENTINEL;
    int st = toykv_cursor_open(db, start, start_len, end, end_len, &c, &err);
    check_call(file, line, "toykv_cursor_open(db, start, start_len, end, end_len, &c, &err)", st,
               TOYKV_OK, &err);
    check_record(st != TOYKV_OK || c != NULL, file, line, "toykv_cursor_open returned a cursor");
    return st == TOYKV_OK ? c : NULL;
}
/* CURSOR_OPEN(db, start, start_len, end, end_len) */
#define CURSOR_OPEN(...) cursor_open_at(__FILE__, __LINE__, __VA_ARGS__)

/*
 * Drains cursor `c` (printable keys and values only) into "k=v k=v ..." and checks that it
 * equals `expected` and that the cursor ended with TOYKV_END.
 */
static void check_scan_at(const char *file, int line, toykv_cursor *c, const char *expected) {
    char got[4096];
    size_t used = 0;
    int entries = 0;
    got[0] = '\0';
    if (c == NULL) {
        check_record(0, file, line, "cursor to scan is NULL (open failed)");
        return;
    }
    for (;;) {
        const void *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        char *err = ERR_SENTINEL;
        int st = toykv_cursor_next(c, &k, &kl, &v, &vl, &err);
        if (st != TOYKV_OK) {
            check_call(file, line, "toykv_cursor_next(...) at the end of the scan", st, TOYKV_END,
                       &err);
            break;
        }
        if (++entries > 64) {
            check_record(0, file, line, "scan did not end after 64 entries");
            break;
        }
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%.*s=%.*s",
                                 used ? " " : "", (int)kl, (const char *)k, (int)vl,
                                 (const char *)v);
        if (used >= sizeof got)
            break;
    }
    if (strcmp(got, expected) != 0) {
        char what[4400];
        snprintf(what, sizeof what, "scan returned \"%s\", want \"%s\"", got, expected);
        check_record(0, file, line, what);
    } else {
        check_record(1, file, line, "");
    }
}
#define CHECK_SCAN(c, expected) check_scan_at(__FILE__, __LINE__, (c), (expected))

/* Checks that the next entry of `c` is (key, value). */
static void check_next_at(const char *file, int line, toykv_cursor *c, const char *key,
                          const char *value) {
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    char *err = ERR_SENTINEL;
    int st = toykv_cursor_next(c, &k, &kl, &v, &vl, &err);
    check_call(file, line, "toykv_cursor_next(c, &k, &kl, &v, &vl, &err)", st, TOYKV_OK, &err);
    if (st == TOYKV_OK) {
        char what[256];
        snprintf(what, sizeof what, "next entry is %.*s=%.*s, want %s=%s", (int)kl,
                 (const char *)k, (int)vl, (const char *)v, key, value);
        check_record(bytes_eq(k, kl, key, strlen(key)) && bytes_eq(v, vl, value, strlen(value)),
                     file, line, what);
    }
}
#define CHECK_NEXT(c, key, value) check_next_at(__FILE__, __LINE__, (c), (key), (value))

/* Checks that the next call on `c` returns TOYKV_END. */
#define CHECK_END(c)                                                                  \
    do {                                                                              \
        const void *k_ = NULL, *v_ = NULL;                                            \
        size_t kl_ = 0, vl_ = 0;                                                      \
        EXPECT(TOYKV_END, toykv_cursor_next((c), &k_, &kl_, &v_, &vl_, &err));        \
    } while (0)

/* Puts a NUL-terminated key and value. */
#define PUT_STR(db, k, v) EXPECT(TOYKV_OK, toykv_put((db), (k), strlen(k), (v), strlen(v), &err))

/* Sum of toykv.num-files-at-level<N> over every level the library answers for. */
static long total_files(toykv_db *db) {
    long total = 0;
    int level;
    for (level = 0; level < 64; level++) {
        char name[64];
        char *value = NULL;
        char *err = NULL;
        snprintf(name, sizeof name, "toykv.num-files-at-level%d", level);
        if (toykv_property(db, name, &value, &err) != TOYKV_OK) {
            toykv_free(err); /* past the last level */
            break;
        }
        total += strtol(value, NULL, 10);
        toykv_free(value);
    }
    CHECK(level >= 1); /* level 0 at least must exist */
    return total;
}

/* Whether `s` is a non-empty run of decimal digits and nothing else. */
static int is_decimal(const char *s) {
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* ========================================================================================
 * Version and status strings
 * ====================================================================================== */

static void version_matches_the_header_macros(void) {
    char from_parts[64];
    const char *v = toykv_version();
    CHECK(v != NULL);
    if (v == NULL)
        return;
    CHECK(strcmp(v, TOYKV_VERSION) == 0);
    CHECK(strcmp(v, TOYKV_EXPECTED_VERSION) == 0);
    snprintf(from_parts, sizeof from_parts, "%d.%d.%d", (int)TOYKV_VERSION_MAJOR,
             (int)TOYKV_VERSION_MINOR, (int)TOYKV_VERSION_PATCH);
    CHECK(strcmp(from_parts, TOYKV_VERSION) == 0);
    CHECK(toykv_version() == v || strcmp(toykv_version(), v) == 0); /* stable across calls */
}

static void status_codes_have_the_documented_values(void) {
    CHECK_EQ(TOYKV_OK, 0);
    CHECK_EQ(TOYKV_NOT_FOUND, 1);
    CHECK_EQ(TOYKV_END, 2);
    CHECK_EQ(TOYKV_INVALID_ARGUMENT, 3);
    CHECK_EQ(TOYKV_IO, 4);
    CHECK_EQ(TOYKV_CORRUPTION, 5);
    CHECK_EQ(TOYKV_LOCKED, 6);
    CHECK_EQ(TOYKV_BUFFER_TOO_SMALL, 7);
    CHECK_EQ(TOYKV_CLOSED, 8);
    CHECK_EQ(TOYKV_INTERNAL, 9);
    CHECK_EQ(TOYKV_MAX_KEY_LEN, 65536);
    CHECK_EQ(TOYKV_MAX_VALUE_LEN, 33554432);
    CHECK_EQ(TOYKV_MAX_MEMTABLE_BYTES, 1 << 30);
    CHECK_EQ(TOYKV_MAX_BLOCK_BYTES, 4 << 20);
}

static void status_str_is_never_null_even_for_unknown_codes(void) {
    const int odd[] = {-1, 10, 42, 1000, INT_MIN, INT_MAX};
    int code;
    size_t i;
    for (code = 0; code <= 9; code++) {
        const char *s = toykv_status_str(code);
        CHECK(s != NULL && s[0] != '\0');
    }
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *s = toykv_status_str(odd[i]);
        CHECK(s != NULL && s[0] != '\0');
    }
    /* Known codes read differently from one another. */
    CHECK(strcmp(toykv_status_str(TOYKV_OK), toykv_status_str(TOYKV_NOT_FOUND)) != 0);
    CHECK(strcmp(toykv_status_str(TOYKV_LOCKED), toykv_status_str(TOYKV_CLOSED)) != 0);
}

/* ========================================================================================
 * The table: every entry point with NULL handles, NULL pointers with lengths, NULL outputs
 * ====================================================================================== */

/* An address the library cannot return: outputs equal to it were not written. */
static char out_sentinel_byte;
#define OUT_SENTINEL ((void *)&out_sentinel_byte)
#define LEN_SENTINEL ((size_t)0x5eed)

/* Valid handles and output slots the bad calls use; outputs are preset to sentinels. */
struct fixture {
    toykv_db *db;
    toykv_batch *batch;
    toykv_cursor *cursor;
    toykv_snapshot *snap;
    char *fresh_path; /* a directory no database lives in yet */
    toykv_db *db_out;
    void *value_out;
    size_t value_len_out;
    char *prop_out;
    toykv_cursor *cursor_out;
    toykv_snapshot *snap_out;
    const void *key_ptr;
    size_t key_len;
    const void *val_ptr;
    size_t val_len;
    char buf[16];
};

static void fixture_reset_outputs(struct fixture *f) {
    f->db_out = OUT_SENTINEL;
    f->value_out = OUT_SENTINEL;
    f->value_len_out = LEN_SENTINEL;
    f->prop_out = OUT_SENTINEL;
    f->cursor_out = OUT_SENTINEL;
    f->snap_out = OUT_SENTINEL;
    f->key_ptr = OUT_SENTINEL;
    f->key_len = LEN_SENTINEL;
    f->val_ptr = OUT_SENTINEL;
    f->val_len = LEN_SENTINEL;
}

static int fixture_outputs_untouched(const struct fixture *f) {
    return f->db_out == OUT_SENTINEL && f->value_out == OUT_SENTINEL &&
           f->value_len_out == LEN_SENTINEL && f->prop_out == OUT_SENTINEL &&
           f->cursor_out == OUT_SENTINEL && f->snap_out == OUT_SENTINEL &&
           f->key_ptr == OUT_SENTINEL && f->key_len == LEN_SENTINEL &&
           f->val_ptr == OUT_SENTINEL && f->val_len == LEN_SENTINEL;
}

typedef int (*bad_call_fn)(struct fixture *f, char **err);

struct bad_call {
    const char *what;
    bad_call_fn fn;
    int takes_err; /* the batch functions have no `err` argument */
};

/* Defines bad_<name>(f, err) returning `expr`. */
#define BAD_CALL(name, expr)                                      \
    static int bad_##name(struct fixture *f, char **err) {        \
        (void)f;                                                  \
        (void)err;                                                \
        return (expr);                                            \
    }

BAD_CALL(open_null_path, toykv_open(NULL, NULL, &f->db_out, err))
BAD_CALL(open_null_db_out, toykv_open(f->fresh_path, NULL, NULL, err))
BAD_CALL(destroy_null_path, toykv_destroy(NULL, err))
BAD_CALL(put_null_db, toykv_put(NULL, LIT("k"), LIT("v"), err))
BAD_CALL(put_null_key_with_len, toykv_put(f->db, NULL, 1, LIT("v"), err))
BAD_CALL(put_null_value_with_len, toykv_put(f->db, LIT("k"), NULL, 1, err))
BAD_CALL(delete_null_db, toykv_delete(NULL, LIT("present"), err))
BAD_CALL(delete_null_key_with_len, toykv_delete(f->db, NULL, 1, err))
BAD_CALL(get_null_db, toykv_get(NULL, LIT("present"), &f->value_out, &f->value_len_out, err))
BAD_CALL(get_null_key_with_len, toykv_get(f->db, NULL, 1, &f->value_out, &f->value_len_out, err))
BAD_CALL(get_null_value_out, toykv_get(f->db, LIT("present"), NULL, &f->value_len_out, err))
BAD_CALL(get_null_value_len_out, toykv_get(f->db, LIT("present"), &f->value_out, NULL, err))
BAD_CALL(get_into_null_db,
         toykv_get_into(NULL, LIT("present"), f->buf, sizeof f->buf, &f->value_len_out, err))
BAD_CALL(get_into_null_key_with_len,
         toykv_get_into(f->db, NULL, 1, f->buf, sizeof f->buf, &f->value_len_out, err))
BAD_CALL(get_into_null_buf_with_cap,
         toykv_get_into(f->db, LIT("present"), NULL, 16, &f->value_len_out, err))
BAD_CALL(get_into_null_value_len_out,
         toykv_get_into(f->db, LIT("present"), f->buf, sizeof f->buf, NULL, err))
BAD_CALL(sync_null_db, toykv_sync(NULL, err))
BAD_CALL(flush_null_db, toykv_flush(NULL, err))
BAD_CALL(compact_null_db, toykv_compact(NULL, err))
BAD_CALL(checkpoint_null_db, toykv_checkpoint(NULL, f->fresh_path, err))
BAD_CALL(checkpoint_null_dir, toykv_checkpoint(f->db, NULL, err))
BAD_CALL(checkpoint_empty_dir, toykv_checkpoint(f->db, "", err))
BAD_CALL(property_null_db, toykv_property(NULL, "toykv.stats", &f->prop_out, err))
BAD_CALL(property_null_name, toykv_property(f->db, NULL, &f->prop_out, err))
BAD_CALL(property_null_value_out, toykv_property(f->db, "toykv.stats", NULL, err))
BAD_CALL(batch_put_null_batch, toykv_batch_put(NULL, LIT("k"), LIT("v")))
BAD_CALL(batch_put_null_key_with_len, toykv_batch_put(f->batch, NULL, 1, LIT("v")))
BAD_CALL(batch_put_null_value_with_len, toykv_batch_put(f->batch, LIT("k"), NULL, 1))
BAD_CALL(batch_delete_null_batch, toykv_batch_delete(NULL, LIT("k")))
BAD_CALL(batch_delete_null_key_with_len, toykv_batch_delete(f->batch, NULL, 1))
BAD_CALL(write_null_db, toykv_write(NULL, f->batch, err))
BAD_CALL(write_null_batch, toykv_write(f->db, NULL, err))
BAD_CALL(cursor_open_null_db, toykv_cursor_open(NULL, NULL, 0, NULL, 0, &f->cursor_out, err))
BAD_CALL(cursor_open_null_start_with_len,
         toykv_cursor_open(f->db, NULL, 1, NULL, 0, &f->cursor_out, err))
BAD_CALL(cursor_open_null_end_with_len,
         toykv_cursor_open(f->db, NULL, 0, NULL, 1, &f->cursor_out, err))
BAD_CALL(cursor_open_null_cursor_out, toykv_cursor_open(f->db, NULL, 0, NULL, 0, NULL, err))
BAD_CALL(cursor_next_null_cursor,
         toykv_cursor_next(NULL, &f->key_ptr, &f->key_len, &f->val_ptr, &f->val_len, err))
BAD_CALL(cursor_next_null_key_out,
         toykv_cursor_next(f->cursor, NULL, &f->key_len, &f->val_ptr, &f->val_len, err))
BAD_CALL(cursor_next_null_key_len_out,
         toykv_cursor_next(f->cursor, &f->key_ptr, NULL, &f->val_ptr, &f->val_len, err))
BAD_CALL(cursor_next_null_value_out,
         toykv_cursor_next(f->cursor, &f->key_ptr, &f->key_len, NULL, &f->val_len, err))
BAD_CALL(cursor_next_null_value_len_out,
         toykv_cursor_next(f->cursor, &f->key_ptr, &f->key_len, &f->val_ptr, NULL, err))
BAD_CALL(cursor_seek_null_cursor, toykv_cursor_seek(NULL, LIT("a"), err))
BAD_CALL(cursor_seek_null_key_with_len, toykv_cursor_seek(f->cursor, NULL, 1, err))
BAD_CALL(snapshot_open_null_db, toykv_snapshot_open(NULL, &f->snap_out, err))
BAD_CALL(snapshot_open_null_snap_out, toykv_snapshot_open(f->db, NULL, err))
BAD_CALL(snapshot_get_null_snap,
         toykv_snapshot_get(NULL, LIT("present"), &f->value_out, &f->value_len_out, err))
BAD_CALL(snapshot_get_null_key_with_len,
         toykv_snapshot_get(f->snap, NULL, 1, &f->value_out, &f->value_len_out, err))
BAD_CALL(snapshot_get_null_value_out,
         toykv_snapshot_get(f->snap, LIT("present"), NULL, &f->value_len_out, err))
BAD_CALL(snapshot_get_null_value_len_out,
         toykv_snapshot_get(f->snap, LIT("present"), &f->value_out, NULL, err))
BAD_CALL(snapshot_cursor_open_null_snap,
         toykv_snapshot_cursor_open(NULL, NULL, 0, NULL, 0, &f->cursor_out, err))
BAD_CALL(snapshot_cursor_open_null_start_with_len,
         toykv_snapshot_cursor_open(f->snap, NULL, 1, NULL, 0, &f->cursor_out, err))
BAD_CALL(snapshot_cursor_open_null_end_with_len,
         toykv_snapshot_cursor_open(f->snap, NULL, 0, NULL, 1, &f->cursor_out, err))
BAD_CALL(snapshot_cursor_open_null_cursor_out,
         toykv_snapshot_cursor_open(f->snap, NULL, 0, NULL, 0, NULL, err))

#define ENTRY(name, takes_err) {#name, bad_##name, takes_err}

static const struct bad_call bad_calls[] = {
    ENTRY(open_null_path, 1),
    ENTRY(open_null_db_out, 1),
    ENTRY(destroy_null_path, 1),
    ENTRY(put_null_db, 1),
    ENTRY(put_null_key_with_len, 1),
    ENTRY(put_null_value_with_len, 1),
    ENTRY(delete_null_db, 1),
    ENTRY(delete_null_key_with_len, 1),
    ENTRY(get_null_db, 1),
    ENTRY(get_null_key_with_len, 1),
    ENTRY(get_null_value_out, 1),
    ENTRY(get_null_value_len_out, 1),
    ENTRY(get_into_null_db, 1),
    ENTRY(get_into_null_key_with_len, 1),
    ENTRY(get_into_null_buf_with_cap, 1),
    ENTRY(get_into_null_value_len_out, 1),
    ENTRY(sync_null_db, 1),
    ENTRY(flush_null_db, 1),
    ENTRY(compact_null_db, 1),
    ENTRY(checkpoint_null_db, 1),
    ENTRY(checkpoint_null_dir, 1),
    ENTRY(checkpoint_empty_dir, 1),
    ENTRY(property_null_db, 1),
    ENTRY(property_null_name, 1),
    ENTRY(property_null_value_out, 1),
    ENTRY(batch_put_null_batch, 0),
    ENTRY(batch_put_null_key_with_len, 0),
    ENTRY(batch_put_null_value_with_len, 0),
    ENTRY(batch_delete_null_batch, 0),
    ENTRY(batch_delete_null_key_with_len, 0),
    ENTRY(write_null_db, 1),
    ENTRY(write_null_batch, 1),
    ENTRY(cursor_open_null_db, 1),
    ENTRY(cursor_open_null_start_with_len, 1),
    ENTRY(cursor_open_null_end_with_len, 1),
    ENTRY(cursor_open_null_cursor_out, 1),
    ENTRY(cursor_next_null_cursor, 1),
    ENTRY(cursor_next_null_key_out, 1),
    ENTRY(cursor_next_null_key_len_out, 1),
    ENTRY(cursor_next_null_value_out, 1),
    ENTRY(cursor_next_null_value_len_out, 1),
    ENTRY(cursor_seek_null_cursor, 1),
    ENTRY(cursor_seek_null_key_with_len, 1),
    ENTRY(snapshot_open_null_db, 1),
    ENTRY(snapshot_open_null_snap_out, 1),
    ENTRY(snapshot_get_null_snap, 1),
    ENTRY(snapshot_get_null_key_with_len, 1),
    ENTRY(snapshot_get_null_value_out, 1),
    ENTRY(snapshot_get_null_value_len_out, 1),
    ENTRY(snapshot_cursor_open_null_snap, 1),
    ENTRY(snapshot_cursor_open_null_start_with_len, 1),
    ENTRY(snapshot_cursor_open_null_end_with_len, 1),
    ENTRY(snapshot_cursor_open_null_cursor_out, 1),
};

static void every_entry_point_rejects_null_arguments(void) {
    struct fixture f;
    char *dir = tmpdir_new();
    char *err;
    size_t i;
    toykv_db *again;

    memset(&f, 0, sizeof f);
    f.db = OPEN_DB(dir, 0);
    f.fresh_path = path_join(dir, "fresh");
    f.batch = toykv_batch_new();
    CHECK(f.batch != NULL);
    if (f.db == NULL || f.batch == NULL)
        goto out;
    EXPECT(TOYKV_OK, toykv_put(f.db, LIT("present"), LIT("value"), &err));
    EXPECT(TOYKV_OK, toykv_snapshot_open(f.db, &f.snap, &err));
    f.cursor = CURSOR_OPEN(f.db, NULL, 0, NULL, 0);
    if (f.snap == NULL || f.cursor == NULL)
        goto out;

    for (i = 0; i < sizeof bad_calls / sizeof bad_calls[0]; i++) {
        const struct bad_call *bc = &bad_calls[i];
        char what[160];
        int st;

        /* With err == NULL: the status alone. */
        fixture_reset_outputs(&f);
        st = bc->fn(&f, NULL);
        snprintf(what, sizeof what, "%s (err NULL) returns TOYKV_INVALID_ARGUMENT, got %d",
                 bc->what, st);
        check_record(st == TOYKV_INVALID_ARGUMENT, __FILE__, __LINE__, what);
        snprintf(what, sizeof what, "%s (err NULL) leaves its outputs unwritten", bc->what);
        check_record(fixture_outputs_untouched(&f), __FILE__, __LINE__, what);

        if (!bc->takes_err)
            continue;
        /* With err: also a non-empty message, freed by check_call. */
        fixture_reset_outputs(&f);
        err = ERR_SENTINEL;
        st = bc->fn(&f, &err);
        check_call(__FILE__, __LINE__, bc->what, st, TOYKV_INVALID_ARGUMENT, &err);
        snprintf(what, sizeof what, "%s (with err) leaves its outputs unwritten", bc->what);
        check_record(fixture_outputs_untouched(&f), __FILE__, __LINE__, what);
    }

    /* Nothing above changed the database, the batch or the cursor's position. */
    EXPECT(TOYKV_OK, toykv_write(f.db, f.batch, &err)); /* the batch is still empty */
    CHECK_NEXT(f.cursor, "present", "value");
    CHECK_END(f.cursor);
    {
        toykv_cursor *all = CURSOR_OPEN(f.db, NULL, 0, NULL, 0);
        CHECK_SCAN(all, "present=value");
        toykv_cursor_close(all);
    }
    /* open(fresh, NULL, NULL) must not have left a database open (and locked) behind. */
    again = NULL;
    if (EXPECT(TOYKV_OK, toykv_open(f.fresh_path, NULL, &again, &err)) == TOYKV_OK)
        CLOSE_DB(again);

out:
    toykv_cursor_close(f.cursor);
    toykv_snapshot_close(f.snap);
    toykv_batch_free(f.batch);
    CLOSE_DB(f.db);
    free(f.fresh_path);
    tmpdir_remove(dir);
}

/* ========================================================================================
 * Lengths far past the limits: rejected before a byte is read (issue 14, fix 1)
 * ====================================================================================== */

/* Every entry point that takes a length, called with an 8-byte buffer and a length of
 * `len`. Before the fix, a cursor bound of 2^40 bytes was copied before its length was
 * checked: the host died with "memory allocation of 1099511627776 bytes failed". */
static int huge_length_call(int which, struct fixture *f, const char *buf8, size_t len,
                            char **err) {
    switch (which) {
    case 0: return toykv_put(f->db, buf8, len, LIT("v"), err);
    case 1: return toykv_put(f->db, LIT("k"), buf8, len, err);
    case 2: return toykv_delete(f->db, buf8, len, err);
    case 3: return toykv_get(f->db, buf8, len, &f->value_out, &f->value_len_out, err);
    case 4: return toykv_get_into(f->db, buf8, len, f->buf, sizeof f->buf, &f->value_len_out, err);
    case 5: return toykv_batch_put(f->batch, buf8, len, LIT("v"));
    case 6: return toykv_batch_put(f->batch, LIT("k"), buf8, len);
    case 7: return toykv_batch_delete(f->batch, buf8, len);
    case 8: return toykv_cursor_open(f->db, buf8, len, NULL, 0, &f->cursor_out, err);
    case 9: return toykv_cursor_open(f->db, NULL, 0, buf8, len, &f->cursor_out, err);
    case 10: return toykv_cursor_seek(f->cursor, buf8, len, err);
    case 11: return toykv_snapshot_get(f->snap, buf8, len, &f->value_out, &f->value_len_out, err);
    case 12: return toykv_snapshot_cursor_open(f->snap, buf8, len, NULL, 0, &f->cursor_out, err);
    case 13: return toykv_snapshot_cursor_open(f->snap, NULL, 0, buf8, len, &f->cursor_out, err);
    default: return -1;
    }
}

static const char *const huge_length_names[] = {
    "put key_len", "put value_len", "delete key_len", "get key_len", "get_into key_len",
    "batch_put key_len", "batch_put value_len", "batch_delete key_len",
    "cursor_open start_len", "cursor_open end_len", "cursor_seek key_len",
    "snapshot_get key_len", "snapshot_cursor_open start_len", "snapshot_cursor_open end_len",
};

static void lengths_past_the_limits_are_rejected_before_any_byte_is_read(void) {
    struct fixture f;
    char *dir = tmpdir_new();
    char *err;
    /* Only 8 bytes are readable: under valgrind or ASan a read past them is an error. */
    char *buf8 = malloc(8);
    const size_t huge[] = {(size_t)1 << 40, SIZE_MAX, (size_t)TOYKV_MAX_VALUE_LEN + 1};
    size_t i, j;

    memset(&f, 0, sizeof f);
    f.db = OPEN_DB(dir, 0);
    f.batch = toykv_batch_new();
    CHECK(buf8 != NULL && f.batch != NULL);
    if (f.db == NULL || f.batch == NULL || buf8 == NULL)
        goto out;
    memcpy(buf8, "present!", 8);
    EXPECT(TOYKV_OK, toykv_put(f.db, LIT("present"), LIT("value"), &err));
    EXPECT(TOYKV_OK, toykv_snapshot_open(f.db, &f.snap, &err));
    f.cursor = CURSOR_OPEN(f.db, NULL, 0, NULL, 0);
    if (f.snap == NULL || f.cursor == NULL)
        goto out;

    for (i = 0; i < sizeof huge_length_names / sizeof huge_length_names[0]; i++) {
        for (j = 0; j < sizeof huge / sizeof huge[0]; j++) {
            char what[160];
            int st;
            /* Key limits are far below the value limit: 32 MiB + 1 is over both. */
            fixture_reset_outputs(&f);
            err = ERR_SENTINEL;
            st = huge_length_call((int)i, &f, buf8, huge[j], &err);
            snprintf(what, sizeof what, "%s = %zu", huge_length_names[i], huge[j]);
            if (i >= 5 && i <= 7) { /* the batch functions have no err */
                check_record(st == TOYKV_INVALID_ARGUMENT, __FILE__, __LINE__, what);
                CHECK(err == ERR_SENTINEL);
            } else {
                check_call(__FILE__, __LINE__, what, st, TOYKV_INVALID_ARGUMENT, &err);
            }
            snprintf(what, sizeof what, "%s = %zu leaves its outputs unwritten",
                     huge_length_names[i], huge[j]);
            check_record(fixture_outputs_untouched(&f), __FILE__, __LINE__, what);
        }
    }

    /* Nothing above changed the database, the batch or the cursor. */
    EXPECT(TOYKV_OK, toykv_write(f.db, f.batch, &err)); /* still empty */
    CHECK_NEXT(f.cursor, "present", "value");
    CHECK_END(f.cursor);
    {
        toykv_cursor *all = CURSOR_OPEN(f.db, NULL, 0, NULL, 0);
        CHECK_SCAN(all, "present=value");
        toykv_cursor_close(all);
    }
out:
    toykv_cursor_close(f.cursor);
    toykv_snapshot_close(f.snap);
    toykv_batch_free(f.batch);
    CLOSE_DB(f.db);
    free(buf8);
    tmpdir_remove(dir);
}

static void free_and_close_accept_null(void) {
    char *err;
    toykv_free(NULL);
    toykv_options_free(NULL);
    toykv_batch_free(NULL);
    toykv_batch_clear(NULL);
    toykv_cursor_close(NULL);
    toykv_snapshot_close(NULL);
    /* Setters never fail, not even on a NULL options object. */
    toykv_options_set_create_if_missing(NULL, true);
    toykv_options_set_error_if_exists(NULL, true);
    toykv_options_set_sync_writes(NULL, true);
    toykv_options_set_memtable_bytes(NULL, 1);
    toykv_options_set_block_bytes(NULL, 1);
    toykv_options_set_bloom_bits_per_key(NULL, 1);
    toykv_options_set_block_cache_bytes(NULL, 1);
    toykv_options_set_l0_compaction_trigger(NULL, 1);
    toykv_options_set_l0_slowdown_trigger(NULL, 1);
    toykv_options_set_l0_stop_trigger(NULL, 1);
    toykv_options_set_level1_bytes(NULL, 1);
    toykv_options_set_level_size_ratio(NULL, 2);
    toykv_options_set_target_file_bytes(NULL, 1);
    toykv_options_set_max_manifest_bytes(NULL, 1);
    toykv_options_set_soft_pending_compaction_bytes(NULL, 1);
    toykv_options_set_hard_pending_compaction_bytes(NULL, 1);
    toykv_options_set_max_open_files(NULL, 1);
    EXPECT(TOYKV_OK, toykv_close(NULL, &err));
    EXPECT_STATUS(TOYKV_OK, toykv_close(NULL, NULL));
}

static void err_may_be_null_on_success_and_failure(void) {
    char *dir = tmpdir_new();
    toykv_db *db = NULL, *second = OUT_SENTINEL;
    toykv_options *opts = toykv_options_new();
    char buf[8];
    size_t n = 0;
    void *v = NULL;
    char *prop = NULL;

    CHECK_EQ(toykv_open(dir, NULL, &db, NULL), TOYKV_OK);
    if (db == NULL)
        goto out;
    CHECK_EQ(toykv_put(db, LIT("k"), LIT("v"), NULL), TOYKV_OK);
    CHECK_EQ(toykv_get(db, LIT("k"), &v, &n, NULL), TOYKV_OK);
    CHECK(bytes_eq(v, n, "v", 1));
    toykv_free(v);
    CHECK_EQ(toykv_get(db, LIT("absent"), &v, &n, NULL), TOYKV_NOT_FOUND);
    CHECK_EQ(toykv_get_into(db, LIT("k"), buf, 0, &n, NULL), TOYKV_BUFFER_TOO_SMALL);
    CHECK_EQ(n, 1);
    CHECK_EQ(toykv_delete(db, LIT("k"), NULL), TOYKV_OK);
    CHECK_EQ(toykv_sync(db, NULL), TOYKV_OK);
    CHECK_EQ(toykv_flush(db, NULL), TOYKV_OK);
    CHECK_EQ(toykv_compact(db, NULL), TOYKV_OK);
    CHECK_EQ(toykv_property(db, "toykv.no-such-property", &prop, NULL), TOYKV_INVALID_ARGUMENT);
    CHECK(prop == NULL);
    CHECK_EQ(toykv_open(dir, NULL, &second, NULL), TOYKV_LOCKED);
    CHECK(second == OUT_SENTINEL);
    toykv_options_set_block_bytes(opts, 0);
    CHECK_EQ(toykv_open(dir, opts, &second, NULL), TOYKV_INVALID_ARGUMENT);
    CHECK_EQ(toykv_close(db, NULL), TOYKV_OK);
out:
    toykv_options_free(opts);
    tmpdir_remove(dir);
}

/* ========================================================================================
 * Options and open modes
 * ====================================================================================== */

static void null_options_mean_defaults(void) {
    char *dir = tmpdir_new();
    toykv_db *db = NULL;
    char *err;
    if (EXPECT(TOYKV_OK, toykv_open(dir, NULL, &db, &err)) == TOYKV_OK) {
        EXPECT(TOYKV_OK, toykv_put(db, LIT("default"), LIT("options"), &err));
        CHECK_GET(db, LIT("default"), LIT("options"));
        CLOSE_DB(db);
    }
    tmpdir_remove(dir);
}

enum option_kind { OPT_MEMTABLE, OPT_BLOCK, OPT_BLOOM };

static void invalid_options_are_rejected_naming_the_option(void) {
    static const struct {
        enum option_kind kind;
        size_t value;
        const char *name;
    } cases[] = {
        {OPT_BLOCK, 0, "block_bytes"},
        {OPT_MEMTABLE, 0, "memtable_bytes"},
        {OPT_BLOCK, (size_t)TOYKV_MAX_BLOCK_BYTES + 1, "block_bytes"},
        {OPT_MEMTABLE, (size_t)TOYKV_MAX_MEMTABLE_BYTES + 1, "memtable_bytes"},
        {OPT_BLOCK, SIZE_MAX, "block_bytes"},
        {OPT_MEMTABLE, SIZE_MAX, "memtable_bytes"},
#ifdef TOYKV_MAX_BLOOM_BITS_PER_KEY /* API.md documents no maximum; enforced when the header has one */
        {OPT_BLOOM, (size_t)TOYKV_MAX_BLOOM_BITS_PER_KEY + 1, "bloom_bits_per_key"},
#endif
    };
    char *dir = tmpdir_new();
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        toykv_options *opts = toykv_options_new();
        toykv_db *db = OUT_SENTINEL;
        char *err = ERR_SENTINEL;
        char what[256];
        int st;
        if (cases[i].kind == OPT_BLOCK)
            toykv_options_set_block_bytes(opts, cases[i].value);
        else if (cases[i].kind == OPT_MEMTABLE)
            toykv_options_set_memtable_bytes(opts, cases[i].value);
        else
            toykv_options_set_bloom_bits_per_key(opts, (uint32_t)cases[i].value);
        st = toykv_open(dir, opts, &db, &err);
        snprintf(what, sizeof what, "%s = %zu: open returns TOYKV_INVALID_ARGUMENT (got %d)",
                 cases[i].name, cases[i].value, st);
        check_record(st == TOYKV_INVALID_ARGUMENT, __FILE__, __LINE__, what);
        snprintf(what, sizeof what, "%s = %zu: the message names the option: %s", cases[i].name,
                 cases[i].value,
                 err == ERR_SENTINEL ? "(untouched)" : err == NULL ? "(NULL)" : err);
        check_record(err != ERR_SENTINEL && err != NULL && strstr(err, cases[i].name) != NULL,
                     __FILE__, __LINE__, what);
        CHECK(db == OUT_SENTINEL);
        if (st == TOYKV_OK)
            CLOSE_DB(db);
        if (err != ERR_SENTINEL)
            toykv_free(err);
        toykv_options_free(opts);
    }
    tmpdir_remove(dir);
}

/* Writes `n` keys, flushes, and reads them back: the database works with these options. */
static void exercise(toykv_db *db, int n) {
    char *err;
    char key[32], val[32];
    int i;
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof key, "opt-%05d", i);
        snprintf(val, sizeof val, "val-%d", i * 3);
        PUT_STR(db, key, val);
    }
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    for (i = 0; i < n; i += 7) {
        snprintf(key, sizeof key, "opt-%05d", i);
        snprintf(val, sizeof val, "val-%d", i * 3);
        CHECK_GET(db, key, strlen(key), val, strlen(val));
    }
    CHECK_ABSENT(db, LIT("opt-absent"));
}

static void extreme_valid_options_are_accepted(void) {
    char *dir = tmpdir_new();
    toykv_options *opts = toykv_options_new();
    toykv_db *db = NULL;
    char *err;

    /* The smallest accepted sizes (the engine may round them up internally). */
    toykv_options_set_memtable_bytes(opts, 1);
    toykv_options_set_block_bytes(opts, 1);
    if (EXPECT(TOYKV_OK, toykv_open(dir, opts, &db, &err)) == TOYKV_OK) {
        exercise(db, 300);
        CLOSE_DB(db);
    }
    EXPECT(TOYKV_OK, toykv_destroy(dir, &err));

    /* The largest accepted sizes, no bloom filter, a small cache, synchronous writes. */
    toykv_options_set_memtable_bytes(opts, TOYKV_MAX_MEMTABLE_BYTES);
    toykv_options_set_block_bytes(opts, TOYKV_MAX_BLOCK_BYTES);
    toykv_options_set_bloom_bits_per_key(opts, 0);
    toykv_options_set_block_cache_bytes(opts, 64 * 1024);
    toykv_options_set_sync_writes(opts, true);
    db = NULL;
    if (EXPECT(TOYKV_OK, toykv_open(dir, opts, &db, &err)) == TOYKV_OK) {
        /* The library copied the options: freeing them now changes nothing. */
        toykv_options_free(opts);
        opts = NULL;
        exercise(db, 50);
        CLOSE_DB(db);
    }
    toykv_options_free(opts);
    tmpdir_remove(dir);
}

/* The tuning options (L0 triggers, level sizes, output files, manifest, limits on pending
 * compaction bytes), each set through a uniform wrapper so that one table drives them. */
static void set_l0_compaction(toykv_options *o, uint64_t v) {
    toykv_options_set_l0_compaction_trigger(o, (size_t)v);
}
static void set_l0_slowdown(toykv_options *o, uint64_t v) {
    toykv_options_set_l0_slowdown_trigger(o, (size_t)v);
}
static void set_l0_stop(toykv_options *o, uint64_t v) {
    toykv_options_set_l0_stop_trigger(o, (size_t)v);
}
static void set_max_open_files(toykv_options *o, uint64_t v) {
    toykv_options_set_max_open_files(o, (size_t)v);
}

struct tuning {
    const char *name;
    void (*set)(toykv_options *, uint64_t);
};

static const struct tuning tunings[] = {
    {"l0_compaction_trigger", set_l0_compaction},
    {"l0_slowdown_trigger", set_l0_slowdown},
    {"l0_stop_trigger", set_l0_stop},
    {"level1_bytes", toykv_options_set_level1_bytes},
    {"level_size_ratio", toykv_options_set_level_size_ratio},
    {"target_file_bytes", toykv_options_set_target_file_bytes},
    {"max_manifest_bytes", toykv_options_set_max_manifest_bytes},
    {"soft_pending_compaction_bytes", toykv_options_set_soft_pending_compaction_bytes},
    {"hard_pending_compaction_bytes", toykv_options_set_hard_pending_compaction_bytes},
    {"max_open_files", set_max_open_files},
};
enum {
    T_L0_COMPACTION,
    T_L0_SLOWDOWN,
    T_L0_STOP,
    T_LEVEL1,
    T_RATIO,
    T_TARGET_FILE,
    T_MANIFEST,
    T_SOFT,
    T_HARD,
    T_MAX_OPEN_FILES,
    T_NONE
};

/* Opens `dir` with the settings (option, value) pairs up to T_NONE and expects
 * TOYKV_INVALID_ARGUMENT with a message naming `named`. */
static void expect_rejected_at(const char *file, int line, const char *dir, const char *named,
                               const int *which, const uint64_t *values) {
    toykv_options *opts = toykv_options_new();
    toykv_db *db = OUT_SENTINEL;
    char *err = ERR_SENTINEL;
    char what[512];
    int st, i;
    for (i = 0; which[i] != T_NONE; i++)
        tunings[which[i]].set(opts, values[i]);
    st = toykv_open(dir, opts, &db, &err);
    snprintf(what, sizeof what, "%s: open returns TOYKV_INVALID_ARGUMENT (got %d)", named, st);
    check_record(st == TOYKV_INVALID_ARGUMENT, file, line, what);
    snprintf(what, sizeof what, "%s: the message names the option: %s", named,
             err == ERR_SENTINEL ? "(untouched)" : err == NULL ? "(NULL)" : err);
    check_record(err != ERR_SENTINEL && err != NULL && strstr(err, named) != NULL, file, line,
                 what);
    check_record(db == OUT_SENTINEL, file, line, "db untouched on failure");
    if (st == TOYKV_OK)
        CLOSE_DB(db);
    if (err != ERR_SENTINEL)
        toykv_free(err);
    toykv_options_free(opts);
}
#define EXPECT_REJECTED(dir, named, which, values) \
    expect_rejected_at(__FILE__, __LINE__, dir, named, which, values)

static void invalid_tuning_options_are_rejected_naming_the_option(void) {
    char *dir = tmpdir_new();
    /* One bad value each; the others at their defaults (triggers 4, 8, 12). */
    static const struct {
        int which;
        uint64_t value;
    } alone[] = {
        {T_L0_COMPACTION, 0},
        {T_L0_COMPACTION, (uint64_t)TOYKV_MAX_L0_TRIGGER + 1},
        {T_L0_SLOWDOWN, 3},
        {T_L0_STOP, 7},
        {T_L0_STOP, (uint64_t)TOYKV_MAX_L0_TRIGGER + 1},
        {T_L0_STOP, SIZE_MAX},
        {T_LEVEL1, 0},
        {T_RATIO, 0},
        {T_RATIO, 1},
        {T_TARGET_FILE, 0},
        {T_MANIFEST, 0},
        {T_MAX_OPEN_FILES, 0},
    };
    size_t i;
    for (i = 0; i < sizeof alone / sizeof alone[0]; i++) {
        int which[2] = {alone[i].which, T_NONE};
        EXPECT_REJECTED(dir, tunings[alone[i].which].name, which, &alone[i].value);
    }
    /* Triggers out of order: the later one is named. */
    {
        int which[] = {T_L0_COMPACTION, T_L0_SLOWDOWN, T_L0_STOP, T_NONE};
        uint64_t values[] = {5, 5, 4};
        EXPECT_REJECTED(dir, "l0_stop_trigger", which, values);
    }
    /* A soft limit above the hard one. */
    {
        int which[] = {T_SOFT, T_HARD, T_NONE};
        uint64_t values[] = {1000, 999};
        EXPECT_REJECTED(dir, "soft_pending_compaction_bytes", which, values);
    }
    tmpdir_remove(dir);
}

static void extreme_tuning_options_are_accepted(void) {
    /* The smallest: every L0 file compacted at once and stopping writes meanwhile, one
     * entry per output file, a new manifest for every edit, writes slowed down and stopped
     * at the first pending byte, one sstable open at a time. The largest: nothing triggered
     * by L0 in practice, no size limits, no limits on pending bytes (0 turns them off). */
    static const uint64_t smallest[] = {1, 1, 1, 1, 2, 1, 1, 1, 1, 1};
    static const uint64_t largest[] = {TOYKV_MAX_L0_TRIGGER, TOYKV_MAX_L0_TRIGGER,
                                       TOYKV_MAX_L0_TRIGGER, UINT64_MAX,
                                       UINT64_MAX, UINT64_MAX,
                                       UINT64_MAX, 0,
                                       0, SIZE_MAX};
    const uint64_t *sets[] = {smallest, largest};
    size_t s, i;
    for (s = 0; s < 2; s++) {
        char *dir = tmpdir_new();
        toykv_options *opts = toykv_options_new();
        toykv_db *db = NULL;
        char *err;
        char *prop = NULL;
        /* Small memtables, so that flushes and compactions run. */
        toykv_options_set_memtable_bytes(opts, 16 * 1024);
        for (i = 0; i < sizeof tunings / sizeof tunings[0]; i++)
            tunings[i].set(opts, sets[s][i]);
        if (EXPECT(TOYKV_OK, toykv_open(dir, opts, &db, &err)) == TOYKV_OK) {
            exercise(db, s == 0 ? 300 : 2000);
            EXPECT(TOYKV_OK, toykv_compact(db, &err));
            if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.compaction-pending", &prop,
                                                &err)) == TOYKV_OK) {
                CHECK(strcmp(prop, "0") == 0);
                toykv_free(prop);
            }
            CLOSE_DB(db);
            /* And it reopens with them. */
            if (EXPECT(TOYKV_OK, toykv_open(dir, opts, &db, &err)) == TOYKV_OK) {
                CHECK_GET(db, LIT("opt-00007"), LIT("val-21"));
                CLOSE_DB(db);
            }
        }
        toykv_options_free(opts);
        tmpdir_remove(dir);
    }
}

/* Reads toykv.compaction-pending; returns it as a number, or -1 (recorded as a failure) when
 * it is not a decimal byte count. */
static long long compaction_pending_at(const char *file, int line, toykv_db *db) {
    char *prop = NULL, *err = ERR_SENTINEL;
    long long n = -1;
    int st = toykv_property(db, "toykv.compaction-pending", &prop, &err);
    check_call(file, line, "toykv_property(db, \"toykv.compaction-pending\", &prop, &err)", st,
               TOYKV_OK, &err);
    if (st == TOYKV_OK) {
        int decimal = prop[0] != '\0' && strspn(prop, "0123456789") == strlen(prop);
        check_record(decimal, file, line, "toykv.compaction-pending is a decimal byte count");
        if (decimal)
            n = atoll(prop);
        toykv_free(prop);
    }
    return n;
}
#define COMPACTION_PENDING(db) compaction_pending_at(__FILE__, __LINE__, (db))

/* toykv.compaction-pending is a byte count, 0 exactly when no flush or compaction is due (a
 * caller that compared it with "0" when it was a flag keeps working). */
static void compaction_pending_is_a_byte_count_zero_when_idle(void) {
    char *dir = tmpdir_new();
    toykv_options *opts = toykv_options_new();
    toykv_db *db = NULL;
    char *err;
    char key[32];
    int round, i;
    toykv_options_set_l0_compaction_trigger(opts, 6);
    if (EXPECT(TOYKV_OK, toykv_open(dir, opts, &db, &err)) == TOYKV_OK) {
        CHECK(COMPACTION_PENDING(db) == 0);
        for (round = 0; round < 8; round++) {
            for (i = 0; i < 100; i++) {
                snprintf(key, sizeof key, "pending-%03d", i);
                PUT_STR(db, key, "value");
            }
            EXPECT(TOYKV_OK, toykv_flush(db, &err));
            /* Under the trigger of six L0 files nothing is due; past it the background
             * compaction may or may not have run yet: a count either way. */
            if (round < 5)
                CHECK(COMPACTION_PENDING(db) == 0);
            else
                CHECK(COMPACTION_PENDING(db) >= 0);
        }
        EXPECT(TOYKV_OK, toykv_compact(db, &err));
        CHECK(COMPACTION_PENDING(db) == 0);
        CLOSE_DB(db);
    }
    toykv_options_free(opts);
    tmpdir_remove(dir);
}

static void create_if_missing_false_fails_on_a_missing_database(void) {
    char *dir = tmpdir_new();
    char *missing = path_join(dir, "missing");
    toykv_options *opts = toykv_options_new();
    toykv_db *db = OUT_SENTINEL;
    char *err = ERR_SENTINEL;
    int st;

    toykv_options_set_create_if_missing(opts, false);
    st = toykv_open(missing, opts, &db, &err);
    CHECK(st != TOYKV_OK);
    CHECK(err != ERR_SENTINEL && err != NULL && err[0] != '\0');
    CHECK(db == OUT_SENTINEL);
    if (err != ERR_SENTINEL)
        toykv_free(err);
    if (st == TOYKV_OK)
        CLOSE_DB(db);

    /* Once it exists, create_if_missing=false opens it, data and all. */
    db = OPEN_DB(missing, 0);
    if (db != NULL) {
        EXPECT(TOYKV_OK, toykv_put(db, LIT("exists"), LIT("yes"), &err));
        CLOSE_DB(db);
    }
    db = NULL;
    if (EXPECT(TOYKV_OK, toykv_open(missing, opts, &db, &err)) == TOYKV_OK) {
        CHECK_GET(db, LIT("exists"), LIT("yes"));
        CLOSE_DB(db);
    }
    toykv_options_free(opts);
    free(missing);
    tmpdir_remove(dir);
}

static void error_if_exists_rejects_an_existing_database(void) {
    char *dir = tmpdir_new();
    toykv_options *opts = toykv_options_new();
    toykv_db *db = NULL;
    char *err = ERR_SENTINEL;
    int st;

    toykv_options_set_error_if_exists(opts, true);
    /* A new database is created as usual. */
    if (EXPECT(TOYKV_OK, toykv_open(dir, opts, &db, &err)) == TOYKV_OK) {
        EXPECT(TOYKV_OK, toykv_put(db, LIT("k"), LIT("v"), &err));
        CLOSE_DB(db);
    }
    /* The second time it exists. */
    db = OUT_SENTINEL;
    err = ERR_SENTINEL;
    st = toykv_open(dir, opts, &db, &err);
    CHECK(st != TOYKV_OK);
    CHECK(err != ERR_SENTINEL && err != NULL && err[0] != '\0');
    CHECK(db == OUT_SENTINEL);
    if (err != ERR_SENTINEL)
        toykv_free(err);
    if (st == TOYKV_OK)
        CLOSE_DB(db);
    /* Without the option it opens, untouched by the refused attempt. */
    toykv_options_set_error_if_exists(opts, false);
    db = NULL;
    if (EXPECT(TOYKV_OK, toykv_open(dir, opts, &db, &err)) == TOYKV_OK) {
        CHECK_GET(db, LIT("k"), LIT("v"));
        CLOSE_DB(db);
    }
    toykv_options_free(opts);
    tmpdir_remove(dir);
}

static void a_second_open_of_the_same_directory_is_locked(void) {
    char *dir = tmpdir_new();
    toykv_db *first = OPEN_DB(dir, 0);
    toykv_db *second = OUT_SENTINEL;
    char *err;

    if (first != NULL) {
        EXPECT(TOYKV_LOCKED, toykv_open(dir, NULL, &second, &err));
        CHECK(second == OUT_SENTINEL);
        CHECK_EQ(toykv_open(dir, NULL, &second, NULL), TOYKV_LOCKED);
        /* The first handle is unaffected. */
        EXPECT(TOYKV_OK, toykv_put(first, LIT("k"), LIT("first"), &err));
        CLOSE_DB(first);
    }
    /* Closing releases the directory. */
    second = NULL;
    if (EXPECT(TOYKV_OK, toykv_open(dir, NULL, &second, &err)) == TOYKV_OK) {
        CHECK_GET(second, LIT("k"), LIT("first"));
        CLOSE_DB(second);
    }
    tmpdir_remove(dir);
}

/* ========================================================================================
 * Keys and values
 * ====================================================================================== */

static void oversized_keys_and_values_are_rejected(void) {
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, SMALL_MEMTABLE);
    size_t max_key = TOYKV_MAX_KEY_LEN, max_val = TOYKV_MAX_VALUE_LEN;
    unsigned char *big_key = malloc(max_key + 1);
    unsigned char *big_val = malloc(max_val + 1);
    toykv_snapshot *snap = NULL;
    toykv_batch *b = toykv_batch_new();
    void *v = OUT_SENTINEL;
    size_t n = LEN_SENTINEL;
    char buf[8];
    char *err;
    int st;

    if (db == NULL || big_key == NULL || big_val == NULL || b == NULL) {
        CHECK(!"setup");
        goto out;
    }
    memset(big_key, 'k', max_key + 1);
    memset(big_val, 'v', max_val + 1);

    /* One byte over: rejected everywhere a key or value enters the library. */
    EXPECT(TOYKV_INVALID_ARGUMENT, toykv_put(db, big_key, max_key + 1, LIT("v"), &err));
    EXPECT(TOYKV_INVALID_ARGUMENT, toykv_put(db, LIT("k"), big_val, max_val + 1, &err));
    EXPECT(TOYKV_INVALID_ARGUMENT, toykv_get(db, big_key, max_key + 1, &v, &n, &err));
    EXPECT(TOYKV_INVALID_ARGUMENT,
           toykv_get_into(db, big_key, max_key + 1, buf, sizeof buf, &n, &err));
    EXPECT(TOYKV_INVALID_ARGUMENT, toykv_delete(db, big_key, max_key + 1, &err));
    CHECK(v == OUT_SENTINEL && n == LEN_SENTINEL);
    EXPECT(TOYKV_OK, toykv_snapshot_open(db, &snap, &err));
    EXPECT(TOYKV_INVALID_ARGUMENT, toykv_snapshot_get(snap, big_key, max_key + 1, &v, &n, &err));
    toykv_snapshot_close(snap);
    CHECK_ABSENT(db, LIT("k"));

    /* In a batch the limit is enforced by batch_put or, at the latest, by toykv_write; either
     * way nothing of the batch is applied. */
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("companion"), LIT("x")));
    st = toykv_batch_put(b, big_key, max_key + 1, LIT("v"));
    CHECK(st == TOYKV_INVALID_ARGUMENT || st == TOYKV_OK);
    if (st == TOYKV_OK) {
        EXPECT(TOYKV_INVALID_ARGUMENT, toykv_write(db, b, &err));
        CHECK_ABSENT(db, LIT("companion"));
    }
    toykv_batch_clear(b);
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("companion"), LIT("x")));
    st = toykv_batch_put(b, LIT("k"), big_val, max_val + 1);
    CHECK(st == TOYKV_INVALID_ARGUMENT || st == TOYKV_OK);
    if (st == TOYKV_OK) {
        EXPECT(TOYKV_INVALID_ARGUMENT, toykv_write(db, b, &err));
        CHECK_ABSENT(db, LIT("companion"));
    }
    toykv_batch_clear(b);
    st = toykv_batch_delete(b, big_key, max_key + 1);
    CHECK(st == TOYKV_INVALID_ARGUMENT || st == TOYKV_OK);
    if (st == TOYKV_OK)
        EXPECT(TOYKV_INVALID_ARGUMENT, toykv_write(db, b, &err));

    /* Exactly the maximum key works, in the memtable and from an sstable. */
    big_key[0] = 'K';
    big_key[max_key - 1] = 'Z';
    EXPECT(TOYKV_OK, toykv_put(db, big_key, max_key, LIT("max"), &err));
    CHECK_GET(db, big_key, max_key, LIT("max"));
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    CHECK_GET(db, big_key, max_key, LIT("max"));
    {
        toykv_cursor *c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
        const void *k = NULL, *cv = NULL;
        size_t kl = 0, cvl = 0;
        if (c != NULL &&
            EXPECT(TOYKV_OK, toykv_cursor_next(c, &k, &kl, &cv, &cvl, &err)) == TOYKV_OK)
            CHECK(bytes_eq(k, kl, big_key, max_key) && bytes_eq(cv, cvl, "max", 3));
        toykv_cursor_close(c);
    }
    EXPECT(TOYKV_OK, toykv_delete(db, big_key, max_key, &err));
    CHECK_ABSENT(db, big_key, max_key);
out:
    toykv_batch_free(b);
    free(big_key);
    free(big_val);
    CLOSE_DB(db);
    tmpdir_remove(dir);
}

static void get_into_reports_the_size_it_needs(void) {
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, 0);
    char buf[64];
    size_t n;
    char *err;

    if (db == NULL)
        goto out;
    EXPECT(TOYKV_OK, toykv_put(db, LIT("k"), LIT("0123456789"), &err));
    EXPECT(TOYKV_OK, toykv_put(db, LIT("empty"), NULL, 0, &err));

    /* Query the size with no buffer at all. */
    n = 0;
    EXPECT(TOYKV_BUFFER_TOO_SMALL, toykv_get_into(db, LIT("k"), NULL, 0, &n, &err));
    CHECK_EQ(n, 10);
    /* Too small by one. */
    n = 0;
    memset(buf, '#', sizeof buf);
    EXPECT(TOYKV_BUFFER_TOO_SMALL, toykv_get_into(db, LIT("k"), buf, 9, &n, &err));
    CHECK_EQ(n, 10);
    /* Exactly big enough, then bigger: the value and its length. */
    n = 0;
    memset(buf, '#', sizeof buf);
    EXPECT(TOYKV_OK, toykv_get_into(db, LIT("k"), buf, 10, &n, &err));
    CHECK_EQ(n, 10);
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    CHECK(buf[10] == '#'); /* nothing written past the value */
    n = 0;
    EXPECT(TOYKV_OK, toykv_get_into(db, LIT("k"), buf, sizeof buf, &n, &err));
    CHECK_EQ(n, 10);
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    /* An empty value fits in no buffer at all. */
    n = 99;
    EXPECT(TOYKV_OK, toykv_get_into(db, LIT("empty"), NULL, 0, &n, &err));
    CHECK_EQ(n, 0);
    /* Absent keys are NOT_FOUND, not BUFFER_TOO_SMALL. */
    EXPECT(TOYKV_NOT_FOUND, toykv_get_into(db, LIT("absent"), NULL, 0, &n, &err));
    EXPECT(TOYKV_NOT_FOUND, toykv_get_into(db, LIT("absent"), buf, sizeof buf, &n, &err));
    /* The same from an sstable. */
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    n = 0;
    EXPECT(TOYKV_BUFFER_TOO_SMALL, toykv_get_into(db, LIT("k"), buf, 1, &n, &err));
    CHECK_EQ(n, 10);
    EXPECT(TOYKV_OK, toykv_get_into(db, LIT("k"), buf, n, &n, &err));
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void empty_keys_and_values_are_present_not_absent(void) {
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, 0);
    void *v;
    size_t n;
    char *err;

    if (db == NULL)
        goto out;
    /* (NULL, 0) and ("", 0) are the same, empty key. */
    CHECK_ABSENT(db, NULL, 0);
    EXPECT(TOYKV_OK, toykv_put(db, NULL, 0, LIT("empty-key"), &err));
    CHECK_GET(db, NULL, 0, LIT("empty-key"));
    CHECK_GET(db, "", 0, LIT("empty-key"));
    /* An empty value is a present value of length 0. */
    EXPECT(TOYKV_OK, toykv_put(db, LIT("empty-value"), NULL, 0, &err));
    EXPECT(TOYKV_OK, toykv_put(db, LIT("empty-value-2"), "", 0, &err));
    v = NULL;
    n = 77;
    EXPECT(TOYKV_OK, toykv_get(db, LIT("empty-value"), &v, &n, &err));
    CHECK_EQ(n, 0);
    toykv_free(v); /* NULL or an allocation: either is released by toykv_free */
    CHECK_GET(db, LIT("empty-value-2"), NULL, 0);
    CHECK_ABSENT(db, LIT("empty-value-3"));
    /* Both kinds of empty sort and scan correctly: the empty key comes first. */
    {
        toykv_cursor *c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
        CHECK_SCAN(c, "=empty-key empty-value= empty-value-2=");
        toykv_cursor_close(c);
        c = CURSOR_OPEN(db, "", 0, LIT("empty-value-2"));
        CHECK_SCAN(c, "=empty-key empty-value=");
        toykv_cursor_close(c);
    }
    /* They survive a flush and a reopen, and the empty key can be deleted. */
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    CLOSE_DB(db);
    db = OPEN_DB(dir, 0);
    if (db == NULL)
        goto out;
    CHECK_GET(db, NULL, 0, LIT("empty-key"));
    CHECK_GET(db, LIT("empty-value"), NULL, 0);
    EXPECT(TOYKV_OK, toykv_delete(db, NULL, 0, &err));
    CHECK_ABSENT(db, NULL, 0);
    CHECK_GET(db, LIT("empty-value"), NULL, 0);
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void keys_are_bytes_with_zeros_in_unsigned_order(void) {
    /* Inserted out of order; the expected scan order is unsigned bytewise. */
    static const struct {
        const char *bytes;
        size_t len;
    } keys[] = {
        {"a\0c", 3}, {"\x80", 1}, {"a", 1}, {"a\0", 2}, {"\x7f", 1}, {"a\0b", 3}, {"\0", 1},
        {"\xff\xff", 2},
    };
    static const int order[] = {6, 2, 3, 5, 0, 4, 1, 7};
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, 0);
    toykv_cursor *c;
    char *err;
    int round, i;

    if (db == NULL)
        goto out;
    for (i = 0; i < 8; i++) {
        unsigned char val = (unsigned char)i;
        EXPECT(TOYKV_OK, toykv_put(db, keys[i].bytes, keys[i].len, &val, 1, &err));
    }
    for (round = 0; round < 2; round++) { /* from the memtable, then from an sstable */
        for (i = 0; i < 8; i++) {
            unsigned char val = (unsigned char)i;
            CHECK_GET(db, keys[i].bytes, keys[i].len, &val, 1);
        }
        CHECK_ABSENT(db, "a\0d", 3);
        c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
        for (i = 0; c != NULL && i < 8; i++) {
            const void *k = NULL, *v = NULL;
            size_t kl = 0, vl = 0;
            int want = order[i];
            if (EXPECT(TOYKV_OK, toykv_cursor_next(c, &k, &kl, &v, &vl, &err)) != TOYKV_OK)
                break;
            CHECK(bytes_eq(k, kl, keys[want].bytes, keys[want].len));
            CHECK(vl == 1 && ((const unsigned char *)v)[0] == (unsigned char)want);
        }
        if (c != NULL)
            CHECK_END(c);
        toykv_cursor_close(c);
        /* A bound with a zero byte: [a\0, a\0c) holds a\0 and a\0b. */
        c = CURSOR_OPEN(db, "a\0", 2, "a\0c", 3);
        if (c != NULL) {
            const void *k = NULL, *v = NULL;
            size_t kl = 0, vl = 0;
            EXPECT(TOYKV_OK, toykv_cursor_next(c, &k, &kl, &v, &vl, &err));
            CHECK(bytes_eq(k, kl, "a\0", 2));
            EXPECT(TOYKV_OK, toykv_cursor_next(c, &k, &kl, &v, &vl, &err));
            CHECK(bytes_eq(k, kl, "a\0b", 3));
            CHECK_END(c);
        }
        toykv_cursor_close(c);
        EXPECT(TOYKV_OK, toykv_flush(db, &err));
    }
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void a_one_mebibyte_value_round_trips(void) {
    const size_t len = 1u << 20;
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, SMALL_MEMTABLE);
    unsigned char *val = malloc(len);
    unsigned char *buf = malloc(len);
    size_t i, n;
    char *err;
    int round;

    if (db == NULL || val == NULL || buf == NULL) {
        CHECK(!"setup");
        goto out;
    }
    for (i = 0; i < len; i++)
        val[i] = (unsigned char)((i * 31) ^ (i >> 8));
    EXPECT(TOYKV_OK, toykv_put(db, LIT("big"), val, len, &err));
    EXPECT(TOYKV_OK, toykv_put(db, LIT("small"), LIT("after"), &err));
    for (round = 0; round < 3; round++) { /* memtable, sstable, after reopen */
        CHECK_GET(db, LIT("big"), val, len);
        n = 0;
        EXPECT(TOYKV_OK, toykv_get_into(db, LIT("big"), buf, len, &n, &err));
        CHECK(n == len && memcmp(buf, val, len) == 0);
        CHECK_GET(db, LIT("small"), LIT("after"));
        if (round == 0) {
            EXPECT(TOYKV_OK, toykv_flush(db, &err));
        } else if (round == 1) {
            CLOSE_DB(db);
            db = OPEN_DB(dir, SMALL_MEMTABLE);
            if (db == NULL)
                goto out;
        }
    }
    CLOSE_DB(db);
out:
    free(val);
    free(buf);
    tmpdir_remove(dir);
}

/* ========================================================================================
 * Cursors
 * ====================================================================================== */

/* a..e with values 1..5, "c" deleted, and the data split between an sstable and the memtable. */
static toykv_db *open_abcde(const char *dir) {
    toykv_db *db = OPEN_DB(dir, 0);
    char *err;
    if (db == NULL)
        return NULL;
    PUT_STR(db, "a", "1");
    PUT_STR(db, "b", "2");
    PUT_STR(db, "c", "3");
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    PUT_STR(db, "d", "4");
    PUT_STR(db, "e", "5");
    EXPECT(TOYKV_OK, toykv_delete(db, LIT("c"), &err)); /* a tombstone over the sstable */
    return db;
}

static void cursor_ranges_are_half_open_and_null_is_unbounded(void) {
    static const struct {
        const char *start; /* NULL: unbounded */
        size_t start_len;
        const char *end;
        size_t end_len;
        const char *expected;
    } cases[] = {
        {NULL, 0, NULL, 0, "a=1 b=2 d=4 e=5"},
        {"b", 1, "e", 1, "b=2 d=4"},
        {NULL, 0, "d", 1, "a=1 b=2"},
        {"c", 1, NULL, 0, "d=4 e=5"},    /* a deleted key as start */
        {"", 0, NULL, 0, "a=1 b=2 d=4 e=5"}, /* non-NULL empty start: the empty key */
        {NULL, 0, "", 0, ""},            /* non-NULL empty end: nothing is below "" */
        {"", 0, "", 0, ""},
        {"d", 1, "d", 1, ""},            /* start == end */
        {"e", 1, "b", 1, ""},            /* start > end */
        {"a\0", 2, NULL, 0, "b=2 d=4 e=5"}, /* just past "a" */
        {NULL, 0, "b\0", 2, "a=1 b=2"},  /* just past "b": b included */
        {"zz", 2, NULL, 0, ""},
        {"0", 1, "a", 1, ""},
        {"a", 1, "a\0", 2, "a=1"},
    };
    char *dir = tmpdir_new();
    toykv_db *db = open_abcde(dir);
    size_t i;
    if (db == NULL)
        goto out;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        toykv_cursor *c = CURSOR_OPEN(db, cases[i].start, cases[i].start_len, cases[i].end,
                                      cases[i].end_len);
        CHECK_SCAN(c, cases[i].expected);
        toykv_cursor_close(c);
    }
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void cursor_end_is_sticky_until_a_seek(void) {
    char *dir = tmpdir_new();
    toykv_db *db = open_abcde(dir);
    toykv_cursor *c;
    char *err;
    int i;

    if (db == NULL)
        goto out;
    c = CURSOR_OPEN(db, LIT("b"), LIT("e"));
    if (c == NULL)
        goto close;
    CHECK_SCAN(c, "b=2 d=4");
    for (i = 0; i < 3; i++)
        CHECK_END(c);
    /* seek repositions to the first key >= target, within the range. */
    EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("a"), &err)); /* before the range: its start */
    CHECK_NEXT(c, "b", "2");
    EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("c"), &err)); /* a deleted key: the next one */
    CHECK_NEXT(c, "d", "4");
    CHECK_END(c);
    EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("b"), &err)); /* backwards, to an exact key */
    CHECK_SCAN(c, "b=2 d=4");
    EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("e"), &err)); /* the excluded end */
    CHECK_END(c);
    EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("zz"), &err)); /* past the range */
    CHECK_END(c);
    CHECK_END(c);
    EXPECT(TOYKV_OK, toykv_cursor_seek(c, NULL, 0, &err)); /* the empty key: the start */
    CHECK_NEXT(c, "b", "2");
    EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("b\0"), &err)); /* just past b */
    CHECK_NEXT(c, "d", "4");
    toykv_cursor_close(c);

    /* An unbounded cursor: seek anywhere, including before the first and after the last. */
    c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    if (c != NULL) {
        EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("d"), &err));
        CHECK_SCAN(c, "d=4 e=5");
        CHECK_END(c);
        EXPECT(TOYKV_OK, toykv_cursor_seek(c, NULL, 0, &err));
        CHECK_SCAN(c, "a=1 b=2 d=4 e=5");
        EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("f"), &err));
        CHECK_END(c);
    }
    toykv_cursor_close(c);

    /* An empty range stays empty whatever the seek. */
    c = CURSOR_OPEN(db, LIT("e"), LIT("b"));
    if (c != NULL) {
        CHECK_END(c);
        EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("a"), &err));
        CHECK_END(c);
        EXPECT(TOYKV_OK, toykv_cursor_seek(c, LIT("d"), &err));
        CHECK_END(c);
    }
    toykv_cursor_close(c);
close:
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void cursor_bounds_are_copied_at_open(void) {
    char *dir = tmpdir_new();
    toykv_db *db = open_abcde(dir);
    char *start = malloc(2), *end = malloc(2);
    toykv_cursor *c;
    if (db == NULL || start == NULL || end == NULL) {
        CHECK(!"setup");
        goto out;
    }
    memcpy(start, "b", 2);
    memcpy(end, "e", 2);
    c = CURSOR_OPEN(db, start, 1, end, 1);
    /* Overwrite, then free, the caller's buffers right away. */
    memset(start, 'z', 2);
    memset(end, '\0', 2);
    free(start);
    free(end);
    start = end = NULL;
    CHECK_SCAN(c, "b=2 d=4");
    toykv_cursor_close(c);
out:
    free(start);
    free(end);
    CLOSE_DB(db);
    tmpdir_remove(dir);
}

static void cursor_returned_pointers_stay_valid_until_the_next_call(void) {
    char *dir = tmpdir_new();
    toykv_db *db = open_abcde(dir);
    toykv_cursor *c = NULL;
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    char *err;

    if (db == NULL)
        goto out;
    c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    if (c == NULL)
        goto close;
    EXPECT(TOYKV_OK, toykv_cursor_next(c, &k, &kl, &v, &vl, &err));
    /* Writes, a flush and a compaction in between do not disturb the entry we hold. */
    PUT_STR(db, "a", "changed");
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    EXPECT(TOYKV_OK, toykv_compact(db, &err));
    CHECK(bytes_eq(k, kl, "a", 1) && bytes_eq(v, vl, "1", 1));
    /* A failed call with a NULL output does not move the cursor either. */
    EXPECT(TOYKV_INVALID_ARGUMENT, toykv_cursor_next(c, NULL, &kl, &v, &vl, &err));
    CHECK_NEXT(c, "b", "2");
    toykv_cursor_close(c);
close:
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

/* Regression (issue 16): toykv_cursor_next turned its four out-pointers into separate Rust
 * `&mut` references, so one `size_t *` passed for both lengths (to ignore one) was undefined
 * behaviour. Aliased outputs are allowed: they are written key first, then value. */
static void cursor_next_accepts_aliased_outputs(void) {
    char *dir = tmpdir_new();
    toykv_db *db = open_abcde(dir);
    toykv_cursor *c = NULL;
    const void *p = NULL, *k = NULL;
    size_t n = 0;
    char *err;

    if (db == NULL)
        goto out;
    c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    if (c == NULL)
        goto close;
    /* One pointer and one length for both: the value's survive. */
    EXPECT(TOYKV_OK, toykv_cursor_next(c, &p, &n, &p, &n, &err));
    CHECK(bytes_eq(p, n, "1", 1));
    /* One length for both, separate pointers. */
    EXPECT(TOYKV_OK, toykv_cursor_next(c, &k, &n, &p, &n, &err));
    CHECK(n == 1 && memcmp(k, "b", 1) == 0 && memcmp(p, "2", 1) == 0);
    CHECK_NEXT(c, "d", "4"); /* "c" is deleted in open_abcde's data */
    toykv_cursor_close(c);
close:
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void a_cursor_sees_the_database_as_of_its_open(void) {
    char *dir = tmpdir_new();
    toykv_db *db = open_abcde(dir);
    toykv_cursor *before = NULL, *ranged = NULL, *after = NULL;
    char *err;

    if (db == NULL)
        goto out;
    before = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    ranged = CURSOR_OPEN(db, LIT("b"), LIT("f"));
    /* Read one entry of `ranged` before the writes: the rest must come from the old view too. */
    if (ranged != NULL)
        CHECK_NEXT(ranged, "b", "2");
    PUT_STR(db, "b", "two");
    PUT_STR(db, "bb", "new");
    PUT_STR(db, "f", "6");
    EXPECT(TOYKV_OK, toykv_delete(db, LIT("a"), &err));
    EXPECT(TOYKV_OK, toykv_delete(db, LIT("d"), &err));
    PUT_STR(db, "c", "back");
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    EXPECT(TOYKV_OK, toykv_compact(db, &err));
    after = CURSOR_OPEN(db, NULL, 0, NULL, 0);

    CHECK_SCAN(before, "a=1 b=2 d=4 e=5");
    CHECK_SCAN(ranged, "d=4 e=5");
    CHECK_SCAN(after, "b=two bb=new c=back e=5 f=6");
    toykv_cursor_close(before);
    toykv_cursor_close(ranged);
    toykv_cursor_close(after);
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void a_cursor_survives_its_database_being_closed(void) {
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, 0);
    toykv_cursor *started = NULL, *fresh = NULL;
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    char *err;
    int st, i;

    if (db == NULL)
        goto out;
    PUT_STR(db, "k1", "v1");
    PUT_STR(db, "k2", "v2");
    PUT_STR(db, "k3", "v3");
    started = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    fresh = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    if (started == NULL || fresh == NULL) {
        CLOSE_DB(db);
        goto cursors;
    }
    EXPECT(TOYKV_OK, toykv_cursor_next(started, &k, &kl, &v, &vl, &err));
    CLOSE_DB(db);

    /* The entry returned before the close is still readable. */
    CHECK(bytes_eq(k, kl, "k1", 2) && bytes_eq(v, vl, "v1", 2));

    /* Either TOYKV_CLOSED, or the rest of the snapshot in order: never a crash. */
    for (i = 2; i <= 4; i++) {
        char key[16], val[16];
        err = ERR_SENTINEL;
        st = toykv_cursor_next(started, &k, &kl, &v, &vl, &err);
        if (st == TOYKV_CLOSED) {
            check_call(__FILE__, __LINE__, "toykv_cursor_next after close", st, TOYKV_CLOSED,
                       &err);
            break;
        }
        if (i == 4) {
            check_call(__FILE__, __LINE__, "toykv_cursor_next after close, at the end", st,
                       TOYKV_END, &err);
            break;
        }
        check_call(__FILE__, __LINE__, "toykv_cursor_next after close", st, TOYKV_OK, &err);
        if (st != TOYKV_OK)
            break;
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "v%d", i);
        CHECK(bytes_eq(k, kl, key, 2) && bytes_eq(v, vl, val, 2));
    }
    /* seek: CLOSED, or it works on the snapshot. */
    err = ERR_SENTINEL;
    st = toykv_cursor_seek(started, LIT("k2"), &err);
    CHECK(st == TOYKV_CLOSED || st == TOYKV_OK);
    check_call(__FILE__, __LINE__, "toykv_cursor_seek after close", st,
               st == TOYKV_OK ? TOYKV_OK : TOYKV_CLOSED, &err);
    if (st == TOYKV_OK) {
        err = ERR_SENTINEL;
        st = toykv_cursor_next(started, &k, &kl, &v, &vl, &err);
        if (st == TOYKV_OK)
            CHECK(bytes_eq(k, kl, "k2", 2) && bytes_eq(v, vl, "v2", 2));
        check_call(__FILE__, __LINE__, "toykv_cursor_next after seek after close", st,
                   st == TOYKV_OK ? TOYKV_OK : TOYKV_CLOSED, &err);
    }

    /* A cursor never advanced before the close. */
    err = ERR_SENTINEL;
    st = toykv_cursor_next(fresh, &k, &kl, &v, &vl, &err);
    CHECK(st == TOYKV_CLOSED || st == TOYKV_OK);
    if (st == TOYKV_OK)
        CHECK(bytes_eq(k, kl, "k1", 2) && bytes_eq(v, vl, "v1", 2));
    check_call(__FILE__, __LINE__, "toykv_cursor_next on a fresh cursor after close", st,
               st == TOYKV_OK ? TOYKV_OK : TOYKV_CLOSED, &err);
cursors:
    /* toykv_cursor_close is still required, and frees everything (valgrind checks). */
    toykv_cursor_close(started);
    toykv_cursor_close(fresh);
    /* The directory is released although cursors were open at close. */
    db = OPEN_DB(dir, 0);
    if (db != NULL) {
        CHECK_GET(db, LIT("k3"), LIT("v3"));
        CLOSE_DB(db);
    }
out:
    tmpdir_remove(dir);
}

/* ========================================================================================
 * Snapshots
 * ====================================================================================== */

static void a_snapshot_survives_later_overwrites_and_deletes(void) {
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, SMALL_MEMTABLE);
    toykv_snapshot *snap = NULL, *later = NULL;
    toykv_cursor *c;
    void *v = OUT_SENTINEL;
    size_t n = LEN_SENTINEL;
    char *err;

    if (db == NULL)
        goto out;
    PUT_STR(db, "k1", "v1");
    PUT_STR(db, "k2", "v2");
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    PUT_STR(db, "k3", "v3");
    if (EXPECT(TOYKV_OK, toykv_snapshot_open(db, &snap, &err)) != TOYKV_OK)
        goto close;
    CHECK(snap != NULL);

    PUT_STR(db, "k1", "v1-new");
    EXPECT(TOYKV_OK, toykv_delete(db, LIT("k2"), &err));
    EXPECT(TOYKV_OK, toykv_delete(db, LIT("k3"), &err));
    PUT_STR(db, "k4", "v4");
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    EXPECT(TOYKV_OK, toykv_compact(db, &err));
    EXPECT(TOYKV_OK, toykv_snapshot_open(db, &later, &err));

    /* The database moved on... */
    CHECK_GET(db, LIT("k1"), LIT("v1-new"));
    CHECK_ABSENT(db, LIT("k2"));
    CHECK_ABSENT(db, LIT("k3"));
    /* ...the snapshot did not, through get... */
    if (EXPECT(TOYKV_OK, toykv_snapshot_get(snap, LIT("k1"), &v, &n, &err)) == TOYKV_OK) {
        CHECK(bytes_eq(v, n, "v1", 2));
        toykv_free(v);
    }
    v = NULL;
    if (EXPECT(TOYKV_OK, toykv_snapshot_get(snap, LIT("k2"), &v, &n, &err)) == TOYKV_OK) {
        CHECK(bytes_eq(v, n, "v2", 2));
        toykv_free(v);
    }
    v = NULL;
    if (EXPECT(TOYKV_OK, toykv_snapshot_get(snap, LIT("k3"), &v, &n, &err)) == TOYKV_OK) {
        CHECK(bytes_eq(v, n, "v3", 2));
        toykv_free(v);
    }
    v = NULL;
    EXPECT(TOYKV_NOT_FOUND, toykv_snapshot_get(snap, LIT("k4"), &v, &n, &err));
    /* ...and through its cursors, bounded or not. */
    c = NULL;
    EXPECT(TOYKV_OK, toykv_snapshot_cursor_open(snap, NULL, 0, NULL, 0, &c, &err));
    CHECK_SCAN(c, "k1=v1 k2=v2 k3=v3");
    toykv_cursor_close(c);
    c = NULL;
    EXPECT(TOYKV_OK, toykv_snapshot_cursor_open(snap, LIT("k2"), LIT("k9"), &c, &err));
    CHECK_SCAN(c, "k2=v2 k3=v3");
    toykv_cursor_close(c);
    c = NULL;
    EXPECT(TOYKV_OK, toykv_snapshot_cursor_open(snap, LIT("k3"), "", 0, &c, &err));
    CHECK_SCAN(c, "");
    toykv_cursor_close(c);
    /* A snapshot taken later sees the later state. */
    c = NULL;
    EXPECT(TOYKV_OK, toykv_snapshot_cursor_open(later, NULL, 0, NULL, 0, &c, &err));
    CHECK_SCAN(c, "k1=v1-new k4=v4");
    toykv_cursor_close(c);
    /* Writes after the snapshot's cursor opened are invisible to that cursor as well. */
    c = NULL;
    EXPECT(TOYKV_OK, toykv_snapshot_cursor_open(later, NULL, 0, NULL, 0, &c, &err));
    PUT_STR(db, "k0", "v0");
    CHECK_SCAN(c, "k1=v1-new k4=v4");
    toykv_cursor_close(c);

    toykv_snapshot_close(later);
    toykv_snapshot_close(snap);
close:
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void a_snapshot_of_a_closed_database_reports_closed(void) {
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, 0);
    toykv_snapshot *snap = NULL;
    toykv_cursor *c = OUT_SENTINEL;
    void *v = OUT_SENTINEL;
    size_t n = LEN_SENTINEL;
    char *err;

    if (db == NULL)
        goto out;
    PUT_STR(db, "k", "v");
    if (EXPECT(TOYKV_OK, toykv_snapshot_open(db, &snap, &err)) != TOYKV_OK) {
        CLOSE_DB(db);
        goto out;
    }
    CLOSE_DB(db);
    EXPECT(TOYKV_CLOSED, toykv_snapshot_get(snap, LIT("k"), &v, &n, &err));
    CHECK(v == OUT_SENTINEL && n == LEN_SENTINEL);
    EXPECT(TOYKV_CLOSED, toykv_snapshot_cursor_open(snap, NULL, 0, NULL, 0, &c, &err));
    CHECK(c == OUT_SENTINEL);
    CHECK_EQ(toykv_snapshot_get(snap, LIT("k"), &v, &n, NULL), TOYKV_CLOSED);
    toykv_snapshot_close(snap);
out:
    tmpdir_remove(dir);
}

/* ========================================================================================
 * Batches
 * ====================================================================================== */

static void a_batch_applies_all_its_operations_at_once(void) {
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, 0);
    toykv_batch *b = toykv_batch_new();
    toykv_snapshot *snap = NULL;
    toykv_cursor *c;
    char *err;

    if (db == NULL || b == NULL) {
        CHECK(!"setup");
        goto out;
    }
    PUT_STR(db, "gone", "x");
    PUT_STR(db, "over", "old");
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("a"), LIT("1")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("b"), LIT("2")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_delete(b, LIT("gone")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("over"), LIT("new")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("pd"), LIT("put-then-deleted")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_delete(b, LIT("pd")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_delete(b, LIT("dp")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("dp"), LIT("deleted-then-put")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("twice"), LIT("first")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("twice"), LIT("second")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, NULL, 0, NULL, 0)); /* empty key, empty value */
    EXPECT_STATUS(TOYKV_INVALID_ARGUMENT, toykv_batch_put(b, NULL, 3, LIT("v")));
    EXPECT_STATUS(TOYKV_INVALID_ARGUMENT, toykv_batch_delete(b, NULL, 3));

    /* Nothing is visible before toykv_write. */
    CHECK_ABSENT(db, LIT("a"));
    CHECK_GET(db, LIT("gone"), LIT("x"));
    EXPECT(TOYKV_OK, toykv_snapshot_open(db, &snap, &err));
    EXPECT(TOYKV_OK, toykv_write(db, b, &err));
    c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    CHECK_SCAN(c, "= a=1 b=2 dp=deleted-then-put over=new twice=second");
    toykv_cursor_close(c);
    /* A snapshot taken before the write sees none of it. */
    c = NULL;
    EXPECT(TOYKV_OK, toykv_snapshot_cursor_open(snap, NULL, 0, NULL, 0, &c, &err));
    CHECK_SCAN(c, "gone=x over=old");
    toykv_cursor_close(c);
    toykv_snapshot_close(snap);

    /* The batch is not consumed: writing it again is harmless (it is idempotent here). */
    EXPECT(TOYKV_OK, toykv_write(db, b, &err));
    CHECK_GET(db, LIT("twice"), LIT("second"));

    /* After clear, writing it changes nothing. */
    toykv_batch_clear(b);
    EXPECT(TOYKV_OK, toykv_write(db, b, &err));
    CHECK_GET(db, LIT("a"), LIT("1"));

    /* Reuse after clear: only the new operations apply. */
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("a"), LIT("reused")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_delete(b, LIT("b")));
    EXPECT(TOYKV_OK, toykv_write(db, b, &err));
    c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    CHECK_SCAN(c, "= a=reused dp=deleted-then-put over=new twice=second");
    toykv_cursor_close(c);

    /* A batch survives a close and reopen as a whole. */
    CLOSE_DB(db);
    db = OPEN_DB(dir, 0);
    if (db != NULL) {
        c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
        CHECK_SCAN(c, "= a=reused dp=deleted-then-put over=new twice=second");
        toykv_cursor_close(c);
    }
out:
    toykv_batch_free(b);
    CLOSE_DB(db);
    tmpdir_remove(dir);
}

static void a_large_batch_spanning_memtables_is_applied_whole(void) {
    const int n = (int)scaled(3000);
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, SMALL_MEMTABLE);
    toykv_batch *b = toykv_batch_new();
    toykv_cursor *c;
    char key[32], val[64];
    char *err;
    int i, seen = 0;

    if (db == NULL || b == NULL) {
        CHECK(!"setup");
        goto out;
    }
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof key, "batch-%06d", i);
        snprintf(val, sizeof val, "value-%06d-padding-padding-padding", i);
        if (toykv_batch_put(b, key, strlen(key), val, strlen(val)) != TOYKV_OK) {
            FAIL("toykv_batch_put in a large batch");
            break;
        }
    }
    EXPECT(TOYKV_OK, toykv_write(db, b, &err));
    c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
    while (c != NULL) {
        const void *k, *v;
        size_t kl, vl;
        int st = toykv_cursor_next(c, &k, &kl, &v, &vl, NULL);
        if (st != TOYKV_OK) {
            CHECK_EQ(st, TOYKV_END);
            break;
        }
        snprintf(key, sizeof key, "batch-%06d", seen);
        if (!bytes_eq(k, kl, key, strlen(key))) {
            FAIL("large batch: keys in order");
            break;
        }
        seen++;
    }
    toykv_cursor_close(c);
    CHECK_EQ(seen, n);
out:
    toykv_batch_free(b);
    CLOSE_DB(db);
    tmpdir_remove(dir);
}

/* ========================================================================================
 * sync, flush, compact, properties, durability
 * ====================================================================================== */

static void key_for(char *buf, size_t cap, int i) {
    snprintf(buf, cap, "key-%08d", i);
}

/* A value of 20..139 bytes derived from i (and a generation, for overwrites). */
static size_t value_for(char *buf, size_t cap, int i, int gen) {
    size_t len = 20 + (size_t)((i * 37 + gen) % 120), j;
    int head = snprintf(buf, cap, "v%d-%d:", gen, i);
    for (j = (size_t)head; j < len && j < cap; j++)
        buf[j] = (char)('a' + (i + (int)j) % 26);
    return len;
}

static void sync_flush_and_compact_keep_every_write_across_reopen(void) {
    const int n = (int)scaled(2000);
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, SMALL_MEMTABLE);
    char key[32], val[160];
    size_t vl;
    char *err;
    int i, round;

    if (db == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        key_for(key, sizeof key, i);
        vl = value_for(val, sizeof val, i, 0);
        EXPECT(TOYKV_OK, toykv_put(db, key, strlen(key), val, vl, &err));
    }
    EXPECT(TOYKV_OK, toykv_sync(db, &err));
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    EXPECT(TOYKV_OK, toykv_flush(db, &err)); /* nothing new to flush: still fine */
    CHECK(total_files(db) >= 1);
    /* Overwrite every third key, delete every fifth, then compact everything. */
    for (i = 0; i < n; i++) {
        key_for(key, sizeof key, i);
        if (i % 5 == 0) {
            EXPECT(TOYKV_OK, toykv_delete(db, key, strlen(key), &err));
        } else if (i % 3 == 0) {
            vl = value_for(val, sizeof val, i, 1);
            EXPECT(TOYKV_OK, toykv_put(db, key, strlen(key), val, vl, &err));
        }
    }
    EXPECT(TOYKV_OK, toykv_sync(db, &err));
    EXPECT(TOYKV_OK, toykv_compact(db, &err));
    for (round = 0; round < 3; round++) { /* compacted, reopened, compacted again */
        toykv_cursor *c;
        int expect = 0, seen = 0, ok = 1;
        for (i = 0; i < n; i += 11) {
            key_for(key, sizeof key, i);
            if (i % 5 == 0) {
                CHECK_ABSENT(db, key, strlen(key));
            } else {
                vl = value_for(val, sizeof val, i, i % 3 == 0 ? 1 : 0);
                CHECK_GET(db, key, strlen(key), val, vl);
            }
        }
        c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
        while (c != NULL && ok) {
            const void *k, *v;
            size_t kl, cvl;
            int st = toykv_cursor_next(c, &k, &kl, &v, &cvl, NULL);
            if (st != TOYKV_OK) {
                CHECK_EQ(st, TOYKV_END);
                break;
            }
            while (expect % 5 == 0)
                expect++;
            key_for(key, sizeof key, expect);
            vl = value_for(val, sizeof val, expect, expect % 3 == 0 ? 1 : 0);
            ok = bytes_eq(k, kl, key, strlen(key)) && bytes_eq(v, cvl, val, vl);
            if (!ok)
                FAIL("after compaction: scan returns the surviving keys with their values");
            expect++;
            seen++;
        }
        toykv_cursor_close(c);
        CHECK_EQ(seen, n - (n + 4) / 5);
        if (round == 0) {
            CLOSE_DB(db);
            db = OPEN_DB(dir, SMALL_MEMTABLE);
            if (db == NULL)
                goto out;
        } else if (round == 1) {
            EXPECT(TOYKV_OK, toykv_compact(db, &err));
        }
    }
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void properties_describe_the_tree(void) {
    static const char *const unknown[] = {
        "toykv.no-such-property", "", "stats", "toykv.num-files-at-level",
        "toykv.num-files-at-levelx", "toykv.num-files-at-level-1",
    };
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, SMALL_MEMTABLE);
    char *value = NULL;
    char *err;
    char key[32];
    size_t i;
    long files;

    if (db == NULL)
        goto out;
    /* A fresh database: stats exist, level 0 is empty, no sstables. */
    if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.stats", &value, &err)) == TOYKV_OK) {
        CHECK(value != NULL && value[0] != '\0');
        toykv_free(value);
    }
    value = NULL;
    if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.num-files-at-level0", &value, &err)) ==
        TOYKV_OK) {
        CHECK(is_decimal(value));
        CHECK(value != NULL && strcmp(value, "0") == 0);
        toykv_free(value);
    }
    value = NULL;
    if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.sstables", &value, &err)) == TOYKV_OK) {
        CHECK(value != NULL && strchr(value, '\n') == NULL); /* no line: no sstable */
        toykv_free(value);
    }

    /* After a flush: at least one file at level 0, one line per file in toykv.sstables. */
    for (i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "prop-%04d", (int)i);
        PUT_STR(db, key, "some value to make the file a little bigger");
    }
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    value = NULL;
    if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.num-files-at-level0", &value, &err)) ==
        TOYKV_OK) {
        CHECK(is_decimal(value));
        CHECK(value != NULL && strtol(value, NULL, 10) >= 1);
        toykv_free(value);
    }
    files = total_files(db);
    CHECK(files >= 1);
    value = NULL;
    if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.sstables", &value, &err)) == TOYKV_OK &&
        value != NULL) {
        long lines = 0;
        const char *p = value;
        while (*p) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            int fields = 0, in_field = 0;
            size_t j;
            for (j = 0; j < len; j++) {
                int space = p[j] == ' ' || p[j] == '\t';
                if (!space && !in_field)
                    fields++;
                in_field = !space;
            }
            if (len > 0) {
                lines++;
                /* level, file name, size, smallest key, largest key */
                CHECK(fields >= 5);
            }
            p += len + (eol ? 1 : 0);
        }
        CHECK_EQ(lines, files);
        CHECK(strstr(value, "prop-0000") != NULL); /* a smallest key is listed */
        toykv_free(value);
    }
    value = NULL;
    if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.stats", &value, &err)) == TOYKV_OK) {
        CHECK(value != NULL && value[0] != '\0');
        toykv_free(value);
    }
    /* After a compaction the per-level counts still add up to the list. */
    EXPECT(TOYKV_OK, toykv_compact(db, &err));
    files = total_files(db);
    value = NULL;
    if (EXPECT(TOYKV_OK, toykv_property(db, "toykv.sstables", &value, &err)) == TOYKV_OK &&
        value != NULL) {
        long lines = 0;
        const char *p;
        for (p = value; *p; p++)
            if (*p == '\n' && p != value && p[-1] != '\n')
                lines++;
        if (p != value && p[-1] != '\n')
            lines++; /* a last line without its newline */
        CHECK_EQ(lines, files);
        toykv_free(value);
    }

    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        char *out = OUT_SENTINEL;
        EXPECT(TOYKV_INVALID_ARGUMENT, toykv_property(db, unknown[i], &out, &err));
        CHECK(out == (char *)OUT_SENTINEL);
    }
    CLOSE_DB(db);
out:
    tmpdir_remove(dir);
}

static void ten_thousand_keys_scan_back_in_order(void) {
    const int n = (int)scaled(10000);
    const int stride = (n % 7919 == 0) ? 7907 : 7919; /* coprime with n: a permutation */
    char *dir = tmpdir_new();
    toykv_db *db = OPEN_DB(dir, SMALL_MEMTABLE);
    char key[32], val[160];
    size_t vl;
    char *err;
    int i, round;

    if (db == NULL)
        goto out;
    /* Written in a scrambled order, so the sstables overlap and the merge has work to do. */
    for (i = 0; i < n; i++) {
        int k = (int)(((long long)i * stride) % n);
        key_for(key, sizeof key, k);
        vl = value_for(val, sizeof val, k, 0);
        if (EXPECT(TOYKV_OK, toykv_put(db, key, strlen(key), val, vl, &err)) != TOYKV_OK)
            break;
    }
    for (round = 0; round < 2; round++) { /* before and after close + reopen */
        toykv_cursor *c = CURSOR_OPEN(db, NULL, 0, NULL, 0);
        int seen = 0;
        while (c != NULL) {
            const void *k, *v;
            size_t kl, cvl;
            int st = toykv_cursor_next(c, &k, &kl, &v, &cvl, NULL);
            if (st != TOYKV_OK) {
                CHECK_EQ(st, TOYKV_END);
                break;
            }
            key_for(key, sizeof key, seen);
            vl = value_for(val, sizeof val, seen, 0);
            if (!bytes_eq(k, kl, key, strlen(key)) || !bytes_eq(v, cvl, val, vl)) {
                char what[128];
                snprintf(what, sizeof what, "entry %d of the scan is %s with its value", seen,
                         key);
                FAIL(what);
                break;
            }
            seen++;
        }
        toykv_cursor_close(c);
        CHECK_EQ(seen, n);
        for (i = 0; i < n; i += 97) {
            key_for(key, sizeof key, i);
            vl = value_for(val, sizeof val, i, 0);
            CHECK_GET(db, key, strlen(key), val, vl);
        }
        CHECK(total_files(db) >= 1); /* the small memtable pushed data into sstables */
        CLOSE_DB(db);
        if (round == 0) {
            db = OPEN_DB(dir, SMALL_MEMTABLE);
            if (db == NULL)
                goto out;
        }
    }
out:
    tmpdir_remove(dir);
}

static void destroy_removes_a_closed_database_and_refuses_an_open_one(void) {
    char *dir = tmpdir_new();
    char *path = path_join(dir, "db");
    toykv_db *db = OPEN_DB(path, SMALL_MEMTABLE);
    toykv_options *no_create = toykv_options_new();
    char *err = ERR_SENTINEL;
    int st, i;

    if (db == NULL)
        goto out;
    for (i = 0; i < 300; i++) {
        char key[32];
        snprintf(key, sizeof key, "destroy-%d", i);
        PUT_STR(db, key, "value value value value value value value value");
    }
    EXPECT(TOYKV_OK, toykv_flush(db, &err));

    /* Open: refused (LOCKED, or at least an error), and the database is unharmed. */
    err = ERR_SENTINEL;
    st = toykv_destroy(path, &err);
    CHECK(st != TOYKV_OK);
    check_call(__FILE__, __LINE__, "toykv_destroy(open database)", st,
               st == TOYKV_OK ? TOYKV_LOCKED : st, &err);
    CHECK_GET(db, LIT("destroy-7"), LIT("value value value value value value value value"));
    CLOSE_DB(db);
    db = OPEN_DB(path, SMALL_MEMTABLE);
    if (db == NULL)
        goto out;
    CHECK_GET(db, LIT("destroy-299"), LIT("value value value value value value value value"));
    CLOSE_DB(db);

    /* Closed: gone. Its directory is removed, or at least emptied of the database's files. */
    EXPECT(TOYKV_OK, toykv_destroy(path, &err));
    if (path_exists(path)) {
        /* rmdir succeeds only on an empty directory: that is the check. */
        CHECK(rmdir(path) == 0);
    }
    toykv_options_set_create_if_missing(no_create, false);
    db = OUT_SENTINEL;
    err = ERR_SENTINEL;
    st = toykv_open(path, no_create, &db, &err);
    CHECK(st != TOYKV_OK);
    if (st == TOYKV_OK)
        CLOSE_DB(db);
    if (err != ERR_SENTINEL)
        toykv_free(err);
    /* A new database can be created in its place, and it is empty. */
    db = OPEN_DB(path, 0);
    if (db != NULL) {
        CHECK_ABSENT(db, LIT("destroy-7"));
        CLOSE_DB(db);
    }
out:
    toykv_options_free(no_create);
    free(path);
    tmpdir_remove(dir);
}

/* ========================================================================================
 * Checkpoints
 * ====================================================================================== */

/* A database with `n` keys over flushed sstables, a deletion, and a batch still in its
 * memtable; a checkpoint of it opens on its own with exactly that, and the two diverge. */
static void a_checkpoint_opens_on_its_own_and_goes_its_own_way(void) {
    const int n = (int)scaled(3000);
    char *dir = tmpdir_new();
    char *src = path_join(dir, "src");
    char *cp = path_join(dir, "backups/cp"); /* the missing parent is created too */
    toykv_db *db = OPEN_DB(src, SMALL_MEMTABLE);
    toykv_db *copy = NULL;
    toykv_batch *b = toykv_batch_new();
    char key[32], val[160];
    size_t vl;
    char *err;
    int i;

    if (db == NULL || b == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        key_for(key, sizeof key, i);
        vl = value_for(val, sizeof val, i, 0);
        EXPECT(TOYKV_OK, toykv_put(db, key, strlen(key), val, vl, &err));
    }
    EXPECT(TOYKV_OK, toykv_flush(db, &err));
    key_for(key, sizeof key, 7);
    EXPECT(TOYKV_OK, toykv_delete(db, key, strlen(key), &err));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("batch-a"), LIT("1")));
    EXPECT_STATUS(TOYKV_OK, toykv_batch_put(b, LIT("batch-b"), LIT("2")));
    EXPECT(TOYKV_OK, toykv_write(db, b, &err));

    EXPECT(TOYKV_OK, toykv_checkpoint(db, cp, &err)); /* also: *err untouched */
    CHECK(path_exists(cp));
    /* Later writes to the source stay out of the checkpoint. */
    PUT_STR(db, "after", "the checkpoint");
    copy = OPEN_DB(cp, SMALL_MEMTABLE);
    if (copy == NULL)
        goto out;
    for (i = 0; i < n; i += 97) {
        key_for(key, sizeof key, i);
        vl = value_for(val, sizeof val, i, 0);
        CHECK_GET(copy, key, strlen(key), val, vl);
    }
    key_for(key, sizeof key, 7);
    CHECK_ABSENT(copy, key, strlen(key));
    CHECK_GET(copy, LIT("batch-a"), LIT("1"));
    CHECK_GET(copy, LIT("batch-b"), LIT("2"));
    CHECK_ABSENT(copy, LIT("after"));
    /* And the checkpoint's writes stay out of the source, through a compaction of each. */
    PUT_STR(copy, "only", "in the checkpoint");
    EXPECT(TOYKV_OK, toykv_compact(copy, &err));
    EXPECT(TOYKV_OK, toykv_compact(db, &err));
    CHECK_ABSENT(db, LIT("only"));
    CLOSE_DB(db);
    db = NULL;
    CLOSE_DB(copy);
    copy = OPEN_DB(cp, SMALL_MEMTABLE);
    if (copy != NULL) {
        CHECK_GET(copy, LIT("only"), LIT("in the checkpoint"));
        key_for(key, sizeof key, n - 1);
        vl = value_for(val, sizeof val, n - 1, 0);
        CHECK_GET(copy, key, strlen(key), val, vl);
    }
out:
    toykv_batch_free(b);
    CLOSE_DB(copy);
    CLOSE_DB(db);
    free(cp);
    free(src);
    tmpdir_remove(dir);
}

static void a_checkpoint_into_an_existing_directory_is_refused(void) {
    char *dir = tmpdir_new();
    char *src = path_join(dir, "src");
    char *occupied = path_join(dir, "occupied");
    toykv_db *db = OPEN_DB(src, 0);
    char *err;
    int st;

    if (db == NULL)
        goto out;
    PUT_STR(db, "k", "v");
    CHECK(mkdir(occupied, 0700) == 0);
    err = ERR_SENTINEL;
    st = toykv_checkpoint(db, occupied, &err);
    check_call(__FILE__, __LINE__, "toykv_checkpoint(existing directory)", st,
               TOYKV_INVALID_ARGUMENT, &err);
    /* The database's own directory is no place for one either. */
    err = ERR_SENTINEL;
    st = toykv_checkpoint(db, src, &err);
    check_call(__FILE__, __LINE__, "toykv_checkpoint(the database's directory)", st,
               TOYKV_INVALID_ARGUMENT, &err);
    /* Nothing was written into it: rmdir succeeds only on an empty directory. */
    CHECK(rmdir(occupied) == 0);
    CHECK_GET(db, LIT("k"), LIT("v"));
    CLOSE_DB(db);
out:
    free(occupied);
    free(src);
    tmpdir_remove(dir);
}

int main(void) {
    printf("toykv %s C API tests (TOYKV_TEST_SCALE=%ld)\n", toykv_version(), test_scale());
    RUN_TEST(version_matches_the_header_macros);
    RUN_TEST(status_codes_have_the_documented_values);
    RUN_TEST(status_str_is_never_null_even_for_unknown_codes);
    RUN_TEST(every_entry_point_rejects_null_arguments);
    RUN_TEST(lengths_past_the_limits_are_rejected_before_any_byte_is_read);
    RUN_TEST(free_and_close_accept_null);
    RUN_TEST(err_may_be_null_on_success_and_failure);
    RUN_TEST(null_options_mean_defaults);
    RUN_TEST(invalid_options_are_rejected_naming_the_option);
    RUN_TEST(extreme_valid_options_are_accepted);
    RUN_TEST(invalid_tuning_options_are_rejected_naming_the_option);
    RUN_TEST(extreme_tuning_options_are_accepted);
    RUN_TEST(compaction_pending_is_a_byte_count_zero_when_idle);
    RUN_TEST(create_if_missing_false_fails_on_a_missing_database);
    RUN_TEST(error_if_exists_rejects_an_existing_database);
    RUN_TEST(a_second_open_of_the_same_directory_is_locked);
    RUN_TEST(oversized_keys_and_values_are_rejected);
    RUN_TEST(get_into_reports_the_size_it_needs);
    RUN_TEST(empty_keys_and_values_are_present_not_absent);
    RUN_TEST(keys_are_bytes_with_zeros_in_unsigned_order);
    RUN_TEST(a_one_mebibyte_value_round_trips);
    RUN_TEST(cursor_ranges_are_half_open_and_null_is_unbounded);
    RUN_TEST(cursor_end_is_sticky_until_a_seek);
    RUN_TEST(cursor_bounds_are_copied_at_open);
    RUN_TEST(cursor_returned_pointers_stay_valid_until_the_next_call);
    RUN_TEST(cursor_next_accepts_aliased_outputs);
    RUN_TEST(a_cursor_sees_the_database_as_of_its_open);
    RUN_TEST(a_cursor_survives_its_database_being_closed);
    RUN_TEST(a_snapshot_survives_later_overwrites_and_deletes);
    RUN_TEST(a_snapshot_of_a_closed_database_reports_closed);
    RUN_TEST(a_batch_applies_all_its_operations_at_once);
    RUN_TEST(a_large_batch_spanning_memtables_is_applied_whole);
    RUN_TEST(sync_flush_and_compact_keep_every_write_across_reopen);
    RUN_TEST(properties_describe_the_tree);
    RUN_TEST(ten_thousand_keys_scan_back_in_order);
    RUN_TEST(destroy_removes_a_closed_database_and_refuses_an_open_one);
    RUN_TEST(a_checkpoint_opens_on_its_own_and_goes_its_own_way);
    RUN_TEST(a_checkpoint_into_an_existing_directory_is_refused);
    return check_summary();
}
