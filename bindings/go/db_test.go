package toykv_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"toykv"
)

func TestPutGetDeleteRoundTrip(t *testing.T) {
	db, _ := openDB(t, nil)
	mustPut(t, db, "a", "1")
	mustPut(t, db, "b\x00\xff", "binary\x00value")
	wantValue(t, db.Get, "a", "1")
	wantValue(t, db.Get, "b\x00\xff", "binary\x00value")
	mustPut(t, db, "a", "2")
	wantValue(t, db.Get, "a", "2")
	if err := db.Delete([]byte("a")); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, db.Get, "a")
	if err := db.Delete([]byte("never written")); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
}

func TestEmptyKeyAndEmptyValueArePresent(t *testing.T) {
	db, _ := openDB(t, nil)
	if err := db.Put(nil, []byte("under the empty key")); err != nil {
		t.Fatal(err)
	}
	wantValue(t, db.Get, "", "under the empty key")
	if err := db.Put([]byte("k"), nil); err != nil {
		t.Fatal(err)
	}
	v, err := db.Get([]byte("k"))
	if err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get of an empty value = %#v, %v; want a non-nil empty slice", v, err)
	}
	n, err := db.GetInto([]byte("k"), nil)
	if err != nil || n != 0 {
		t.Fatalf("GetInto of an empty value into a nil buffer = %d, %v", n, err)
	}
}

func TestGetCopiesValuesOfEverySize(t *testing.T) {
	db, _ := openDB(t, nil)
	// Around the 1 KiB stack buffer, and well past it.
	for _, size := range []int{1, 1023, 1024, 1025, 4096, 300_000} {
		value := bytes.Repeat([]byte{byte(size)}, size)
		k := []byte("size" + strconv.Itoa(size))
		if err := db.Put(k, value); err != nil {
			t.Fatal(err)
		}
		got, err := db.Get(k)
		if err != nil || !bytes.Equal(got, value) {
			t.Fatalf("size %d: Get = %d bytes, %v", size, len(got), err)
		}
		if cap(got) != size {
			t.Errorf("size %d: Get returned a slice of capacity %d, want exactly %d", size, cap(got), size)
		}
		got[0] ^= 0xff // the caller owns the copy
		again, _ := db.Get(k)
		if !bytes.Equal(again, value) {
			t.Fatalf("size %d: changing a returned value changed the database", size)
		}
	}
}

func TestPutCopiesItsArguments(t *testing.T) {
	db, _ := openDB(t, nil)
	k, v := []byte("key"), []byte("value")
	if err := db.Put(k, v); err != nil {
		t.Fatal(err)
	}
	k[0], v[0] = 'X', 'X'
	wantValue(t, db.Get, "key", "value")
}

func TestGetIntoFitsReportsSizeOrAbsence(t *testing.T) {
	db, _ := openDB(t, nil)
	mustPut(t, db, "k", "twelve bytes")
	buf := make([]byte, 64)
	n, err := db.GetInto([]byte("k"), buf)
	if err != nil || string(buf[:n]) != "twelve bytes" {
		t.Fatalf("GetInto = %q, %v", buf[:n], err)
	}
	small := []byte("untouched")
	n, err = db.GetInto([]byte("k"), small[:4])
	e := wantCode(t, err, toykv.ErrBufferTooSmall)
	if n != 12 || string(small) != "untouched" {
		t.Fatalf("too small: n = %d (want 12), buffer %q (want untouched)", n, small)
	}
	if !strings.Contains(e.Message, "12") {
		t.Errorf("message %q does not give the size needed", e.Message)
	}
	if _, err := db.GetInto([]byte("absent"), buf); !errors.Is(err, toykv.ErrNotFound) {
		t.Fatalf("GetInto of an absent key: %v", err)
	}
}

func TestGetIntoDoesNotAllocate(t *testing.T) {
	db, _ := openDB(t, nil)
	mustPut(t, db, "k", "value")
	buf := make([]byte, 16)
	k := []byte("k")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := db.GetInto(k, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("GetInto made %.1f allocations per call, want 0", allocs)
	}
	// Get: only the returned copy.
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := db.Get(k); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Fatalf("Get made %.1f allocations per call, want 1 (the value)", allocs)
	}
}

func TestLimitsAreInvalidArgument(t *testing.T) {
	db, _ := openDB(t, nil)
	long := make([]byte, toykv.MaxKeyLen+1)
	e := wantCode(t, db.Put(long, nil), toykv.ErrInvalidArgument)
	if !strings.Contains(e.Message, "key") || e.Code != toykv.CodeInvalidArgument {
		t.Errorf("error %+v does not name the key", e)
	}
	wantCode(t, db.Delete(long), toykv.ErrInvalidArgument)
	_, err := db.Get(long)
	wantCode(t, err, toykv.ErrInvalidArgument)
	if err := db.Put(long[:toykv.MaxKeyLen], []byte("at the limit")); err != nil {
		t.Fatalf("a key of exactly MaxKeyLen: %v", err)
	}
	wantCode(t, db.Put([]byte("k"), make([]byte, toykv.MaxValueLen+1)), toykv.ErrInvalidArgument)
}

func TestReopenKeepsWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := toykv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "kept", "yes")
	mustPut(t, db, "deleted", "no")
	if err := db.Delete([]byte("deleted")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = toykv.Open(dir, &toykv.Options{ErrorIfMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wantValue(t, db.Get, "kept", "yes")
	wantAbsent(t, db.Get, "deleted")
}

func TestOpenOptions(t *testing.T) {
	base := t.TempDir()
	_, err := toykv.Open(filepath.Join(base, "missing"), &toykv.Options{ErrorIfMissing: true})
	wantCode(t, err, toykv.ErrInvalidArgument)

	dir := filepath.Join(base, "db")
	opts := &toykv.Options{MemtableBytes: 64 << 10, BlockBytes: 1024, BloomBitsPerKey: 16,
		BlockCacheBytes: 1 << 20}
	db, err := toykv.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open with every option set: %v", err)
	}
	for i := range 2000 { // several memtables' worth with a 64 KiB memtable
		if err := db.Put(key(i), bytes.Repeat([]byte("v"), 100)); err != nil {
			t.Fatal(err)
		}
	}
	wantValue(t, db.Get, string(key(1234)), strings.Repeat("v", 100))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = toykv.Open(dir, &toykv.Options{SyncWrites: true}) // an fsync per write: a few only
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := db.Put(key(i), []byte("synced")); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	_, err = toykv.Open(dir, &toykv.Options{ErrorIfExists: true})
	wantCode(t, err, toykv.ErrInvalidArgument)

	db, err = toykv.Open(dir, &toykv.Options{NoBloomFilter: true, NoBlockCache: true})
	if err != nil {
		t.Fatalf("Open without filter and cache: %v", err)
	}
	wantValue(t, db.Get, string(key(7)), strings.Repeat("v", 100))
	wantValue(t, db.Get, string(key(0)), "synced")
	db.Close()

	e := wantCode(t, openErr(dir, &toykv.Options{MemtableBytes: -1}), toykv.ErrInvalidArgument)
	if !strings.Contains(e.Message, "MemtableBytes") {
		t.Errorf("message %q does not name the option", e.Message)
	}
	// Rejected by the library, whose message names the option.
	e = wantCode(t, openErr(dir, &toykv.Options{BlockBytes: 1 << 30}), toykv.ErrInvalidArgument)
	if !strings.Contains(e.Message, "block") {
		t.Errorf("message %q does not name the option", e.Message)
	}
	wantCode(t, openErr(dir, &toykv.Options{BloomBitsPerKey: 1000}), toykv.ErrInvalidArgument)
}

func TestCompactionTuningOptions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	tuned := &toykv.Options{MemtableBytes: 16 << 10, L0CompactionTrigger: 2,
		L0SlowdownTrigger: 3, L0StopTrigger: 5, Level1Bytes: 64 << 10, LevelSizeRatio: 4,
		TargetFileBytes: 32 << 10, MaxManifestBytes: 4096,
		SoftPendingCompactionBytes: 1 << 20, HardPendingCompactionBytes: 4 << 20,
		MaxOpenFiles: 2}
	db, err := toykv.Open(dir, tuned)
	if err != nil {
		t.Fatalf("Open with every tuning option set: %v", err)
	}
	for i := range 3000 {
		if err := db.Put(key(i), bytes.Repeat([]byte("t"), 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Property("toykv.compaction-pending"); err != nil || v != "0" {
		t.Fatalf("toykv.compaction-pending after Compact = %q, %v", v, err)
	}
	db.Close()
	// The pending-byte limits turned off.
	db, err = toykv.Open(dir, &toykv.Options{NoPendingCompactionSlowdown: true,
		NoPendingCompactionStop: true})
	if err != nil {
		t.Fatalf("Open without pending-byte limits: %v", err)
	}
	wantValue(t, db.Get, string(key(2999)), strings.Repeat("t", 100))
	db.Close()
	// Each bad value is refused at open, naming the option (the binding's name when it
	// cannot be passed to C, the library's otherwise).
	for _, c := range []struct {
		opts *toykv.Options
		name string
	}{
		{&toykv.Options{L0StopTrigger: 7}, "l0_stop_trigger"},
		{&toykv.Options{L0SlowdownTrigger: 2_000_000}, "l0_slowdown_trigger"},
		{&toykv.Options{LevelSizeRatio: 1}, "level_size_ratio"},
		{&toykv.Options{SoftPendingCompactionBytes: 2, HardPendingCompactionBytes: 1},
			"soft_pending_compaction_bytes"},
		{&toykv.Options{Level1Bytes: -1}, "Level1Bytes"},
		{&toykv.Options{MaxOpenFiles: -1}, "MaxOpenFiles"},
	} {
		e := wantCode(t, openErr(dir, c.opts), toykv.ErrInvalidArgument)
		if !strings.Contains(e.Message, c.name) {
			t.Errorf("message %q does not name %s", e.Message, c.name)
		}
	}
}

func openErr(dir string, opts *toykv.Options) error {
	db, err := toykv.Open(dir, opts)
	if err == nil {
		db.Close()
	}
	return err
}

func TestOpenTwiceIsLocked(t *testing.T) {
	_, dir := openDB(t, nil)
	_, err := toykv.Open(dir, nil)
	wantCode(t, err, toykv.ErrLocked)
}

func TestPathWithNULIsInvalid(t *testing.T) {
	_, err := toykv.Open(t.TempDir()+"/a\x00b", nil)
	wantCode(t, err, toykv.ErrInvalidArgument)
}

func TestSyncFlushCompactAndProperties(t *testing.T) {
	db, _ := openDB(t, nil)
	level0 := func() int {
		t.Helper()
		v, err := db.Property("toykv.num-files-at-level0")
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("num-files-at-level0 = %q: %v", v, err)
		}
		return n
	}
	for round := range 2 {
		for i := range 100 {
			if err := db.Put(key(i), []byte{byte(round)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if n := level0(); n != 2 {
		t.Fatalf("after two flushes level 0 holds %d files, want 2", n)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if n := level0(); n != 0 {
		t.Fatalf("after Compact level 0 holds %d files, want 0", n)
	}
	tables, err := db.Property("toykv.sstables")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(strings.TrimSpace(tables), "\n") + 1; lines != 1 ||
		!strings.Contains(tables, ".sst") {
		t.Fatalf("toykv.sstables after a full compaction = %q, want one .sst line", tables)
	}
	stats, err := db.Property("toykv.stats")
	if err != nil || stats == "" {
		t.Fatalf("toykv.stats = %q, %v", stats, err)
	}
	// A byte count: how far behind compaction is (0 when nothing is due).
	if v, err := db.Property("toykv.compaction-pending"); err != nil {
		t.Fatalf("toykv.compaction-pending: %v", err)
	} else if n, perr := strconv.ParseUint(v, 10, 64); perr != nil {
		t.Fatalf("toykv.compaction-pending = %q, not a byte count (%v), n = %d", v, perr, n)
	}
	wantValue(t, db.Get, string(key(42)), "\x01")
	_, err = db.Property("toykv.no-such-property")
	wantCode(t, err, toykv.ErrInvalidArgument)
}

func TestDestroy(t *testing.T) {
	db, dir := openDB(t, nil)
	mustPut(t, db, "k", "v")
	wantCode(t, toykv.Destroy(dir), toykv.ErrLocked)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := toykv.Destroy(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the directory is still there after Destroy: %v", err)
	}
	if err := toykv.Destroy(dir); err != nil {
		t.Fatalf("Destroy of a missing directory: %v", err)
	}
}

func TestVersion(t *testing.T) {
	if v := toykv.Version(); !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Fatalf("Version() = %q", v)
	}
}
