package toykv_test

import (
	"bytes"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"toykv"
	"toykv/internal/cbench"
)

// The benchmarks run each operation from Go through the binding ("go") and the same library
// calls from a C loop on the same database ("c", internal/cbench), so the difference is
// what crossing into C and back costs. The data set is examples/ffi_overhead.rs's: 10,000
// keys of 11 bytes ("key%08d") with 100-byte values, flushed to an sstable and read once so
// every block is in the cache.
//
// Besides ns/op (wall clock) each reports cpu-ns/op: the CPU time per operation of the one
// OS thread that runs the loop (the goroutine is locked to it). A machine busy with other
// work inflates it much less than the wall clock (time spent descheduled is not in it), and
// the library's background flushes and compactions, which run on threads of their own, are
// not in it either; neither is the collector's work on other threads.

const benchKeys = 10_000

func benchDB(b *testing.B) (*toykv.DB, []byte) {
	b.Helper()
	db, _ := openDB(b, nil)
	var keys []byte
	value := bytes.Repeat([]byte("v"), 100)
	for i := range benchKeys {
		k := key(i)
		keys = append(keys, k...)
		if err := db.Put(k, value); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	for i := range benchKeys {
		if _, err := db.Get(key(i)); err != nil {
			b.Fatal(err)
		}
	}
	return db, keys
}

const keyLen = 11

func keyAt(keys []byte, i int) []byte {
	i %= benchKeys
	return keys[i*keyLen : (i+1)*keyLen]
}

// measure runs ops(b.N) on a reset timer and reports its CPU time per operation as well.
func measure(b *testing.B, ops func(n int) error) {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := cpuTime()
	b.ResetTimer()
	err := ops(b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user and system CPU time of the calling OS thread so far.
func cpuTime() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD (Linux), which package syscall does not name
	var u syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &u); err != nil {
		panic(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// What one cgo call to an empty C function costs: the floor under every binding call.
func BenchmarkCgoCall(b *testing.B) {
	measure(b, func(n int) error {
		for range n {
			cbench.Noop()
		}
		return nil
	})
}

func BenchmarkGet(b *testing.B) {
	db, keys := benchDB(b)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		measure(b, func(n int) error {
			for i := range n {
				if _, err := db.Get(keyAt(keys, i)); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("c", func(b *testing.B) { // toykv_get: a malloc'ed copy, then toykv_free
		measure(b, func(n int) error { return cbench.Get(toykv.RawHandle(db), keys, keyLen, n) })
	})
}

func BenchmarkGetInto(b *testing.B) {
	db, keys := benchDB(b)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 1024)
		measure(b, func(n int) error {
			for i := range n {
				if _, err := db.GetInto(keyAt(keys, i), buf); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("c", func(b *testing.B) {
		measure(b, func(n int) error { return cbench.GetInto(toykv.RawHandle(db), keys, keyLen, n) })
	})
}

func BenchmarkPut(b *testing.B) {
	db, keys := benchDB(b)
	value := bytes.Repeat([]byte("w"), 100)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		measure(b, func(n int) error {
			for i := range n {
				if err := db.Put(keyAt(keys, i), value); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("c", func(b *testing.B) {
		measure(b, func(n int) error {
			return cbench.Put(toykv.RawHandle(db), keys, keyLen, value, n)
		})
	})
}

// One cursor step: the next key and value, copied out. The cursor is reopened at the end of
// the data set (one open per 10,000 steps).
func BenchmarkCursorStep(b *testing.B) {
	db, _ := benchDB(b)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		measure(b, func(n int) error {
			var c *toykv.Cursor
			defer func() { c.Close() }()
			for range n {
				for c == nil || !c.Next() {
					if c != nil {
						if err := c.Close(); err != nil {
							return err
						}
					}
					var err error
					if c, err = db.NewCursor(nil, nil); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
	b.Run("c", func(b *testing.B) {
		measure(b, func(n int) error { return cbench.CursorSteps(toykv.RawHandle(db), n) })
	})
	b.Run("go-range", func(b *testing.B) { // Range: a fresh copy of each pair
		b.ReportAllocs()
		measure(b, func(n int) error {
			for done := 0; done < n; {
				var err error
				for range db.Range(nil, nil, &err) {
					if done++; done == n {
						break
					}
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func BenchmarkBatchWrite(b *testing.B) {
	db, keys := benchDB(b)
	value := bytes.Repeat([]byte("w"), 100)
	for _, size := range []int{1, 100} {
		b.Run(fmt.Sprint(size, "ops"), func(b *testing.B) {
			b.ReportAllocs()
			batch := db.NewBatch()
			measure(b, func(n int) error {
				for i := range n {
					batch.Reset()
					for j := range size {
						batch.Put(keyAt(keys, i*size+j), value)
					}
					if err := db.Write(batch); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}
