// Package cbench holds C loops over libtoykv that the binding's benchmarks run beside the Go
// calls: the same library calls on the same database, made from C, so that a benchmark's
// "c" and "go" lines differ by what the binding adds (the cgo crossing, locking, copying
// into Go memory). Each function is one cgo call that performs n operations.
package cbench

/*
#cgo pkg-config: toykv
#cgo nocallback noop
#include <stdlib.h>
#include <string.h>
#include "toykv.h"

// Nothing: what a cgo call costs by itself.
static void noop(void) {}

static const void *key_at(const char *keys, size_t key_len, size_t nkeys, size_t i) {
    return keys + (i % nkeys) * key_len;
}

// toykv_get_into into a stack buffer (what Go's GetInto does).
static int get_into_loop(toykv_db *db, const char *keys, size_t key_len, size_t nkeys, size_t n) {
    char buf[1024];
    size_t len;
    for (size_t i = 0; i < n; i++) {
        int rc = toykv_get_into(db, key_at(keys, key_len, nkeys, i), key_len, buf, sizeof buf,
                                &len, NULL);
        if (rc != TOYKV_OK) return rc;
    }
    return TOYKV_OK;
}

// toykv_get, which hands out a malloc'ed copy, freed with toykv_free (what a C program that
// keeps the value does; Go's Get allocates its copy in Go memory instead).
static int get_loop(toykv_db *db, const char *keys, size_t key_len, size_t nkeys, size_t n) {
    for (size_t i = 0; i < n; i++) {
        void *value;
        size_t len;
        int rc = toykv_get(db, key_at(keys, key_len, nkeys, i), key_len, &value, &len, NULL);
        if (rc != TOYKV_OK) return rc;
        toykv_free(value);
    }
    return TOYKV_OK;
}

static int put_loop(toykv_db *db, const char *keys, size_t key_len, size_t nkeys,
                    const char *value, size_t value_len, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int rc = toykv_put(db, key_at(keys, key_len, nkeys, i), key_len, value, value_len, NULL);
        if (rc != TOYKV_OK) return rc;
    }
    return TOYKV_OK;
}

// n cursor steps over the whole database, each copying key and value out (as Go's Next does),
// reopening the cursor at the end.
static int cursor_loop(toykv_db *db, size_t n) {
    toykv_cursor *c = NULL;
    char key[256], value[1024];
    int rc = TOYKV_OK;
    for (size_t i = 0; i < n;) {
        if (c == NULL && (rc = toykv_cursor_open(db, NULL, 0, NULL, 0, &c, NULL)) != TOYKV_OK) {
            break;
        }
        const void *k, *v;
        size_t kl, vl;
        rc = toykv_cursor_next(c, &k, &kl, &v, &vl, NULL);
        if (rc == TOYKV_END) {
            toykv_cursor_close(c);
            c = NULL;
            continue;
        }
        if (rc != TOYKV_OK) break;
        memcpy(key, k, kl < sizeof key ? kl : sizeof key);
        memcpy(value, v, vl < sizeof value ? vl : sizeof value);
        i++;
    }
    toykv_cursor_close(c);
    return rc == TOYKV_END ? TOYKV_OK : rc;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// The loops take the database as the raw toykv_db pointer of an open toykv.DB, and the keys
// as one slice of nkeys keys of keyLen bytes each, used round robin.

func check(what string, rc C.int) error {
	if rc != C.TOYKV_OK {
		return fmt.Errorf("cbench %s: status %d", what, int(rc))
	}
	return nil
}

// Noop is one cgo call to an empty C function (declared nocallback, as the binding's hot
// calls are): the floor under every call the binding makes.
func Noop() { C.noop() }

func GetInto(db unsafe.Pointer, keys []byte, keyLen, n int) error {
	return check("get_into", C.get_into_loop((*C.toykv_db)(db), (*C.char)(unsafe.Pointer(&keys[0])),
		C.size_t(keyLen), C.size_t(len(keys)/keyLen), C.size_t(n)))
}

func Get(db unsafe.Pointer, keys []byte, keyLen, n int) error {
	return check("get", C.get_loop((*C.toykv_db)(db), (*C.char)(unsafe.Pointer(&keys[0])),
		C.size_t(keyLen), C.size_t(len(keys)/keyLen), C.size_t(n)))
}

func Put(db unsafe.Pointer, keys []byte, keyLen int, value []byte, n int) error {
	return check("put", C.put_loop((*C.toykv_db)(db), (*C.char)(unsafe.Pointer(&keys[0])),
		C.size_t(keyLen), C.size_t(len(keys)/keyLen), (*C.char)(unsafe.Pointer(&value[0])),
		C.size_t(len(value)), C.size_t(n)))
}

func CursorSteps(db unsafe.Pointer, n int) error {
	return check("cursor", C.cursor_loop((*C.toykv_db)(db), C.size_t(n)))
}
