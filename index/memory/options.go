package memory

import (
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
)

// Option configures [New] and [Open].
type Option func(*config)

type config struct {
	metric       index.Metric
	metricSet    bool
	dim          int
	dimSet       bool
	sync         bool
	compactAt    int64
	workers      int
	parallelRows int
	err          error
}

func defaultConfig() config {
	return config{
		metric:       DefaultMetric,
		sync:         true,
		compactAt:    DefaultCompactionThreshold,
		workers:      runtime.GOMAXPROCS(0),
		parallelRows: DefaultParallelThreshold,
	}
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("memory: %w: "+format, append([]any{index.ErrInvalidArgument}, args...)...)
	}
}

func buildConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c, c.err
}

// WithMetric sets how vectors are compared (default [index.Cosine]). Under
// Cosine a vector whose elements are all zero is rejected with
// [index.ErrInvalidVector].
//
// A persistent store remembers its metric: [Open] without WithMetric uses the
// stored one, and Open with a different metric fails with
// [index.ErrInvalidArgument].
func WithMetric(m index.Metric) Option {
	return func(c *config) {
		if !m.Valid() {
			c.fail("unknown metric %v", m)
			return
		}
		c.metric, c.metricSet = m, true
	}
}

// WithDimension fixes the length of every vector in the store, in every
// namespace. By default (or with n == 0) there is no store-wide dimension and
// each namespace's dimension is fixed by its first Upsert (and freed again
// when its last record is deleted).
//
// A persistent store remembers its dimension as it does its metric.
func WithDimension(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("dimension %d < 0", n)
			return
		}
		c.dim, c.dimSet = n, true
	}
}

// WithSync sets whether a persistent store fsyncs its write-ahead log before
// an Upsert or Delete returns (default true). With false, acknowledged writes
// survive a crash of the process but not necessarily of the machine; the log
// is still synced on Close and at compaction. In-memory stores ignore it.
func WithSync(on bool) Option {
	return func(c *config) { c.sync = on }
}

// WithCompactionThreshold sets the write-ahead log size, in bytes, past which
// a persistent store writes a new snapshot of its contents and starts an
// empty log (default [DefaultCompactionThreshold]). The log is compacted only
// once it is also larger than the last snapshot, so that rewriting costs
// amortised constant time per write. 0 turns automatic compaction off
// ([Store.Compact] still works). In-memory stores ignore it.
func WithCompactionThreshold(bytes int64) Option {
	return func(c *config) {
		if bytes < 0 {
			c.fail("compaction threshold %d < 0", bytes)
			return
		}
		c.compactAt = bytes
	}
}

// WithParallelism sets how many goroutines share the scan of one large
// namespace in a query (default runtime.GOMAXPROCS(0) at construction).
func WithParallelism(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("parallelism %d < 1", n)
			return
		}
		c.workers = n
	}
}

// WithParallelThreshold sets the namespace size, in records, from which a
// query is split across goroutines (default [DefaultParallelThreshold]).
// Smaller namespaces are scanned by the calling goroutine alone, which is
// faster when the scan is short.
func WithParallelThreshold(records int) Option {
	return func(c *config) {
		if records < 1 {
			c.fail("parallel threshold %d < 1", records)
			return
		}
		c.parallelRows = records
	}
}
