/* shim.h - C helpers for the Go binding: each does in one cgo call what would otherwise take
 * several crossings. They use only the public API in toykv.h. */
#ifndef TOYKV_GO_SHIM_H
#define TOYKV_GO_SHIM_H

#include <stddef.h>
#include "toykv.h"

/* The hot calls again, with char pointers for the byte strings. cgo checks every void *
 * (unsafe.Pointer) argument at run time for Go pointers inside the memory it points to
 * (cgocheck, on by default); a char * cannot point to memory holding pointers, so cgo skips
 * the check. The bytes of a []byte never hold pointers, so nothing is lost; in a CPU profile
 * the checks took 130 of the 940 ns a GetInto cost. Same behaviour as the toykv_ functions
 * they call. */
static inline int tkvgo_put(toykv_db *db, const char *key, size_t key_len, const char *value,
                            size_t value_len, char **err) {
    return toykv_put(db, key, key_len, value, value_len, err);
}

static inline int tkvgo_delete(toykv_db *db, const char *key, size_t key_len, char **err) {
    return toykv_delete(db, key, key_len, err);
}

static inline int tkvgo_get_into(toykv_db *db, const char *key, size_t key_len, char *buf,
                                 size_t cap, size_t *len, char **err) {
    return toykv_get_into(db, key, key_len, buf, cap, len, err);
}

static inline int tkvgo_cursor_seek(toykv_cursor *c, const char *key, size_t key_len,
                                    char **err) {
    return toykv_cursor_seek(c, key, key_len, err);
}

/* toykv_cursor_open on `db`, or toykv_snapshot_cursor_open on `snap` when `db` is NULL. */
static inline int tkvgo_cursor_open(toykv_db *db, toykv_snapshot *snap, const char *start,
                                    size_t start_len, const char *end, size_t end_len,
                                    toykv_cursor **out, char **err) {
    if (db == NULL) {
        return toykv_snapshot_cursor_open(snap, start, start_len, end, end_len, out, err);
    }
    return toykv_cursor_open(db, start, start_len, end, end_len, out, err);
}

/* One cursor step's outputs in one struct, so that cgo checks one pointer argument, not five
 * (see above). */
typedef struct tkvgo_entry {
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    char *err;
} tkvgo_entry;

static inline int tkvgo_cursor_next(toykv_cursor *c, tkvgo_entry *e) {
    return toykv_cursor_next(c, &e->key, &e->key_len, &e->value, &e->value_len, &e->err);
}

/* Operation kinds in a Batch's encoding (batch.go writes it, tkvgo_write_ops reads it). */
enum { TKVGO_OP_PUT = 1, TKVGO_OP_DELETE = 2 };

/* Applies the encoded operations `ops[0..len)` atomically through one toykv_batch. Each
 * operation is a kind byte, a uint64 key length, for a put a uint64 value length, then the key
 * and the value bytes (lengths in native byte order). When toykv_batch_put/delete rejects an
 * operation, returns its status with its index in *failed and *err untouched (those calls take
 * no err argument). A malformed encoding is TOYKV_INTERNAL. */
int tkvgo_write_ops(toykv_db *db, const char *ops, size_t len, size_t *failed, char **err);

/* toykv_snapshot_get with the copy-out done here: a value of up to `cap` bytes is copied into
 * `buf` and the library's copy freed (*heap = NULL); a longer one is left in *heap for the
 * caller to copy and release with toykv_free. *len is the value's length. */
int tkvgo_snapshot_get(toykv_snapshot *snap, const char *key, size_t key_len, char *buf,
                       size_t cap, void **heap, size_t *len, char **err);

#endif
