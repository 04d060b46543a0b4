package memory

import (
	"cmp"
	"fmt"
	"runtime"

	"github.com/shoalhq/shoal/index"
)

// Defaults of the options.
const (
	// DefaultMetric is the metric of a store created without [WithMetric].
	DefaultMetric = index.Cosine
	// DefaultCompactionThreshold is the write-ahead log size, in bytes, past
	// which a persistent store rewrites its snapshot (see
	// [WithCompactionThreshold]).
	DefaultCompactionThreshold = 64 << 20
	// DefaultParallelThreshold is the namespace size, in records, from which
	// a query is split across goroutines (see [WithParallelThreshold]).
	DefaultParallelThreshold = 4096

	// DefaultHNSWM is the number of neighbours per node of [WithHNSW]'s
	// graph (twice as many on its lowest level) when m is 0.
	DefaultHNSWM = 16
	// DefaultHNSWEfConstruction is the beam width of inserts into
	// [WithHNSW]'s graph when efConstruction is 0.
	DefaultHNSWEfConstruction = 200
	// DefaultHNSWEfSearch is the beam width of queries of [WithHNSW]'s graph
	// when efSearch is 0, chosen with examples/annbench: at 64, recall@10 is
	// 0.998 on Fashion-MNIST under L2 and 0.994 under Cosine (60,000 × 784,
	// m 16, efConstruction 200), where 256 costs 2.5× the time for 0.001
	// more. Uniform random vectors are a hard case that needs more: 0.74 at
	// 64, 0.89 at 128, 0.977 at 256 (20,000 × 64-d); set efSearch, or
	// [WithEfSearch] per query, for such data.
	DefaultHNSWEfSearch = 64
	// DefaultHNSWThreshold is the namespace size, in records, from which
	// [WithHNSW]'s graph answers queries (see [WithHNSWThreshold]).
	DefaultHNSWThreshold = 10_000
)

// Option configures [New] or [Open]. Each option checks its own value: a
// bad one makes the constructor fail with an error wrapping
// [index.ErrInvalidArgument] that names the option, and so does an option
// for persistent stores ([WithSync], [WithCompactionThreshold]) given to
// New.
type Option func(*config) error

type config struct {
	persistent   bool // for Open, not New
	metric       index.Metric
	metricSet    bool
	dim          int
	dimSet       bool
	sync         bool
	compactAt    int64
	workers      int
	parallelRows int
	fs           fileSystem
	hnsw         hnswParams // off while hnsw.m is 0
	hnswAt       bool       // WithHNSWThreshold given
	hnswInt8     bool       // WithHNSWInt8 given
}

func defaultConfig() config {
	return config{
		metric:       DefaultMetric,
		sync:         true,
		compactAt:    DefaultCompactionThreshold,
		workers:      runtime.GOMAXPROCS(0),
		parallelRows: DefaultParallelThreshold,
		fs:           osFS{},
		hnsw:         hnswParams{threshold: DefaultHNSWThreshold},
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{index.ErrInvalidArgument}, args...)...)
}

func buildConfig(opts []Option, persistent bool) (config, error) {
	c := defaultConfig()
	c.persistent = persistent
	for i, o := range opts {
		if o == nil {
			return c, invalid("memory option %d is nil", i)
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if c.hnswAt && !c.hnsw.on() {
		return c, invalid("memory.WithHNSWThreshold applies to a store with memory.WithHNSW")
	}
	if c.hnswInt8 && !c.hnsw.on() {
		return c, invalid("memory.WithHNSWInt8 applies to a store with memory.WithHNSW")
	}
	return c, nil
}

// persistentOnly refuses an option of persistent stores given to New.
func (c *config) persistentOnly(name string) error {
	if !c.persistent {
		return invalid("memory.%s applies to a persistent store (Open), not to New", name)
	}
	return nil
}

// WithMetric sets how vectors are compared (default [DefaultMetric], that is
// [index.Cosine]). Under Cosine a vector whose elements are all zero is
// rejected with [index.ErrInvalidVector].
//
// A persistent store remembers its metric: [Open] without WithMetric uses the
// stored one, and Open with a different metric fails with
// [index.ErrInvalidArgument].
func WithMetric(m index.Metric) Option {
	return func(c *config) error {
		if !m.Valid() {
			return invalid("memory.WithMetric(%v): unknown metric", m)
		}
		c.metric, c.metricSet = m, true
		return nil
	}
}

// WithDimension fixes the length of every vector in the store, in every
// namespace. By default (or with n == 0) there is no store-wide dimension and
// each namespace's dimension is fixed by its first Upsert (and freed again
// when its last record is deleted).
//
// A persistent store remembers its dimension as it does its metric.
func WithDimension(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return invalid("memory.WithDimension(%d): want 0 (none) or more", n)
		}
		c.dim, c.dimSet = n, true
		return nil
	}
}

// WithSync sets whether a persistent store fsyncs its write-ahead log before
// an Upsert or Delete returns (default true). With false, acknowledged writes
// survive a crash of the process but not necessarily of the machine; the log
// is still synced on Close and at compaction. For [Open] only.
func WithSync(on bool) Option {
	return func(c *config) error {
		if err := c.persistentOnly("WithSync"); err != nil {
			return err
		}
		c.sync = on
		return nil
	}
}

// WithCompactionThreshold sets the write-ahead log size, in bytes, past which
// a persistent store writes a new snapshot of its contents and starts an
// empty log (default [DefaultCompactionThreshold], 64 MiB). The log is
// compacted only once it is also larger than the last snapshot, so that
// rewriting costs amortised constant time per write. 0 turns automatic
// compaction off ([Store.Compact] still works). For [Open] only.
func WithCompactionThreshold(bytes int64) Option {
	return func(c *config) error {
		if err := c.persistentOnly("WithCompactionThreshold"); err != nil {
			return err
		}
		if bytes < 0 {
			return invalid("memory.WithCompactionThreshold(%d): want 0 (off) or more", bytes)
		}
		c.compactAt = bytes
		return nil
	}
}

// WithParallelism sets how many goroutines share the scan of one large
// namespace in a query (default runtime.GOMAXPROCS(0) at construction).
func WithParallelism(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("memory.WithParallelism(%d): want at least 1", n)
		}
		c.workers = n
		return nil
	}
}

// WithParallelThreshold sets the namespace size, in records, from which a
// query is split across goroutines (default [DefaultParallelThreshold], 4096).
// Smaller namespaces are scanned by the calling goroutine alone, which is
// faster when the scan is short.
func WithParallelThreshold(records int) Option {
	return func(c *config) error {
		if records < 1 {
			return invalid("memory.WithParallelThreshold(%d): want at least 1", records)
		}
		c.parallelRows = records
		return nil
	}
}

// maxHNSWM bounds m: 512 neighbours a node (1,024 at level 0) is far past
// any useful graph (hnswlib's guidance is 2–100) and keeps a node's links
// within 4 KiB.
const maxHNSWM = 512

// WithHNSW turns on approximate search: each namespace of at least
// [WithHNSWThreshold] records ([DefaultHNSWThreshold], 10,000) gets an HNSW
// graph (hierarchical navigable small world), built as records are upserted
// (a bulk Upsert on [WithParallelism] goroutines), and a query walks it
// instead of scanning every record. m is the number of neighbours per node
// (twice as many on the lowest level; default [DefaultHNSWM], 16; 2 to
// 512), efConstruction the beam width of inserts (default
// [DefaultHNSWEfConstruction], 200; at least m) and efSearch
// that of queries (default [DefaultHNSWEfSearch]; a query with a larger
// TopK uses TopK, and [WithEfSearch] sets it per query); 0 means the
// default. Larger values find more of the true nearest records at the cost
// of time.
//
// The records a query returns are scored as exact search scores them, with
// ties ranked by ID, but some of the true top records may be missed. A
// deleted record is never returned. A filtered query walks the graph when
// the filter matches at least 5 % of the records and scans exactly
// otherwise; either way it returns TopK matches whenever that many exist.
// [WithExact] makes one query exact. Without WithHNSW (the default) every
// query is exact.
//
// A persistent store saves the graphs in its snapshot, so [Open] reads them
// rather than building them again (see the package documentation).
func WithHNSW(m, efConstruction, efSearch int) Option {
	return func(c *config) error {
		switch {
		case m == 1 || m < 0:
			return invalid("memory.WithHNSW: m %d, want 0 (default) or at least 2", m)
		case efConstruction < 0:
			return invalid("memory.WithHNSW: efConstruction %d, want 0 (default) or more", efConstruction)
		case efSearch < 0:
			return invalid("memory.WithHNSW: efSearch %d, want 0 (default) or more", efSearch)
		case m > maxHNSWM:
			return invalid("memory.WithHNSW: m %d, want at most %d", m, maxHNSWM)
		case efConstruction > 0 && efConstruction < cmp.Or(m, DefaultHNSWM):
			return invalid("memory.WithHNSW: efConstruction %d is less than m %d: an insert could not find m neighbours", efConstruction, cmp.Or(m, DefaultHNSWM))
		}
		c.hnsw.m = cmp.Or(m, DefaultHNSWM)
		c.hnsw.efConstruction = cmp.Or(efConstruction, max(DefaultHNSWEfConstruction, c.hnsw.m))
		c.hnsw.efSearch = cmp.Or(efSearch, DefaultHNSWEfSearch)
		return nil
	}
}

// WithHNSWInt8 makes [WithHNSW]'s graph searches read int8 codes of the
// vectors (scalar quantisation with a range per dimension, learnt when a
// graph is built) instead of their float32 values: a quarter of the bytes
// per node visited. The candidates found are scored again on the float32
// vectors, so a query's scores stay exact; recall drops a little (the
// benchmark in examples/annbench measures it). The float32 vectors stay in
// memory (Fetch, exact scans and the rescoring read them), so memory grows by
// one byte per dimension per record. It needs WithHNSW.
func WithHNSWInt8() Option {
	return func(c *config) error {
		c.hnsw.int8, c.hnswInt8 = true, true
		return nil
	}
}

// WithHNSWThreshold sets the namespace size, in records, from which
// [WithHNSW]'s graph answers queries (default [DefaultHNSWThreshold],
// 10,000); smaller namespaces are scanned exactly, which is as fast there. A
// namespace gets its graph when it first reaches the threshold. 0 gives every
// namespace a graph. It needs WithHNSW.
func WithHNSWThreshold(records int) Option {
	return func(c *config) error {
		if records < 0 {
			return invalid("memory.WithHNSWThreshold(%d): want 0 or more", records)
		}
		c.hnsw.threshold, c.hnswAt = records, true
		return nil
	}
}
