package toykv

import "iter"

// Range returns the entries of [start, end) (bounds as for [DB.NewCursor]) as a range
// function over a cursor opened when the loop starts and closed when it ends:
//
//	var err error
//	for key, value := range db.Range(nil, nil, &err) {
//		...
//	}
//	if err != nil { ... }
//
// Keys and values are fresh copies the loop body may keep. The error that ended the loop
// (opening the cursor, a closed database, a damaged file) is stored in *errp, nil when the
// range was read to its end or the body stopped early. errp must not be nil.
func (db *DB) Range(start, end []byte, errp *error) iter.Seq2[[]byte, []byte] {
	return rangeOver(func() (*Cursor, error) { return db.NewCursor(start, end) }, errp)
}

// Range is [DB.Range] as of the snapshot.
func (s *Snapshot) Range(start, end []byte, errp *error) iter.Seq2[[]byte, []byte] {
	return rangeOver(func() (*Cursor, error) { return s.NewCursor(start, end) }, errp)
}

func rangeOver(open func() (*Cursor, error), errp *error) iter.Seq2[[]byte, []byte] {
	if errp == nil {
		panic("toykv: Range needs somewhere to store its error (errp is nil)")
	}
	return func(yield func(key, value []byte) bool) {
		*errp = nil
		c, err := open()
		if err != nil {
			*errp = err
			return
		}
		defer c.Close()
		for {
			var key, value []byte
			// Copied straight from the library's memory, one allocation for both.
			found := c.advance(func(k, v []byte) {
				pair := make([]byte, len(k)+len(v))
				copy(pair, k)
				copy(pair[len(k):], v)
				key, value = pair[:len(k):len(k)], pair[len(k):]
			})
			if !found {
				*errp = c.Err()
				return
			}
			if !yield(key, value) {
				return
			}
		}
	}
}
