package toykv_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"toykv"
)

// exampleDir is a fresh directory for an example's database.
func exampleDir() (string, func()) {
	base, err := os.MkdirTemp("", "toykv-example")
	if err != nil {
		log.Fatal(err)
	}
	return filepath.Join(base, "db"), func() { os.RemoveAll(base) }
}

// exampleDB opens a database in a fresh directory (as Example shows); done closes it and
// removes the directory.
func exampleDB() (db *toykv.DB, done func()) {
	path, cleanup := exampleDir()
	db, err := toykv.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	return db, func() { db.Close(); cleanup() }
}

func Example() {
	path, cleanup := exampleDir()
	defer cleanup()

	db, err := toykv.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if err := db.Put([]byte("apple"), []byte("red")); err != nil {
		log.Fatal(err)
	}
	value, err := db.Get([]byte("apple"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("apple = %s\n", value)

	_, err = db.Get([]byte("durian"))
	fmt.Println("durian absent:", errors.Is(err, toykv.ErrNotFound))
	// Output:
	// apple = red
	// durian absent: true
}

func ExampleDB_Range() {
	db, done := exampleDB()
	defer done()
	for _, fruit := range []string{"cherry", "apple", "banana", "date"} {
		db.Put([]byte(fruit), []byte(fmt.Sprint(len(fruit))))
	}

	var scanErr error
	for key, value := range db.Range([]byte("b"), []byte("d"), &scanErr) {
		fmt.Printf("%s has %s letters\n", key, value)
	}
	if scanErr != nil {
		log.Fatal(scanErr)
	}
	// Output:
	// banana has 6 letters
	// cherry has 6 letters
}

func ExampleDB_NewCursor() {
	db, done := exampleDB()
	defer done()
	for i := range 5 {
		db.Put(fmt.Appendf(nil, "user/%d", i), fmt.Appendf(nil, "name %d", i))
	}

	c, err := db.NewCursor([]byte("user/"), []byte("user0")) // every key with prefix "user/"
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Seek([]byte("user/3")); err != nil {
		log.Fatal(err)
	}
	for c.Next() {
		fmt.Printf("%s: %s\n", c.Key(), c.Value())
	}
	if err := c.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// user/3: name 3
	// user/4: name 4
}

func ExampleDB_Write() {
	db, done := exampleDB()
	defer done()
	db.Put([]byte("balance/alice"), []byte("10"))

	// Both changes land together or not at all, also across a crash.
	b := db.NewBatch()
	b.Delete([]byte("balance/alice"))
	b.Put([]byte("balance/bob"), []byte("10"))
	if err := db.Write(b); err != nil {
		log.Fatal(err)
	}
	_, err := db.Get([]byte("balance/alice"))
	bob, _ := db.Get([]byte("balance/bob"))
	fmt.Println(errors.Is(err, toykv.ErrNotFound), string(bob))
	// Output: true 10
}

func ExampleDB_Snapshot() {
	db, done := exampleDB()
	defer done()
	db.Put([]byte("k"), []byte("before"))

	snap, err := db.Snapshot()
	if err != nil {
		log.Fatal(err)
	}
	defer snap.Close()
	db.Put([]byte("k"), []byte("after"))

	then, _ := snap.Get([]byte("k"))
	now, _ := db.Get([]byte("k"))
	fmt.Printf("snapshot: %s, now: %s\n", then, now)
	// Output: snapshot: before, now: after
}

func ExampleDB_GetInto() {
	db, done := exampleDB()
	defer done()
	db.Put([]byte("k"), []byte("a value longer than eight bytes"))

	buf := make([]byte, 8)
	n, err := db.GetInto([]byte("k"), buf)
	if errors.Is(err, toykv.ErrBufferTooSmall) {
		buf = make([]byte, n) // n is the size needed
		n, err = db.GetInto([]byte("k"), buf)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", buf[:n])
	// Output: a value longer than eight bytes
}

func ExampleError() {
	path, cleanup := exampleDir()
	defer cleanup()
	db, err := toykv.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = toykv.Open(path, nil) // the directory is locked by db
	var e *toykv.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code == toykv.CodeLocked, errors.Is(err, toykv.ErrLocked))
	}
	db.Close()
	fmt.Println(errors.Is(db.Put([]byte("k"), nil), toykv.ErrClosed))
	// Output:
	// true true
	// true
}

func ExampleDB_Checkpoint() {
	db, done := exampleDB()
	defer done()
	if err := db.Put([]byte("apple"), []byte("red")); err != nil {
		log.Fatal(err)
	}

	// A backup taken while the program goes on; it is a database of its own.
	backups, err := os.MkdirTemp("", "toykv-backups")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(backups)
	backup := filepath.Join(backups, "today")
	if err := db.Checkpoint(backup); err != nil {
		log.Fatal(err)
	}
	if err := db.Put([]byte("apple"), []byte("green")); err != nil {
		log.Fatal(err)
	}
	restored, err := toykv.Open(backup, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer restored.Close()
	value, err := restored.Get([]byte("apple"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("apple in the backup = %s\n", value)
	// Output:
	// apple in the backup = red
}
