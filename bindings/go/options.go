package toykv

// #include "toykv.h"
import "C"

import "fmt"

// Options configure [Open]. The zero value (or a nil *Options) opens with the library's
// defaults: create the database if the directory holds none, no fsync per write, a 4 MiB
// memtable, 4 KiB blocks, a 10 bits-per-key bloom filter and an 8 MiB block cache.
type Options struct {
	// ErrorIfMissing fails Open (ErrInvalidArgument) when no database exists at the path,
	// instead of creating one.
	ErrorIfMissing bool
	// ErrorIfExists fails Open (ErrInvalidArgument) when a database already exists there.
	ErrorIfExists bool
	// SyncWrites fsyncs the write-ahead log before each write returns, so acknowledged writes
	// survive power loss; without it they survive a process crash, and power loss once
	// [DB.Sync] has returned.
	SyncWrites bool
	// MemtableBytes is the memtable size that triggers a flush (0: the default, 4 MiB; the
	// library rounds values below 16 KiB up).
	MemtableBytes int
	// BlockBytes is the target sstable data block size (0: the default, 4096).
	BlockBytes int
	// BloomBitsPerKey sizes the bloom filters (0: the default, 10, about 1% false positives).
	BloomBitsPerKey int
	// NoBloomFilter builds sstables without a bloom filter.
	NoBloomFilter bool
	// BlockCacheBytes is the block cache capacity (0: the default, 8 MiB).
	BlockCacheBytes int
	// NoBlockCache disables the block cache.
	NoBlockCache bool
}

// toC builds the library's options object; the caller frees it with toykv_options_free. The
// library validates the values at open; the binding rejects only what C cannot express.
func (o *Options) toC() (*C.toykv_options, error) {
	for _, f := range []struct {
		name  string
		value int
	}{
		{"MemtableBytes", o.MemtableBytes},
		{"BlockBytes", o.BlockBytes},
		{"BloomBitsPerKey", o.BloomBitsPerKey},
		{"BlockCacheBytes", o.BlockCacheBytes},
	} {
		if f.value < 0 {
			return nil, &Error{Code: CodeInvalidArgument,
				Message: fmt.Sprintf("option %s is negative (%d)", f.name, f.value)}
		}
	}
	if uint64(o.BloomBitsPerKey) > uint64(^uint32(0)) {
		return nil, &Error{Code: CodeInvalidArgument,
			Message: fmt.Sprintf("option BloomBitsPerKey is too large (%d)", o.BloomBitsPerKey)}
	}
	opts := C.toykv_options_new()
	if opts == nil {
		return nil, &Error{Code: CodeInternal, Message: "out of memory creating options"}
	}
	C.toykv_options_set_create_if_missing(opts, C.bool(!o.ErrorIfMissing))
	C.toykv_options_set_error_if_exists(opts, C.bool(o.ErrorIfExists))
	C.toykv_options_set_sync_writes(opts, C.bool(o.SyncWrites))
	if o.MemtableBytes != 0 {
		C.toykv_options_set_memtable_bytes(opts, C.size_t(o.MemtableBytes))
	}
	if o.BlockBytes != 0 {
		C.toykv_options_set_block_bytes(opts, C.size_t(o.BlockBytes))
	}
	switch {
	case o.NoBloomFilter:
		C.toykv_options_set_bloom_bits_per_key(opts, 0)
	case o.BloomBitsPerKey != 0:
		C.toykv_options_set_bloom_bits_per_key(opts, C.uint32_t(o.BloomBitsPerKey))
	}
	switch {
	case o.NoBlockCache:
		C.toykv_options_set_block_cache_bytes(opts, 0)
	case o.BlockCacheBytes != 0:
		C.toykv_options_set_block_cache_bytes(opts, C.size_t(o.BlockCacheBytes))
	}
	return opts, nil
}
