package toykv_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"toykv"
)

func TestSnapshotSeesTheDatabaseWhenTaken(t *testing.T) {
	db, _ := openDB(t, nil)
	fill(t, db, "a", "b", "c")
	big := bytes.Repeat([]byte("x"), 5000) // past the 1 KiB inline buffer
	if err := db.Put([]byte("big"), big); err != nil {
		t.Fatal(err)
	}
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	mustPut(t, db, "a", "changed")
	if err := db.Delete([]byte("b")); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "new", "v")
	if err := db.Put([]byte("big"), []byte("small now")); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}

	wantValue(t, snap.Get, "a", "va")
	wantValue(t, snap.Get, "b", "vb")
	wantAbsent(t, snap.Get, "new")
	got, err := snap.Get([]byte("big"))
	if err != nil || !bytes.Equal(got, big) || cap(got) != len(big) {
		t.Fatalf("snapshot Get of a 5000-byte value: %d bytes (cap %d), %v", len(got), cap(got), err)
	}
	wantValue(t, db.Get, "a", "changed")
	wantAbsent(t, db.Get, "b")

	c, err := snap.NewCursor([]byte("a"), []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(collect(t, c)); got != "[{a va} {b vb} {big "+string(big)+"}]" {
		t.Fatalf("snapshot cursor: %.80s", got)
	}
	c.Close()

	var rangeErr error
	var keys []string
	for k := range snap.Range(nil, nil, &rangeErr) {
		keys = append(keys, string(k))
	}
	if rangeErr != nil || fmt.Sprint(keys) != "[a b big c]" {
		t.Fatalf("snapshot Range: %q, %v", keys, rangeErr)
	}
}

func TestSnapshotReadByManyGoroutinesWhileWritersRun(t *testing.T) {
	db, _ := openDB(t, &toykv.Options{MemtableBytes: 64 << 10})
	const n = 500
	for i := range n {
		if err := db.Put(key(i), []byte("before")); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := db.Put(key(i), fmt.Appendf(nil, "after%d", w)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				v, err := snap.Get(key(i))
				if err != nil || string(v) != "before" {
					errs <- fmt.Errorf("snapshot Get(%s) = %q, %v", key(i), v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestSnapshotCloseAndDatabaseClose(t *testing.T) {
	db, _ := openDB(t, nil)
	fill(t, db, "a")
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c, err := snap.NewCursor(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if err := snap.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = snap.Get([]byte("a"))
	wantCode(t, err, toykv.ErrClosed)
	_, err = snap.NewCursor(nil, nil)
	wantCode(t, err, toykv.ErrClosed)
	// A cursor opened from the snapshot outlives it.
	if got := keysOf(collect(t, c)); fmt.Sprint(got) != "[a]" {
		t.Fatalf("cursor after its snapshot closed: %q", got)
	}
	c.Close()

	snap, err = db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = snap.Get([]byte("a"))
	wantCode(t, err, toykv.ErrClosed)
	snap.Close()
	_, err = db.Snapshot()
	wantCode(t, err, toykv.ErrClosed)
}
