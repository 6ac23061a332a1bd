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

	// Compaction tuning: 0 keeps the library's default. toykv.h documents each option and
	// its limits; Open fails with ErrInvalidArgument naming a bad value or combination.

	// L0CompactionTrigger is the number of L0 files that starts a compaction (default 4).
	L0CompactionTrigger int
	// L0SlowdownTrigger is the number of L0 files at which each write is delayed by about a
	// millisecond (default 8).
	L0SlowdownTrigger int
	// L0StopTrigger is the number of L0 files at which writes wait for compaction (default 12).
	L0StopTrigger int
	// Level1Bytes bounds the base level's target size: levels are sized from the bottom up,
	// each LevelSizeRatio times smaller, up to the first no larger than this (default 10 MiB).
	Level1Bytes int64
	// LevelSizeRatio is the growth factor between levels, at least 2 (default 10).
	LevelSizeRatio int64
	// TargetFileBytes is where compaction cuts its output files (default 2 MiB).
	TargetFileBytes int64
	// MaxManifestBytes is the size past which the manifest is rewritten as one snapshot
	// (default 4 MiB).
	MaxManifestBytes int64
	// SoftPendingCompactionBytes is how far behind compaction (in bytes still to write) may
	// fall before writes are slowed down (default 256 MiB).
	SoftPendingCompactionBytes int64
	// NoPendingCompactionSlowdown turns that slowdown off.
	NoPendingCompactionSlowdown bool
	// HardPendingCompactionBytes is how far behind compaction may fall before writes wait
	// for it (default 1 GiB).
	HardPendingCompactionBytes int64
	// NoPendingCompactionStop turns that stop off.
	NoPendingCompactionStop bool
	// MaxOpenFiles is how many sstables are kept open at once (default 1,000).
	MaxOpenFiles int
}

// toC builds the library's options object; the caller frees it with toykv_options_free. The
// library validates the values at open; the binding rejects only what C cannot express.
func (o *Options) toC() (*C.toykv_options, error) {
	var opts *C.toykv_options
	// Every numeric option: 0 keeps the library's default, and off (the option's No* field)
	// passes 0 instead of the value. (cgo lets no C function be a value: hence the closures.)
	numeric := []struct {
		name  string
		value int64
		off   bool
		set   func(v int64)
	}{
		{"MemtableBytes", int64(o.MemtableBytes), false,
			func(v int64) { C.toykv_options_set_memtable_bytes(opts, C.size_t(v)) }},
		{"BlockBytes", int64(o.BlockBytes), false,
			func(v int64) { C.toykv_options_set_block_bytes(opts, C.size_t(v)) }},
		{"BloomBitsPerKey", int64(o.BloomBitsPerKey), o.NoBloomFilter,
			func(v int64) { C.toykv_options_set_bloom_bits_per_key(opts, C.uint32_t(v)) }},
		{"BlockCacheBytes", int64(o.BlockCacheBytes), o.NoBlockCache,
			func(v int64) { C.toykv_options_set_block_cache_bytes(opts, C.size_t(v)) }},
		{"L0CompactionTrigger", int64(o.L0CompactionTrigger), false,
			func(v int64) { C.toykv_options_set_l0_compaction_trigger(opts, C.size_t(v)) }},
		{"L0SlowdownTrigger", int64(o.L0SlowdownTrigger), false,
			func(v int64) { C.toykv_options_set_l0_slowdown_trigger(opts, C.size_t(v)) }},
		{"L0StopTrigger", int64(o.L0StopTrigger), false,
			func(v int64) { C.toykv_options_set_l0_stop_trigger(opts, C.size_t(v)) }},
		{"Level1Bytes", o.Level1Bytes, false,
			func(v int64) { C.toykv_options_set_level1_bytes(opts, C.uint64_t(v)) }},
		{"LevelSizeRatio", o.LevelSizeRatio, false,
			func(v int64) { C.toykv_options_set_level_size_ratio(opts, C.uint64_t(v)) }},
		{"TargetFileBytes", o.TargetFileBytes, false,
			func(v int64) { C.toykv_options_set_target_file_bytes(opts, C.uint64_t(v)) }},
		{"MaxManifestBytes", o.MaxManifestBytes, false,
			func(v int64) { C.toykv_options_set_max_manifest_bytes(opts, C.uint64_t(v)) }},
		{"SoftPendingCompactionBytes", o.SoftPendingCompactionBytes, o.NoPendingCompactionSlowdown,
			func(v int64) { C.toykv_options_set_soft_pending_compaction_bytes(opts, C.uint64_t(v)) }},
		{"HardPendingCompactionBytes", o.HardPendingCompactionBytes, o.NoPendingCompactionStop,
			func(v int64) { C.toykv_options_set_hard_pending_compaction_bytes(opts, C.uint64_t(v)) }},
		{"MaxOpenFiles", int64(o.MaxOpenFiles), false,
			func(v int64) { C.toykv_options_set_max_open_files(opts, C.size_t(v)) }},
	}
	for _, f := range numeric {
		if f.value < 0 {
			return nil, &Error{Code: CodeInvalidArgument,
				Message: fmt.Sprintf("option %s is negative (%d)", f.name, f.value)}
		}
	}
	if uint64(o.BloomBitsPerKey) > uint64(^uint32(0)) {
		return nil, &Error{Code: CodeInvalidArgument,
			Message: fmt.Sprintf("option BloomBitsPerKey is too large (%d)", o.BloomBitsPerKey)}
	}
	opts = C.toykv_options_new()
	if opts == nil {
		return nil, &Error{Code: CodeInternal, Message: "out of memory creating options"}
	}
	C.toykv_options_set_create_if_missing(opts, C.bool(!o.ErrorIfMissing))
	C.toykv_options_set_error_if_exists(opts, C.bool(o.ErrorIfExists))
	C.toykv_options_set_sync_writes(opts, C.bool(o.SyncWrites))
	for _, f := range numeric {
		switch {
		case f.off:
			f.set(0)
		case f.value != 0:
			f.set(f.value)
		}
	}
	return opts, nil
}
