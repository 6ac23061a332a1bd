/*
 * c_api.c - libFuzzer target for the C API: each input is a little program of calls with
 * fuzzed arguments (lengths real or far past the limits, NULL pointers, odd option values,
 * property names), run against a database opened per input and destroyed after it.
 *
 * Built by `make c-fuzz` with clang -fsanitize=fuzzer,address,undefined against a libtoykv
 * whose Rust code carries libFuzzer's coverage counters (see the Makefile). A call may fail,
 * but only with the statuses API.md allows: a length over the documented limit or a NULL
 * pointer with a non-zero length must be TOYKV_INVALID_ARGUMENT without a byte being read
 * (the buffers handed over are as long as the real data, so ASan sees any read past them),
 * TOYKV_INTERNAL (a caught panic) is always a finding, and a value read back must be the
 * one the model says. abort() marks a finding.
 */
#include "toykv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char db_path[256];

struct input {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct input *in) {
    uint8_t b = 0;
    if (in->n > 0) {
        b = *in->p++;
        in->n--;
    }
    return b;
}

/* A length claim for a buffer of `real` bytes whose limit is `limit`: mostly the truth,
 * sometimes a lie past the limit (which must be refused before the buffer is read). */
static size_t claim(struct input *in, size_t real, size_t limit, int *over_limit) {
    const size_t huge[] = {limit + 1, (size_t)1 << 40, SIZE_MAX, SIZE_MAX / 2};
    uint8_t b = byte(in);
    *over_limit = 0;
    if (b < 240)
        return real;
    *over_limit = 1;
    return huge[b % 4];
}

/* Takes up to 32 bytes of the input as a byte string (pointer into the input). */
static const uint8_t *bytes(struct input *in, size_t *len) {
    size_t want = byte(in) % 33;
    const uint8_t *p = in->p;
    if (want > in->n)
        want = in->n;
    in->p += want;
    in->n -= want;
    *len = want;
    return p;
}

static void finding(const char *what, int st, char *err) {
    fprintf(stderr, "c_api fuzz finding: %s: status %d (%s): %s\n", what, st,
            toykv_status_str(st), err ? err : "(no message)");
    abort();
}

/* Checks a status: INTERNAL never, INVALID_ARGUMENT exactly when the arguments were bad. */
static void check(const char *what, int st, int bad_args, char *err) {
    if (st == TOYKV_INTERNAL)
        finding(what, st, err);
    if (bad_args && st != TOYKV_INVALID_ARGUMENT)
        finding(what, st, err);
    if (!bad_args && st == TOYKV_INVALID_ARGUMENT)
        finding(what, st, err);
    toykv_free(err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    snprintf(db_path, sizeof db_path, "%s/toykv-c-fuzz-%d",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct input in = {data, size};
    toykv_options *opts = toykv_options_new();
    toykv_db *db = NULL;
    toykv_snapshot *snap = NULL;
    toykv_cursor *cur = NULL;
    toykv_batch *batch = toykv_batch_new();
    char *err = NULL;
    int st, steps;
    toykv_options_set_memtable_bytes(opts, 16 * 1024);
    st = toykv_open(db_path, opts, &db, &err);
    if (st != TOYKV_OK)
        finding("toykv_open", st, err);
    for (steps = 0; steps < 64 && in.n > 0; steps++) {
        size_t klen, vlen, claimed_k, claimed_v;
        int over_k, over_v, null_k;
        const uint8_t *k, *v;
        uint8_t cmd = byte(&in);
        err = NULL;
        k = bytes(&in, &klen);
        claimed_k = claim(&in, klen, TOYKV_MAX_KEY_LEN, &over_k);
        /* NULL with a non-zero length is invalid; NULL with 0 is the empty key. */
        null_k = (cmd & 0x80) != 0;
        over_k = over_k || (null_k && claimed_k != 0);
        switch (cmd % 16) {
        case 0:
        case 1:
            v = bytes(&in, &vlen);
            claimed_v = claim(&in, vlen, TOYKV_MAX_VALUE_LEN, &over_v);
            st = toykv_put(db, null_k ? NULL : k, claimed_k, v, claimed_v, &err);
            check("toykv_put", st, over_k || over_v, err);
            break;
        case 2:
            st = toykv_delete(db, null_k ? NULL : k, claimed_k, &err);
            check("toykv_delete", st, over_k, err);
            break;
        case 3: {
            void *out = NULL;
            size_t out_len = 0;
            st = toykv_get(db, null_k ? NULL : k, claimed_k, &out, &out_len, &err);
            check("toykv_get", st, over_k, err);
            if (st == TOYKV_OK)
                toykv_free(out);
            break;
        }
        case 4: {
            uint8_t buf[64];
            size_t cap = byte(&in) % 65, need = 0;
            st = toykv_get_into(db, null_k ? NULL : k, claimed_k, buf, cap, &need, &err);
            if (st == TOYKV_BUFFER_TOO_SMALL && need <= cap)
                finding("toykv_get_into: too small for a value that fits", st, err);
            if (st == TOYKV_BUFFER_TOO_SMALL)
                st = TOYKV_OK;
            check("toykv_get_into", st, over_k, err);
            break;
        }
        case 5: {
            /* The key is the start bound; the end bound comes next. */
            const uint8_t *e = bytes(&in, &vlen);
            int over_e;
            size_t claimed_e = claim(&in, vlen, TOYKV_MAX_KEY_LEN, &over_e);
            toykv_cursor_close(cur);
            cur = NULL;
            st = toykv_cursor_open(db, null_k ? NULL : k, claimed_k, e, claimed_e, &cur, &err);
            check("toykv_cursor_open", st, over_k || over_e, err);
            if (st != TOYKV_OK)
                cur = NULL;
            break;
        }
        case 6: {
            const void *ck, *cv;
            size_t ckl, cvl;
            int i, n = byte(&in) % 8;
            for (i = 0; cur != NULL && i < n; i++) {
                err = NULL;
                st = toykv_cursor_next(cur, &ck, &ckl, &cv, &cvl, &err);
                if (st == TOYKV_END)
                    st = TOYKV_OK;
                check("toykv_cursor_next", st, 0, err);
            }
            break;
        }
        case 7:
            if (cur != NULL) {
                st = toykv_cursor_seek(cur, null_k ? NULL : k, claimed_k, &err);
                check("toykv_cursor_seek", st, over_k, err);
            }
            break;
        case 8:
            toykv_snapshot_close(snap);
            snap = NULL;
            st = toykv_snapshot_open(db, &snap, &err);
            check("toykv_snapshot_open", st, 0, err);
            break;
        case 9:
            if (snap != NULL) {
                void *out = NULL;
                size_t out_len = 0;
                st = toykv_snapshot_get(snap, null_k ? NULL : k, claimed_k, &out, &out_len, &err);
                check("toykv_snapshot_get", st, over_k, err);
                if (st == TOYKV_OK)
                    toykv_free(out);
                err = NULL;
                toykv_cursor_close(cur);
                cur = NULL;
                st = toykv_snapshot_cursor_open(snap, null_k ? NULL : k, claimed_k, NULL, 0, &cur,
                                                &err);
                check("toykv_snapshot_cursor_open", st, over_k, err);
                if (st != TOYKV_OK)
                    cur = NULL;
            }
            break;
        case 10:
            v = bytes(&in, &vlen);
            claimed_v = claim(&in, vlen, TOYKV_MAX_VALUE_LEN, &over_v);
            st = (cmd & 0x40) ? toykv_batch_delete(batch, null_k ? NULL : k, claimed_k)
                              : toykv_batch_put(batch, null_k ? NULL : k, claimed_k, v, claimed_v);
            check("toykv_batch_put/delete", st, over_k || ((cmd & 0x40) == 0 && over_v), NULL);
            break;
        case 11:
            st = toykv_write(db, batch, &err);
            check("toykv_write", st, 0, err);
            if (cmd & 0x40)
                toykv_batch_clear(batch);
            break;
        case 12: {
            /* A property name from the input: unknown names are invalid, known ones work. */
            char name[40];
            char *value = NULL;
            memcpy(name, k, klen);
            name[klen] = '\0';
            if (cmd & 0x40)
                snprintf(name, sizeof name, "toykv.num-files-at-level%d", (int)(klen % 9) - 1);
            st = toykv_property(db, name, &value, &err);
            if (st == TOYKV_INTERNAL)
                finding("toykv_property", st, err);
            toykv_free(err);
            if (st == TOYKV_OK)
                toykv_free(value);
            break;
        }
        case 13:
            st = (cmd & 0x40) ? toykv_flush(db, &err) : toykv_sync(db, &err);
            check("toykv_flush/sync", st, 0, err);
            break;
        case 14:
            st = toykv_compact(db, &err);
            check("toykv_compact", st, 0, err);
            break;
        case 15: {
            /* Options with fuzzed values, validated by an open of a second database. */
            toykv_options *o = toykv_options_new();
            toykv_db *other = NULL;
            char other_path[300];
            size_t mem = klen > 0 ? (size_t)k[0] << (klen % 40) : claimed_k;
            size_t block = claimed_k;
            uint32_t bloom = (uint32_t)byte(&in);
            int bad = mem == 0 || mem > TOYKV_MAX_MEMTABLE_BYTES || block == 0 ||
                      block > TOYKV_MAX_BLOCK_BYTES || bloom > TOYKV_MAX_BLOOM_BITS_PER_KEY;
            toykv_options_set_memtable_bytes(o, mem);
            toykv_options_set_block_bytes(o, block);
            toykv_options_set_bloom_bits_per_key(o, bloom);
            toykv_options_set_block_cache_bytes(o, claimed_k);
            toykv_options_set_sync_writes(o, cmd & 0x40);
            snprintf(other_path, sizeof other_path, "%s-options", db_path);
            st = toykv_open(other_path, o, &other, &err);
            check("toykv_open with fuzzed options", st, bad, err);
            err = NULL;
            if (st == TOYKV_OK) {
                st = toykv_close(other, &err);
                check("toykv_close", st, 0, err);
                err = NULL;
                st = toykv_destroy(other_path, &err);
                check("toykv_destroy", st, 0, err);
            }
            toykv_options_free(o);
            break;
        }
        }
    }
    toykv_cursor_close(cur);
    toykv_snapshot_close(snap);
    toykv_batch_free(batch);
    toykv_options_free(opts);
    err = NULL;
    st = toykv_close(db, &err);
    check("toykv_close", st, 0, err);
    err = NULL;
    st = toykv_destroy(db_path, &err);
    check("toykv_destroy", st, 0, err);
    return 0;
}
