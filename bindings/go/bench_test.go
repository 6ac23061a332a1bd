package toykv_test

import (
	"bytes"
	"fmt"
	"testing"

	"toykv"
	"toykv/internal/cbench"
)

// The benchmarks run each operation from Go through the binding ("go") and the same library
// calls from a C loop on the same database ("c", internal/cbench), so the difference is
// what crossing into C and back costs. The data set is examples/ffi_overhead.rs's: 10,000
// keys of 11 bytes ("key%08d") with 100-byte values, flushed to an sstable and read once so
// every block is in the cache.

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

func BenchmarkGet(b *testing.B) {
	db, keys := benchDB(b)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := db.Get(keyAt(keys, i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("c", func(b *testing.B) { // toykv_get: a malloc'ed copy, then toykv_free
		if err := cbench.Get(toykv.RawHandle(db), keys, keyLen, b.N); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkGetInto(b *testing.B) {
	db, keys := benchDB(b)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 1024)
		for i := 0; b.Loop(); i++ {
			if _, err := db.GetInto(keyAt(keys, i), buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("c", func(b *testing.B) {
		if err := cbench.GetInto(toykv.RawHandle(db), keys, keyLen, b.N); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkPut(b *testing.B) {
	db, keys := benchDB(b)
	value := bytes.Repeat([]byte("w"), 100)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := db.Put(keyAt(keys, i), value); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("c", func(b *testing.B) {
		if err := cbench.Put(toykv.RawHandle(db), keys, keyLen, value, b.N); err != nil {
			b.Fatal(err)
		}
	})
}

// One cursor step: the next key and value, copied out. The cursor is reopened at the end of
// the data set (one open per 10,000 steps).
func BenchmarkCursorStep(b *testing.B) {
	db, _ := benchDB(b)
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		var c *toykv.Cursor
		for b.Loop() {
			for c == nil || !c.Next() {
				if c != nil {
					if err := c.Close(); err != nil {
						b.Fatal(err)
					}
				}
				var err error
				if c, err = db.NewCursor(nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		c.Close()
	})
	b.Run("c", func(b *testing.B) {
		if err := cbench.CursorSteps(toykv.RawHandle(db), b.N); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("go-range", func(b *testing.B) { // Range: a fresh copy of each pair
		b.ReportAllocs()
		n := 0
		for n < b.N {
			var err error
			for range db.Range(nil, nil, &err) {
				if n++; n == b.N {
					break
				}
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBatchWrite(b *testing.B) {
	db, keys := benchDB(b)
	value := bytes.Repeat([]byte("w"), 100)
	for _, size := range []int{1, 100} {
		b.Run(fmt.Sprint(size, "ops"), func(b *testing.B) {
			b.ReportAllocs()
			batch := db.NewBatch()
			for i := 0; b.Loop(); i++ {
				batch.Reset()
				for j := range size {
					batch.Put(keyAt(keys, i*size+j), value)
				}
				if err := db.Write(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
