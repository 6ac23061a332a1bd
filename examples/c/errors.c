/*
 * errors.c - how toykv reports errors to C.
 *
 * Every fallible call returns a status (TOYKV_OK is 0) and takes a last `char **err`. Pass
 * NULL when the status is all you need; pass the address of a `char *` to receive a message
 * when the call fails, which you then release with toykv_free. On success `*err` is left
 * alone. TOYKV_NOT_FOUND (get) and TOYKV_END (cursor) are answers, not failures.
 *
 * This program walks through: a missing key, a bad option (block_bytes = 0), opening a
 * directory that is already open (TOYKV_LOCKED), and the description of every status code.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <toykv.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Prints a failed call's status, name and message, then frees the message. */
static void report(const char *what, int status, char *err) {
    printf("  %s -> %d (%s)\n", what, status, toykv_status_str(status));
    if (err != NULL) {
        printf("     message: %s\n", err);
        toykv_free(err); /* messages belong to the caller once returned */
    }
}

int main(void) {
    char dir[] = "/tmp/toykv-errors-XXXXXX";
    toykv_options *opts;
    toykv_db *db = NULL, *second = NULL;
    void *value = NULL;
    size_t len = 0;
    char *err = NULL;
    int st, code;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    /* 1. A bad option: toykv_open validates, names the option, and opens nothing. */
    printf("1. opening with block_bytes = 0:\n");
    opts = toykv_options_new();
    toykv_options_set_block_bytes(opts, 0);
    st = toykv_open(dir, opts, &db, &err);
    report("toykv_open", st, err);
    err = NULL;
    toykv_options_free(opts);
    if (st != TOYKV_INVALID_ARGUMENT) {
        fprintf(stderr, "expected TOYKV_INVALID_ARGUMENT\n");
        return 1;
    }

    /* A good open; `err` is only written on failure, so it stays NULL here. */
    st = toykv_open(dir, NULL, &db, &err);
    if (st != TOYKV_OK) {
        report("toykv_open", st, err);
        return 1;
    }

    /* 2. A missing key is TOYKV_NOT_FOUND: an answer, with no message to free. */
    printf("2. reading a key that is not there:\n");
    st = toykv_get(db, "nobody", 6, &value, &len, &err);
    report("toykv_get", st, err);
    err = NULL;

    /* 3. The directory is locked while a handle has it open. */
    printf("3. opening the same directory a second time:\n");
    st = toykv_open(dir, NULL, &second, &err);
    report("toykv_open", st, err);
    err = NULL;
    if (st == TOYKV_OK)
        toykv_close(second, NULL);

    /* 4. err may be NULL: the status alone still tells what happened. */
    printf("4. the same with err = NULL:\n");
    st = toykv_open(dir, NULL, &second, NULL);
    report("toykv_open", st, NULL);

    /* 5. Every status code has a description, and so does any other number. */
    printf("5. toykv_status_str:\n");
    for (code = TOYKV_OK; code <= TOYKV_INTERNAL; code++)
        printf("  %d: %s\n", code, toykv_status_str(code));
    printf("  42: %s\n", toykv_status_str(42));

    st = toykv_close(db, &err);
    if (st != TOYKV_OK) {
        report("toykv_close", st, err);
        return 1;
    }
    st = toykv_destroy(dir, &err);
    if (st != TOYKV_OK) {
        report("toykv_destroy", st, err);
        return 1;
    }
    rmdir(dir); /* in case destroy left the (empty) directory itself */
    return 0;
}
