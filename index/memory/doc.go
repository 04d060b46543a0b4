// Package memory is Shoal's embedded [index.VectorStore]: exact nearest
// neighbour search (and, with [WithHNSW], approximate search on a graph)
// over vectors held in memory, either in memory only
// ([New]) or persisted to a directory ([Open]) so that every acknowledged
// write survives a crash. It needs no server and no cloud account, which
// makes it the default store, the store of tests, and the storage behind
// the fake servers of Shoal's backends.
//
//	s, err := memory.Open(ctx, "/var/lib/shoal/pool")
//	...
//	defer s.Close()
//	err = s.Upsert(ctx, "fashion-v3", records)
//	matches, err := s.Query(ctx, index.Query{Namespace: "fashion-v3", Vector: q, TopK: 10})
//
// A [Store] also implements [index.Namespacer] and [index.Counter].
//
// # Search
//
// Each namespace keeps its vectors in one contiguous float32 slab (an ID→slot
// map finds a record; a delete moves the last record into the freed slot), so
// a query streams through memory in order. A query scores every record with
// the kernels of internal/vecmath, keeps the best in a bounded heap and
// evaluates the metadata filter ([index.Filter.Match]) only for records that
// score well enough to enter it. Records with equal scores rank by ID (the
// smaller first), whatever the order they were written in, how the scan was
// split or whether the store was reopened. A namespace of at least
// [DefaultParallelThreshold] records is split across goroutines, one heap
// each, merged at the end. Scores follow [index.Metric]: under Cosine the
// store keeps each vector as given (Fetch returns what was upserted) with its
// precomputed inverse norm, and scores the normalised query against it.
//
// # Approximate search
//
// With [WithHNSW], a namespace of at least [WithHNSWThreshold] records also
// has an HNSW graph (Malkov & Yashunin, arXiv:1603.09320), and an unfiltered
// query walks it: a beam search of width efSearch ([WithEfSearch] per query)
// from the top level down, visiting a few thousand records instead of all.
// The graph is the store's own code (hnsw.go), not github.com/coder/hnsw:
// node n is slot n of the namespace's slab, so the graph holds no copy of
// the vectors, only its links, in flat arrays (2M neighbours a node at level
// 0, M at the few upper levels); the walk scores with the scan's kernels.
// A bulk Upsert links its records from [WithParallelism] goroutines, each
// locking one node's list at a time. Under a graph a delete leaves a
// tombstone (its slot keeps the vector, so walks pass through it, but it is
// never returned); a record re-upserted with another vector is a tombstone
// and a new node; once tombstones outnumber records the namespace is
// compacted and its graph built again. The records a walk finds are scored
// again by the scan's formula, so scores, and ties ranked by ID, are exact;
// only which records are found is approximate. [Store.QueryWith] with
// [WithExact] scans instead.
//
// A filtered query estimates the share of records its filter matches from
// 512 evenly spaced records: from 5 % up it walks the graph, passing through
// records the filter rejects and keeping the ones it matches; below, it
// scans. If the walk finds fewer than TopK matches (matches it cannot reach),
// the query scans, so a filter never silently returns fewer than TopK
// matches when TopK exist.
//
// [WithHNSWInt8] makes the walk read one byte per dimension (scalar
// quantisation, a range per dimension) instead of four; the candidates are
// rescored on the float32 vectors, which stay in memory.
//
// [Store.QueryBatch] answers many queries in one call: the exact ones as a
// blocked matrix product (one pass over the slab for a block of queries),
// the graph ones in parallel.
//
// # Persistence
//
// A persistent store keeps two files in its directory, both versioned and
// checksummed (CRC-32C): store.snap, a snapshot of every record, and
// store.wal, a write-ahead log of the Upserts and Deletes made since. A write
// is applied in memory and appended to the log under the store's lock, and
// synced (one fsync covering every write appended by then) before the call
// returns. When the log outgrows [WithCompactionThreshold] and the snapshot,
// the store writes a new snapshot to a temporary file, syncs it, renames it
// into place and empties the log in place (cut to its header, which then
// takes the snapshot's generation); generation numbers in both headers tell
// a log that the snapshot already covers. Emptying in place needs no free
// space, so a compaction that found room for its snapshot finishes on a
// nearly full disk, and a store reopens on a full one.
//
// Why a log and a snapshot rather than an embedded key-value store such as
// bbolt: a store of this kind must hold every vector in memory anyway to
// search it, so the disk only needs to replay history, not serve reads. An
// append-only log makes a write one sequential append and one fsync (shared
// by concurrent writers), and loading is one sequential read of the snapshot
// and the log; a B+tree would add a page-level copy of every vector, random
// writes and a dependency, and buy nothing the search uses. The format is
// small enough to specify in a page (see codec.go) and to fuzz.
//
// Metadata is stored with a type tag per value, so an int64 comes back as an
// int64 and a float64 as a float64 after a reload.
//
// A namespace's graph is saved in the snapshot after its records (see
// hnsw_file.go): levels, links, tombstones with their vectors, and the int8
// ranges, in checksummed entries of at most a few MiB; Open reads it back
// instead of building it, checks it (node count, list lengths, neighbours in
// range, the entry point's level: a damaged graph is a [*CorruptError],
// never a wrong result), then replays the log on top, linking the logged
// records in. A graph saved with another m, or with or without int8 codes
// when the store is opened the other way, is built again.
//
// On Open, a final log entry cut short by a crash (its write never returned,
// so it was never acknowledged) is dropped and cut from the file. Any other
// damage — a checksum that fails before the end of the log, a malformed entry,
// a wrong magic number or version, a snapshot cut short — fails Open with a
// [*CorruptError] naming the file and byte offset; the store never drops
// acknowledged data on its own. A lock file (flock) keeps a second store,
// in this process or another, from opening the same directory.
//
// # Errors
//
// Calls return the errors of package index: an [*index.ItemError] naming the
// record for a bad record or ID (wrapping [index.ErrInvalidID],
// [index.ErrInvalidVector] — which includes an all-zero vector under Cosine —
// [index.ErrDimension] or [index.ErrInvalidMetadata]); [index.ErrInvalidArgument]
// for a bad option (naming it), a nil context, a bad namespace name or query;
// [index.ErrClosed] after Close; the context's error when ctx is done before
// the call starts its work.
// [Open] fails with a [*CorruptError] (errors.Is(err, index.ErrCorrupt)) for
// damaged files and with [ErrLocked] when another store holds the directory.
// If writing or syncing the log fails, that call returns the I/O error and
// every later write is refused until the store is reopened, since the log's
// tail is then unknown; queries keep working. A failed compaction is not the
// error of the write that started it; [Store.Close] reports it (and a failed
// log), so that a full disk does not go unnoticed. I/O errors name the file
// by its real path (an *fs.PathError).
package memory
