/*
 * quickstart.c - a first toykv program in C.
 *
 * Opens a database in a fresh temporary directory, stores, reads and deletes a key, applies
 * an atomic batch, scans a key range with a cursor, then closes and destroys the database.
 * Every call's status is checked: on failure the library's message (`*err`) is printed, freed
 * with toykv_free, and the program exits with status 1.
 *
 * Build against an installed toykv:
 *     cc quickstart.c $(pkg-config --cflags --libs toykv) -o quickstart
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <toykv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exits with the library's message when `status` is not TOYKV_OK. */
static void check(int status, char *err, const char *what) {
    if (status == TOYKV_OK)
        return;
    fprintf(stderr, "%s failed: %s (%s)\n", what, err ? err : "(no message)",
            toykv_status_str(status));
    toykv_free(err);
    exit(1);
}

/* Reads `key` and prints its value, or says that it is absent. */
static void show(toykv_db *db, const char *key) {
    void *value = NULL;
    size_t len = 0;
    char *err = NULL;
    int st = toykv_get(db, key, strlen(key), &value, &len, &err);
    if (st == TOYKV_NOT_FOUND) {
        printf("  get %-8s -> (not found)\n", key);
        return;
    }
    check(st, err, "toykv_get");
    /* Values are bytes, not C strings: print exactly `len` of them. */
    printf("  get %-8s -> \"%.*s\"\n", key, (int)len, (const char *)value);
    toykv_free(value);
}

int main(void) {
    char dir[] = "/tmp/toykv-quickstart-XXXXXX";
    toykv_options *opts;
    toykv_db *db = NULL;
    toykv_batch *batch;
    toykv_cursor *cursor = NULL;
    char *err = NULL;
    const void *key, *value;
    size_t key_len, value_len;
    int st;

    printf("toykv %s quickstart\n", toykv_version());
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    /* Open (creating it) with default options except a smaller memtable. */
    opts = toykv_options_new();
    toykv_options_set_memtable_bytes(opts, 1 << 20);
    check(toykv_open(dir, opts, &db, &err), err, "toykv_open");
    toykv_options_free(opts); /* the database keeps its own copy */
    printf("opened %s\n", dir);

    /* Put, get, delete, get again. */
    printf("put, get, delete:\n");
    check(toykv_put(db, "greeting", 8, "hello, world", 12, &err), err, "toykv_put");
    show(db, "greeting");
    check(toykv_delete(db, "greeting", 8, &err), err, "toykv_delete");
    show(db, "greeting");

    /* A batch: all of its operations become visible together, or none do. */
    printf("an atomic batch of four puts:\n");
    batch = toykv_batch_new();
    check(toykv_batch_put(batch, "fruit:apple", 11, "red", 3), NULL, "toykv_batch_put");
    check(toykv_batch_put(batch, "fruit:banana", 12, "yellow", 6), NULL, "toykv_batch_put");
    check(toykv_batch_put(batch, "fruit:cherry", 12, "dark red", 8), NULL, "toykv_batch_put");
    check(toykv_batch_put(batch, "vegetable:leek", 14, "green", 5), NULL, "toykv_batch_put");
    check(toykv_write(db, batch, &err), err, "toykv_write");
    toykv_batch_free(batch);
    show(db, "fruit:banana");

    /* A cursor over the range ["fruit:", "fruit;"): ';' follows ':', so every "fruit:" key. */
    printf("scan of [\"fruit:\", \"fruit;\"):\n");
    check(toykv_cursor_open(db, "fruit:", 6, "fruit;", 6, &cursor, &err), err,
          "toykv_cursor_open");
    while ((st = toykv_cursor_next(cursor, &key, &key_len, &value, &value_len, &err)) ==
           TOYKV_OK) {
        /* key and value stay valid until the next call on this cursor. */
        printf("  %.*s = %.*s\n", (int)key_len, (const char *)key, (int)value_len,
               (const char *)value);
    }
    if (st != TOYKV_END)
        check(st, err, "toykv_cursor_next");
    toykv_cursor_close(cursor);

    /* Close (every acknowledged write is now durable), then delete the database's files. */
    check(toykv_close(db, &err), err, "toykv_close");
    check(toykv_destroy(dir, &err), err, "toykv_destroy");
    rmdir(dir); /* in case destroy left the (empty) directory itself */
    printf("closed and destroyed %s\n", dir);
    return 0;
}
