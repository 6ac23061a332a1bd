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
	for _, f := range []struct {
		name  string
		value int64
	}{
		{"MemtableBytes", int64(o.MemtableBytes)},
		{"BlockBytes", int64(o.BlockBytes)},
		{"BloomBitsPerKey", int64(o.BloomBitsPerKey)},
		{"BlockCacheBytes", int64(o.BlockCacheBytes)},
		{"L0CompactionTrigger", int64(o.L0CompactionTrigger)},
		{"L0SlowdownTrigger", int64(o.L0SlowdownTrigger)},
		{"L0StopTrigger", int64(o.L0StopTrigger)},
		{"Level1Bytes", o.Level1Bytes},
		{"LevelSizeRatio", o.LevelSizeRatio},
		{"TargetFileBytes", o.TargetFileBytes},
		{"MaxManifestBytes", o.MaxManifestBytes},
		{"SoftPendingCompactionBytes", o.SoftPendingCompactionBytes},
		{"HardPendingCompactionBytes", o.HardPendingCompactionBytes},
		{"MaxOpenFiles", int64(o.MaxOpenFiles)},
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
	if o.L0CompactionTrigger != 0 {
		C.toykv_options_set_l0_compaction_trigger(opts, C.size_t(o.L0CompactionTrigger))
	}
	if o.L0SlowdownTrigger != 0 {
		C.toykv_options_set_l0_slowdown_trigger(opts, C.size_t(o.L0SlowdownTrigger))
	}
	if o.L0StopTrigger != 0 {
		C.toykv_options_set_l0_stop_trigger(opts, C.size_t(o.L0StopTrigger))
	}
	if o.Level1Bytes != 0 {
		C.toykv_options_set_level1_bytes(opts, C.uint64_t(o.Level1Bytes))
	}
	if o.LevelSizeRatio != 0 {
		C.toykv_options_set_level_size_ratio(opts, C.uint64_t(o.LevelSizeRatio))
	}
	if o.TargetFileBytes != 0 {
		C.toykv_options_set_target_file_bytes(opts, C.uint64_t(o.TargetFileBytes))
	}
	if o.MaxManifestBytes != 0 {
		C.toykv_options_set_max_manifest_bytes(opts, C.uint64_t(o.MaxManifestBytes))
	}
	switch {
	case o.NoPendingCompactionSlowdown:
		C.toykv_options_set_soft_pending_compaction_bytes(opts, 0)
	case o.SoftPendingCompactionBytes != 0:
		C.toykv_options_set_soft_pending_compaction_bytes(opts, C.uint64_t(o.SoftPendingCompactionBytes))
	}
	switch {
	case o.NoPendingCompactionStop:
		C.toykv_options_set_hard_pending_compaction_bytes(opts, 0)
	case o.HardPendingCompactionBytes != 0:
		C.toykv_options_set_hard_pending_compaction_bytes(opts, C.uint64_t(o.HardPendingCompactionBytes))
	}
	if o.MaxOpenFiles != 0 {
		C.toykv_options_set_max_open_files(opts, C.size_t(o.MaxOpenFiles))
	}
	return opts, nil
}
