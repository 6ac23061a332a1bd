package toykv

// #include "shim.h"
import "C"

import (
	"encoding/binary"
	"fmt"
)

// Batch is a group of puts and deletes that [DB.Write] applies atomically. It is built in
// Go memory (no cgo call per operation) and handed to the library in one call at Write; it
// needs no Close. The zero value is an empty batch. A Batch must not be changed while a
// Write of it is running.
type Batch struct {
	ops   []byte // the encoding tkvgo_write_ops reads (shim.h); keys and values are copied in
	count int
}

// Put adds "set key to value". The bytes are copied. A key or value over the library's
// limits, or a batch over [MaxBatchBytes], makes the Write fail with [ErrInvalidArgument], and
// nothing of the batch is applied.
func (b *Batch) Put(key, value []byte) {
	b.ops = append(b.ops, C.TKVGO_OP_PUT)
	b.ops = binary.NativeEndian.AppendUint64(b.ops, uint64(len(key)))
	b.ops = binary.NativeEndian.AppendUint64(b.ops, uint64(len(value)))
	b.ops = append(b.ops, key...)
	b.ops = append(b.ops, value...)
	b.count++
}

// Delete adds "delete key". The bytes are copied.
func (b *Batch) Delete(key []byte) {
	b.ops = append(b.ops, C.TKVGO_OP_DELETE)
	b.ops = binary.NativeEndian.AppendUint64(b.ops, uint64(len(key)))
	b.ops = append(b.ops, key...)
	b.count++
}

// Len is the number of operations in the batch.
func (b *Batch) Len() int { return b.count }

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	b.ops = b.ops[:0]
	b.count = 0
}

// describe names operation index for an error message: its kind and sizes.
func (b *Batch) describe(index int) string {
	ops := b.ops
	for i := 0; len(ops) > 0; i++ {
		kind := ops[0]
		keyLen := binary.NativeEndian.Uint64(ops[1:])
		ops = ops[9:]
		var valueLen uint64
		if kind == C.TKVGO_OP_PUT {
			valueLen = binary.NativeEndian.Uint64(ops)
			ops = ops[8:]
		}
		if i == index {
			what := fmt.Sprintf("delete of a %d-byte key", keyLen)
			if kind == C.TKVGO_OP_PUT {
				what = fmt.Sprintf("put of a %d-byte key and a %d-byte value", keyLen, valueLen)
			}
			return fmt.Sprintf("batch operation %d (%s) was rejected: keys are limited to %d "+
				"bytes, values to %d, a batch to %d", i, what, MaxKeyLen, MaxValueLen, MaxBatchBytes)
		}
		ops = ops[keyLen+valueLen:]
	}
	return fmt.Sprintf("batch operation %d was rejected", index)
}
