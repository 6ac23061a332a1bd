package toykv_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"toykv"
)

// openDB opens a fresh database in a temporary directory, closed when the test ends.
func openDB(t testing.TB, opts *toykv.Options) (*toykv.DB, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	db, err := toykv.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

func key(i int) []byte { return fmt.Appendf(nil, "key%08d", i) }

func mustPut(t testing.TB, db *toykv.DB, k, v string) {
	t.Helper()
	if err := db.Put([]byte(k), []byte(v)); err != nil {
		t.Fatalf("Put(%q): %v", k, err)
	}
}

// wantValue fails unless get returns exactly want.
func wantValue(t testing.TB, get func([]byte) ([]byte, error), k, want string) {
	t.Helper()
	got, err := get([]byte(k))
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", k, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", k, got, want)
	}
}

// wantAbsent fails unless get reports ErrNotFound.
func wantAbsent(t testing.TB, get func([]byte) ([]byte, error), k string) {
	t.Helper()
	if got, err := get([]byte(k)); !errors.Is(err, toykv.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", k, got, err)
	}
}

// wantCode fails unless err is an *toykv.Error with the sentinel's code.
func wantCode(t testing.TB, err, sentinel error) *toykv.Error {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want one matching %v", err, sentinel)
	}
	var e *toykv.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *toykv.Error", err, err)
	}
	return e
}

type pair struct{ key, value string }

// collect reads a cursor to its end.
func collect(t testing.TB, c *toykv.Cursor) []pair {
	t.Helper()
	var out []pair
	for c.Next() {
		out = append(out, pair{string(c.Key()), string(c.Value())})
	}
	if err := c.Err(); err != nil {
		t.Fatalf("cursor: %v", err)
	}
	return out
}

func keysOf(pairs []pair) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.key
	}
	return out
}
