/* shim.c - see shim.h. */
#include <stdint.h>
#include <string.h>
#include "shim.h"

/* Reads a uint64 length at *pos, advancing it; 0 when fewer than 8 bytes remain or the value
 * does not fit a size_t. */
static int read_len(const unsigned char **pos, const unsigned char *end, size_t *out) {
    uint64_t v;
    if ((size_t)(end - *pos) < sizeof v) {
        return 0;
    }
    memcpy(&v, *pos, sizeof v);
    *pos += sizeof v;
    if (v > SIZE_MAX || v > (uint64_t)(end - *pos)) {
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

static int fill_batch(toykv_batch *b, const unsigned char *pos, const unsigned char *end,
                      size_t *failed) {
    for (size_t index = 0; pos < end; index++) {
        unsigned char kind = *pos++;
        size_t key_len, value_len = 0;
        if (!read_len(&pos, end, &key_len)) {
            return TOYKV_INTERNAL;
        }
        if (kind == TKVGO_OP_PUT && !read_len(&pos, end, &value_len)) {
            return TOYKV_INTERNAL;
        }
        if (kind != TKVGO_OP_PUT && kind != TKVGO_OP_DELETE) {
            return TOYKV_INTERNAL;
        }
        if ((size_t)(end - pos) < key_len || (size_t)(end - pos) - key_len < value_len) {
            return TOYKV_INTERNAL;
        }
        const unsigned char *key = pos, *value = pos + key_len;
        pos += key_len + value_len;
        int rc = kind == TKVGO_OP_PUT ? toykv_batch_put(b, key, key_len, value, value_len)
                                      : toykv_batch_delete(b, key, key_len);
        if (rc != TOYKV_OK) {
            *failed = index;
            return rc;
        }
    }
    return TOYKV_OK;
}

int tkvgo_write_ops(toykv_db *db, const char *ops, size_t len, size_t *failed, char **err) {
    toykv_batch *b = toykv_batch_new();
    if (b == NULL) {
        return TOYKV_INTERNAL;
    }
    const unsigned char *pos = (const unsigned char *)ops;
    int rc = len == 0 ? TOYKV_OK : fill_batch(b, pos, pos + len, failed);
    if (rc == TOYKV_OK) {
        rc = toykv_write(db, b, err);
    }
    toykv_batch_free(b);
    return rc;
}

int tkvgo_snapshot_get(toykv_snapshot *snap, const char *key, size_t key_len, char *buf,
                       size_t cap, void **heap, size_t *len, char **err) {
    void *value;
    size_t value_len;
    int rc = toykv_snapshot_get(snap, key, key_len, &value, &value_len, err);
    if (rc != TOYKV_OK) {
        return rc;
    }
    *len = value_len;
    if (value_len <= cap) {
        memcpy(buf, value, value_len);
        toykv_free(value);
        *heap = NULL;
    } else {
        *heap = value;
    }
    return TOYKV_OK;
}
