/* shim.h - C helpers for the Go binding: each does in one cgo call what would otherwise take
 * several crossings. They use only the public API in toykv.h. */
#ifndef TOYKV_GO_SHIM_H
#define TOYKV_GO_SHIM_H

#include <stddef.h>
#include "toykv.h"

/* Operation kinds in a Batch's encoding (batch.go writes it, tkvgo_write_ops reads it). */
enum { TKVGO_OP_PUT = 1, TKVGO_OP_DELETE = 2 };

/* Applies the encoded operations `ops[0..len)` atomically through one toykv_batch. Each
 * operation is a kind byte, a uint64 key length, for a put a uint64 value length, then the key
 * and the value bytes (lengths in native byte order). When toykv_batch_put/delete rejects an
 * operation, returns its status with its index in *failed and *err untouched (those calls take
 * no err argument). A malformed encoding is TOYKV_INTERNAL. */
int tkvgo_write_ops(toykv_db *db, const void *ops, size_t len, size_t *failed, char **err);

/* toykv_snapshot_get with the copy-out done here: a value of up to `cap` bytes is copied into
 * `buf` and the library's copy freed (*heap = NULL); a longer one is left in *heap for the
 * caller to copy and release with toykv_free. *len is the value's length. */
int tkvgo_snapshot_get(toykv_snapshot *snap, const void *key, size_t key_len, void *buf,
                       size_t cap, void **heap, size_t *len, char **err);

#endif
