// A small program over the Go binding: writes a few records, reads them back by key, by
// range and through a snapshot, and shows the errors. Run from the repository:
//
//	make go-example                  # or, with PKG_CONFIG_PATH pointing at a toykv.pc:
//	cd examples/go && go run . /tmp/toykv-go-demo
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"toykv"
)

func main() {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("toykv-go-example-%d", os.Getpid()))
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := run(path); err != nil {
		log.Fatal(err)
	}
}

func run(path string) error {
	fmt.Printf("libtoykv %s, database in %s\n", toykv.Version(), path)
	db, err := toykv.Open(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()

	fruits := map[string]string{"apple": "red", "banana": "yellow", "cherry": "dark red", "date": "brown"}
	b := db.NewBatch()
	for name, colour := range fruits {
		b.Put([]byte("fruit/"+name), []byte(colour))
	}
	if err := db.Write(b); err != nil { // all four or none
		return err
	}

	colour, err := db.Get([]byte("fruit/cherry"))
	if err != nil {
		return err
	}
	fmt.Printf("cherry is %s\n", colour)
	if _, err := db.Get([]byte("fruit/kiwi")); errors.Is(err, toykv.ErrNotFound) {
		fmt.Println("no kiwi")
	}

	snap, err := db.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Close()
	if err := db.Delete([]byte("fruit/banana")); err != nil {
		return err
	}

	fmt.Println("fruit now:")
	var scanErr error
	for key, value := range db.Range([]byte("fruit/"), []byte("fruit0"), &scanErr) {
		fmt.Printf("  %s = %s\n", key, value)
	}
	if scanErr != nil {
		return scanErr
	}
	fmt.Println("fruit in the snapshot taken before the delete:")
	for key, value := range snap.Range([]byte("fruit/"), []byte("fruit0"), &scanErr) {
		fmt.Printf("  %s = %s\n", key, value)
	}
	if scanErr != nil {
		return scanErr
	}

	_, err = toykv.Open(path, nil) // the directory is locked by db
	var e *toykv.Error
	if errors.As(err, &e) {
		fmt.Printf("opening it twice: code %d (%v), %q\n", e.Code, e.Code, e.Message)
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Println("after Close:", db.Put([]byte("k"), nil))
	return toykv.Destroy(path)
}
