package toykv_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"

	"toykv"
)

func fill(t testing.TB, db *toykv.DB, keys ...string) {
	t.Helper()
	for _, k := range keys {
		mustPut(t, db, k, "v"+k)
	}
}

func TestCursorBounds(t *testing.T) {
	db, _ := openDB(t, nil)
	fill(t, db, "d", "a", "c", "", "b", "e\xff", "e")
	cases := []struct {
		name       string
		start, end []byte
		want       []string
	}{
		{"unbounded", nil, nil, []string{"", "a", "b", "c", "d", "e", "e\xff"}},
		{"start", []byte("c"), nil, []string{"c", "d", "e", "e\xff"}},
		{"end is exclusive", nil, []byte("c"), []string{"", "a", "b"}},
		{"both", []byte("b"), []byte("e"), []string{"b", "c", "d"}},
		{"empty start is the empty key", []byte{}, []byte("a"), []string{""}},
		{"empty end is an empty range", nil, []byte{}, nil},
		{"start after end", []byte("d"), []byte("b"), nil},
		{"start equals end", []byte("b"), []byte("b"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := db.NewCursor(tc.start, tc.end)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := collect(t, c)
			if !slices.Equal(keysOf(got), tc.want) {
				t.Fatalf("keys %q, want %q", keysOf(got), tc.want)
			}
			for _, p := range got {
				if p.value != "v"+p.key {
					t.Fatalf("value of %q is %q", p.key, p.value)
				}
			}
		})
	}
	wantCode(t, openCursorErr(db, make([]byte, toykv.MaxKeyLen+1), nil), toykv.ErrInvalidArgument)
}

func openCursorErr(db *toykv.DB, start, end []byte) error {
	c, err := db.NewCursor(start, end)
	if err == nil {
		c.Close()
	}
	return err
}

func TestCursorSeekAndEnd(t *testing.T) {
	db, _ := openDB(t, nil)
	fill(t, db, "a", "b", "c", "d", "e")
	c, err := db.NewCursor([]byte("b"), []byte("e"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Key() != nil || c.Value() != nil {
		t.Fatal("Key/Value before the first Next are not nil")
	}
	if err := c.Seek([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(collect(t, c)); !slices.Equal(got, []string{"c", "d"}) {
		t.Fatalf("after Seek(c): %q", got)
	}
	if c.Next() || c.Key() != nil || c.Err() != nil {
		t.Fatal("Next after the end must stay false with no error")
	}
	// Seek revives an ended cursor; before the range start means the start.
	if err := c.Seek([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if !c.Next() || string(c.Key()) != "b" || string(c.Value()) != "vb" {
		t.Fatalf("after Seek(a): %q", c.Key())
	}
	if err := c.Seek([]byte("z")); err != nil {
		t.Fatal(err)
	}
	if c.Next() {
		t.Fatalf("after Seek past the range: %q", c.Key())
	}
	wantCode(t, c.Seek(make([]byte, toykv.MaxKeyLen+1)), toykv.ErrInvalidArgument)
}

func TestCursorKeyIsValidUntilNext(t *testing.T) {
	db, _ := openDB(t, nil)
	fill(t, db, "a", "")
	c, err := db.NewCursor(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Next() || c.Key() == nil || len(c.Key()) != 0 {
		t.Fatalf("the empty key must be a non-nil empty slice, got %#v", c.Key())
	}
	if !c.Next() {
		t.Fatal(c.Err())
	}
	kept := bytes.Clone(c.Key())
	if string(kept) != "a" || string(c.Value()) != "va" {
		t.Fatalf("second entry %q=%q", c.Key(), c.Value())
	}
}

// A cursor reads the snapshot taken when it opened, whatever writers, flushes and
// compactions do meanwhile.
func TestCursorIsolationUnderConcurrentWrites(t *testing.T) {
	db, _ := openDB(t, &toykv.Options{MemtableBytes: 64 << 10})
	const n = 3000
	for i := range n {
		if err := db.Put(key(i), []byte("original")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := db.NewCursor(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var wg sync.WaitGroup
	stop := make(chan struct{})
	writerErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewSource(1))
		for round := 0; ; round++ {
			select {
			case <-stop:
				writerErr <- nil
				return
			default:
			}
			i := rng.Intn(2 * n)
			var err error
			switch {
			case round%500 == 499:
				err = db.Flush()
			case round%3 == 0:
				err = db.Delete(key(i))
			default:
				err = db.Put(key(i), []byte(fmt.Sprint("new", round)))
			}
			if err != nil {
				writerErr <- err
				return
			}
		}
	}()
	var got []pair
	for c.Next() {
		got = append(got, pair{string(c.Key()), string(c.Value())})
		if len(got) == n/2 {
			if err := db.Compact(); err != nil {
				t.Error(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("the cursor returned %d entries, want the %d present when it opened", len(got), n)
	}
	for i, p := range got {
		if p.key != string(key(i)) || p.value != "original" {
			t.Fatalf("entry %d is %q=%q, want %q=original", i, p.key, p.value, key(i))
		}
	}
}

func TestCursorCloseAndUseAfterClose(t *testing.T) {
	db, _ := openDB(t, nil)
	fill(t, db, "a")
	c, err := db.NewCursor(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c.Next() {
		t.Fatal("Next on a closed cursor returned true")
	}
	wantCode(t, c.Err(), toykv.ErrClosed)
	wantCode(t, c.Seek([]byte("a")), toykv.ErrClosed)
}

// Closing the database under an open cursor is allowed: the cursor finishes from its snapshot
// or reports ErrClosed, and still has to be closed.
func TestCursorOutlivesItsDatabase(t *testing.T) {
	db, _ := openDB(t, nil)
	for i := range 100 {
		if err := db.Put(key(i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := db.NewCursor(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Next() {
		t.Fatal(c.Err())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	n := 1
	for c.Next() {
		n++
	}
	cerr := c.Err()
	if cerr != nil && !errors.Is(cerr, toykv.ErrClosed) {
		t.Fatalf("after the database closed: %v", cerr)
	}
	if cerr == nil && n != 100 {
		t.Fatalf("finished from the snapshot with %d entries, want 100", n)
	}
	c.Close()
	_, err = db.NewCursor(nil, nil)
	wantCode(t, err, toykv.ErrClosed)
}

// Close may come from another goroutine while one steps the cursor: it waits for the step in
// flight, and the stepping goroutine then sees ErrClosed (the race detector checks the rest).
func TestCursorClosedFromAnotherGoroutine(t *testing.T) {
	db, _ := openDB(t, nil)
	const n = 20_000
	b := db.NewBatch()
	for i := range n {
		b.Put(key(i), []byte("v"))
	}
	if err := db.Write(b); err != nil {
		t.Fatal(err)
	}
	c, err := db.NewCursor(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan int)
	go func() {
		steps := 0
		for c.Next() {
			if steps++; steps == 100 {
				close(started)
			}
		}
		done <- steps
	}()
	<-started
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	steps := <-done
	if steps == n {
		t.Skip("the cursor reached the end before Close: nothing left to check")
	}
	wantCode(t, c.Err(), toykv.ErrClosed)
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRange(t *testing.T) {
	db, _ := openDB(t, nil)
	fill(t, db, "a", "b", "c", "d")
	var err error
	var kept [][]byte
	for k, v := range db.Range([]byte("b"), nil, &err) {
		if string(v) != "v"+string(k) {
			t.Fatalf("%q=%q", k, v)
		}
		kept = append(kept, k) // copies: safe to keep
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%q", kept); got != `["b" "c" "d"]` {
		t.Fatalf("Range(b, nil) = %s", got)
	}

	n := 0
	for range db.Range(nil, nil, &err) {
		n++
		if n == 2 {
			break
		}
	}
	if err != nil || n != 2 {
		t.Fatalf("stopping early: n = %d, err = %v", n, err)
	}

	for range db.Range(make([]byte, toykv.MaxKeyLen+1), nil, &err) {
		t.Fatal("an invalid range yielded")
	}
	wantCode(t, err, toykv.ErrInvalidArgument)

	defer func() {
		if recover() == nil {
			t.Fatal("Range with a nil error pointer did not panic")
		}
	}()
	db.Range(nil, nil, nil)
}

func TestRangeOnClosedDatabase(t *testing.T) {
	db, _ := openDB(t, nil)
	fill(t, db, "a")
	db.Close()
	var err error
	for range db.Range(nil, nil, &err) {
		t.Fatal("a closed database yielded")
	}
	wantCode(t, err, toykv.ErrClosed)
}
