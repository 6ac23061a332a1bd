package toykv_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"toykv"
)

// Many goroutines on one DB, each owning a key prefix, mixing every kind of call; the final
// state is what each goroutine last wrote.
func TestManyGoroutinesOnOneDB(t *testing.T) {
	db, _ := openDB(t, &toykv.Options{MemtableBytes: 64 << 10})
	const workers, ops = 8, 400
	var wg sync.WaitGroup
	errs := make(chan error, workers+2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := func(i int) []byte { return fmt.Appendf(nil, "w%d/%05d", w, i) }
			b := db.NewBatch()
			for i := range ops {
				v := fmt.Appendf(nil, "%d-%d", w, i)
				var err error
				switch i % 4 {
				case 0, 1:
					err = db.Put(k(i), v)
				case 2:
					b.Reset()
					b.Put(k(i), v)
					b.Delete(k(i - 2)) // every key ≡ 0 mod 4 is deleted again
					err = db.Write(b)
				case 3:
					err = db.Put(k(i), v)
					if err == nil {
						var got []byte
						got, err = db.Get(k(i))
						if err == nil && string(got) != string(v) {
							err = fmt.Errorf("read %q back as %q", v, got)
						}
					}
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d op %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	// Two scanners: every entry a cursor returns is well formed and in order.
	var scans atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				var err error
				var prev []byte
				for k, v := range db.Range(nil, nil, &err) {
					if prev != nil && string(prev) >= string(k) {
						errs <- fmt.Errorf("scan out of order: %q then %q", prev, k)
						return
					}
					var w, i int
					if _, perr := fmt.Sscanf(string(v), "%d-%d", &w, &i); perr != nil {
						errs <- fmt.Errorf("scan: %q=%q: %v", k, v, perr)
						return
					}
					prev = k
				}
				if err != nil {
					errs <- err
					return
				}
				scans.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range workers {
		for i := range ops {
			k := fmt.Sprintf("w%d/%05d", w, i)
			if i%4 == 0 && i+2 < ops {
				wantAbsent(t, db.Get, k)
			} else {
				wantValue(t, db.Get, k, fmt.Sprintf("%d-%d", w, i))
			}
		}
	}
	if scans.Load() != 40 {
		t.Fatalf("%d scans finished, want 40", scans.Load())
	}
}

// Close while goroutines are inside calls: Close waits for them, every call returns nil or
// ErrClosed, nothing crashes, and every acknowledged write is there after reopening.
func TestCloseWhileCallsAreInFlight(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := toykv.Open(dir, &toykv.Options{MemtableBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	const workers = 6
	acked := make([]atomic.Int64, workers) // per worker: how many puts returned nil
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				switch w {
				case 0: // scans and snapshot reads
					for range db.Range(nil, nil, &err) {
					}
					if err == nil {
						_, err = snap.Get(key(0))
						if errors.Is(err, toykv.ErrNotFound) {
							err = nil
						}
					}
				case 1:
					if i%50 == 0 {
						err = db.Flush()
					} else {
						_, err = db.Property("toykv.stats")
					}
				default:
					err = db.Put(fmt.Appendf(nil, "w%d/%08d", w, i), []byte("v"))
					if err == nil {
						acked[w].Store(int64(i + 1))
					}
				}
				if errors.Is(err, toykv.ErrClosed) {
					return
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		}()
	}
	// Close once every writer is well under way (or after 10 s, which the test then reports).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		busy := true
		for w := 2; w < workers; w++ {
			busy = busy && acked[w].Load() >= 100
		}
		if busy {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	snap.Close()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	db, err = toykv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for w := 2; w < workers; w++ {
		n := int(acked[w].Load())
		if n == 0 {
			t.Fatalf("worker %d got no write in before Close", w)
		}
		for _, i := range []int{0, n / 2, n - 1} {
			wantValue(t, db.Get, fmt.Sprintf("w%d/%08d", w, i), "v")
		}
	}
}

func TestEveryMethodOfAClosedDBReturnsErrClosed(t *testing.T) {
	db, _ := openDB(t, nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	get := func() error { _, err := db.Get([]byte("k")); return err }
	getInto := func() error { _, err := db.GetInto([]byte("k"), make([]byte, 8)); return err }
	property := func() error { _, err := db.Property("toykv.stats"); return err }
	cursor := func() error { _, err := db.NewCursor(nil, nil); return err }
	snapshot := func() error { _, err := db.Snapshot(); return err }
	for name, call := range map[string]func() error{
		"Get": get, "GetInto": getInto, "Property": property, "NewCursor": cursor, "Snapshot": snapshot,
		"Put":     func() error { return db.Put([]byte("k"), nil) },
		"Delete":  func() error { return db.Delete([]byte("k")) },
		"Write":   func() error { return db.Write(db.NewBatch()) },
		"Sync":    db.Sync,
		"Flush":   db.Flush,
		"Compact": db.Compact,
		"Checkpoint": func() error {
			return db.Checkpoint(filepath.Join(t.TempDir(), "cp"))
		},
	} {
		e := wantCode(t, call(), toykv.ErrClosed)
		if e.Message != "database is closed" {
			t.Errorf("%s: message %q", name, e.Message)
		}
	}
}
