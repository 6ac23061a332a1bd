package toykv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"toykv"
)

// batchKey is key j of writer w's batch i.
func batchKey(w, i, j int) []byte { return fmt.Appendf(nil, "w%d/%06d/%d", w, i, j) }

// TestCheckpointWhileGoroutinesWrite takes a checkpoint while four goroutines write
// three-key batches: it holds every batch acknowledged before the call, each batch whole,
// and none written after it returned but the one whose acknowledgement was on its way.
func TestCheckpointWhileGoroutinesWrite(t *testing.T) {
	db, _ := openDB(t, &toykv.Options{MemtableBytes: 64 << 10})
	const writers, keysPerBatch = 4, 3
	var acked [writers]atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := db.NewBatch()
			for i := 0; !stop.Load(); i++ {
				b.Reset()
				for j := range keysPerBatch {
					b.Put(batchKey(w, i, j), fmt.Appendf(nil, "%d", i))
				}
				if err := db.Write(b); err != nil {
					errs <- err
					return
				}
				acked[w].Store(int64(i + 1))
			}
		}()
	}
	for acked[0].Load() < 500 && len(errs) == 0 {
		runtime.Gosched()
	}
	var before, after [writers]int64
	for w := range writers {
		before[w] = acked[w].Load()
	}
	cp := filepath.Join(t.TempDir(), "cp")
	err := db.Checkpoint(cp)
	for w := range writers {
		after[w] = acked[w].Load()
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}

	restored, err := toykv.Open(cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	for w := range writers {
		held := 0
		for k, v := range restored.Range(fmt.Appendf(nil, "w%d/", w), fmt.Appendf(nil, "w%d0", w), &err) {
			i, j := held/keysPerBatch, held%keysPerBatch
			if string(k) != string(batchKey(w, i, j)) || string(v) != fmt.Sprint(i) {
				t.Fatalf("writer %d: entry %d is %q=%q, want %q", w, held, k, v, batchKey(w, i, j))
			}
			held++
		}
		if err != nil {
			t.Fatal(err)
		}
		if held%keysPerBatch != 0 {
			t.Fatalf("writer %d: %d keys, not whole batches", w, held)
		}
		if n := int64(held / keysPerBatch); n < before[w] || n > after[w]+1 {
			t.Fatalf("writer %d: %d batches, %d acknowledged before the call, %d after", w, n, before[w], after[w])
		}
	}
}

func TestCheckpointIsIndependentAndRefusesAnExistingDirectory(t *testing.T) {
	db, dir := openDB(t, nil)
	mustPut(t, db, "k", "before")
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "memtable", "only")
	cp := filepath.Join(t.TempDir(), "backups", "cp")
	if err := db.Checkpoint(cp); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "k", "after")

	wantCode(t, db.Checkpoint(cp), toykv.ErrInvalidArgument)
	wantCode(t, db.Checkpoint(dir), toykv.ErrInvalidArgument)
	wantCode(t, db.Checkpoint("with\x00nul"), toykv.ErrInvalidArgument)
	wantCode(t, db.Checkpoint(""), toykv.ErrInvalidArgument)
	// A file where a parent should be: I/O, and nothing left behind.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.Checkpoint(filepath.Join(file, "cp")), toykv.ErrIO)

	restored, err := toykv.Open(cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	wantValue(t, restored.Get, "k", "before")
	wantValue(t, restored.Get, "memtable", "only")
	mustPut(t, restored, "restored", "yes")
	wantAbsent(t, db.Get, "restored")
	wantValue(t, db.Get, "k", "after")
}
