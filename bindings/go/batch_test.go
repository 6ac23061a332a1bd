package toykv_test

import (
	"strings"
	"testing"

	"toykv"
)

func TestBatchAppliesEveryOperation(t *testing.T) {
	db, _ := openDB(t, nil)
	mustPut(t, db, "old", "gone soon")
	b := db.NewBatch()
	b.Put([]byte("a"), []byte("1"))
	b.Put([]byte("b"), []byte("2"))
	b.Delete([]byte("old"))
	b.Put([]byte("c"), []byte("3"))
	b.Delete([]byte("c")) // later operations win
	b.Put(nil, nil)       // empty key, empty value
	if b.Len() != 6 {
		t.Fatalf("Len = %d, want 6", b.Len())
	}
	if err := db.Write(b); err != nil {
		t.Fatal(err)
	}
	wantValue(t, db.Get, "a", "1")
	wantValue(t, db.Get, "b", "2")
	wantAbsent(t, db.Get, "old")
	wantAbsent(t, db.Get, "c")
	wantValue(t, db.Get, "", "")
	if b.Len() != 6 {
		t.Fatalf("Write changed the batch: Len = %d", b.Len())
	}
}

func TestBatchCopiesItsArguments(t *testing.T) {
	db, _ := openDB(t, nil)
	var b toykv.Batch // the zero value is ready to use
	k, v := []byte("key"), []byte("value")
	b.Put(k, v)
	k[0], v[0] = 'X', 'X'
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
	wantValue(t, db.Get, "key", "value")
}

func TestBatchWithAnInvalidOperationAppliesNothing(t *testing.T) {
	db, _ := openDB(t, nil)
	b := db.NewBatch()
	b.Put([]byte("first"), []byte("1"))
	b.Delete([]byte("x"))
	b.Put(make([]byte, toykv.MaxKeyLen+1), []byte("v"))
	b.Put([]byte("last"), []byte("3"))
	e := wantCode(t, db.Write(b), toykv.ErrInvalidArgument)
	if !strings.Contains(e.Message, "operation 2") {
		t.Errorf("message %q does not name operation 2", e.Message)
	}
	wantAbsent(t, db.Get, "first")
	wantAbsent(t, db.Get, "last")

	b.Reset()
	b.Delete(make([]byte, toykv.MaxKeyLen+1))
	e = wantCode(t, db.Write(b), toykv.ErrInvalidArgument)
	if !strings.Contains(e.Message, "operation 0 (delete") {
		t.Errorf("message %q does not name the delete", e.Message)
	}
}

func TestBatchResetAndReuse(t *testing.T) {
	db, _ := openDB(t, nil)
	b := db.NewBatch()
	for round := range 3 {
		b.Reset()
		if b.Len() != 0 {
			t.Fatalf("Len after Reset = %d", b.Len())
		}
		b.Put([]byte("k"), []byte{byte('0' + round)})
		if err := db.Write(b); err != nil {
			t.Fatal(err)
		}
		wantValue(t, db.Get, "k", string(rune('0'+round)))
	}
	b.Reset()
	if err := db.Write(b); err != nil {
		t.Fatalf("writing an empty batch: %v", err)
	}
	wantCode(t, db.Write(nil), toykv.ErrInvalidArgument)
}
