package toykv_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"toykv"
)

func TestErrorCarriesCodeAndMessage(t *testing.T) {
	db, _ := openDB(t, nil)
	_, err := db.Property("toykv.bogus")
	var e *toykv.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) is not a *toykv.Error", err, err)
	}
	if e.Code != toykv.CodeInvalidArgument || e.Message == "" {
		t.Fatalf("got %+v, want code InvalidArgument with the library's message", e)
	}
	if s := err.Error(); !strings.HasPrefix(s, "toykv: ") || !strings.Contains(s, e.Message) {
		t.Fatalf("Error() = %q", s)
	}
	if !errors.Is(err, toykv.ErrInvalidArgument) || errors.Is(err, toykv.ErrCorruption) {
		t.Fatal("errors.Is does not match by code")
	}
	// Wrapped errors still match.
	if !errors.Is(errors.Join(errors.New("context"), err), toykv.ErrInvalidArgument) {
		t.Fatal("a wrapped *Error does not match its sentinel")
	}
	for _, c := range []toykv.Code{toykv.CodeNotFound, toykv.CodeCorruption, toykv.CodeClosed} {
		if c.String() == "" {
			t.Fatalf("code %d has no description", c)
		}
	}
	if toykv.ErrNotFound.Error() != "toykv: "+toykv.CodeNotFound.String() {
		t.Fatalf("ErrNotFound.Error() = %q", toykv.ErrNotFound)
	}
}

// A flipped byte in an sstable's data block is reported as corruption naming the file.
func TestCorruptionNamesTheFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := toykv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if err := db.Put(key(i), []byte("some value to fill the blocks")); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) != 1 {
		t.Fatalf("want one sstable, found %q", tables)
	}
	data, err := os.ReadFile(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	data[100] ^= 0x40 // inside the first data block
	if err := os.WriteFile(tables[0], data, 0o644); err != nil {
		t.Fatal(err)
	}

	db, err = toykv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var scanErr error
	for range db.Range(nil, nil, &scanErr) {
	}
	e := wantCode(t, scanErr, toykv.ErrCorruption)
	if name := filepath.Base(tables[0]); !strings.Contains(e.Message, name) {
		t.Fatalf("message %q does not name %s", e.Message, name)
	}
	_, err = db.Get(key(0))
	wantCode(t, err, toykv.ErrCorruption)
}

// The cleanup is a safety net: a DB dropped without Close is closed once the collector finds
// it, which releases the directory's lock.
func TestLeakedDBIsClosedByTheCollector(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	func() {
		db, err := toykv.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Put([]byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		c, err := db.NewCursor(nil, nil) // leaked too; it keeps the DB reachable
		if err != nil {
			t.Fatal(err)
		}
		_ = c
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		db, err := toykv.Open(dir, nil)
		if err == nil {
			wantValue(t, db.Get, "k", "v")
			db.Close()
			return
		}
		if !errors.Is(err, toykv.ErrLocked) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the leaked DB still holds its lock after 10 s of garbage collection")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
