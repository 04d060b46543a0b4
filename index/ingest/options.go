package ingest

import (
	"log/slog"
	"time"

	"github.com/shoalhq/shoal/internal/errs"
)

// Defaults of [Run].
const (
	// DefaultBatchSize is the items per batch: one Fetch, at most one
	// Encode and one Upsert call per batch (capped at the encoder's
	// Info().MaxBatch).
	DefaultBatchSize = 64
	// DefaultConcurrency is the encoder calls at once.
	DefaultConcurrency = 8
	// DefaultCheckpointInterval is the least time between two writes of
	// the checkpoint file.
	DefaultCheckpointInterval = time.Second
	// KeepDeadLetters is how many dead letters (and duplicate IDs) a
	// [Summary] keeps; the counts are always exact, and
	// [WithDeadLetters] sees every one.
	KeepDeadLetters = 100
)

// Option tunes [Run] (and [Migrate], which passes its options to Run).
// Each option checks its value; an unusable one makes Run return an error
// wrapping [ErrInvalidOption] that names it.
type Option func(*config) error

type rates struct{ requests, items float64 }

type config struct {
	batchSize, concurrency int
	encRate, storeRate     rates
	attempts               int
	baseDelay, maxDelay    time.Duration
	checkpoint             string
	checkpointEvery        time.Duration
	deadLetters            func(DeadLetter)
	progress               func(Progress)
	logger                 *slog.Logger
	total                  int
	removeMissing          bool

	// Migrate's own options (migrate.go); Run refuses them.
	migrateOnly  string // the name of the first one given
	deleteOld    bool
	newNamespace string
}

func newConfig(opts []Option) (config, error) {
	c := config{batchSize: DefaultBatchSize, concurrency: DefaultConcurrency, checkpointEvery: DefaultCheckpointInterval}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

func invalid(format string, args ...any) error {
	return errs.Errorf("ingest", ErrInvalidOption, format, args...)
}

// WithBatchSize sets the items per batch (default [DefaultBatchSize];
// capped at the encoder's Info().MaxBatch). A batch is one Fetch, at most
// one Encode and one Upsert call.
func WithBatchSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("WithBatchSize(%d): want at least 1", n)
		}
		c.batchSize = n
		return nil
	}
}

// WithConcurrency sets the most encoder calls at once (default
// [DefaultConcurrency]); twice as many batches are in flight, so that the
// store's Fetch and Upsert calls overlap the encoder's. It is also where
// the adaptive concurrency starts, and its ceiling: throttling lowers it
// and success raises it back (AIMD).
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("WithConcurrency(%d): want at least 1", n)
		}
		c.concurrency = n
		return nil
	}
}

func checkRate(name string, requests, items float64) error {
	if !(requests >= 0) || !(items >= 0) {
		return invalid("%s(%v, %v): want rates ≥ 0 (0: no limit)", name, requests, items)
	}
	return nil
}

// WithEncoderRate caps the encoder's calls per second and items per second
// (default: 0 and 0, no cap). Set them a little under the service's quota
// (for Vertex AI, requests per minute ÷ 60).
func WithEncoderRate(requestsPerSecond, itemsPerSecond float64) Option {
	return func(c *config) error {
		if err := checkRate("WithEncoderRate", requestsPerSecond, itemsPerSecond); err != nil {
			return err
		}
		c.encRate = rates{requestsPerSecond, itemsPerSecond}
		return nil
	}
}

// WithStoreRate caps the store's calls per second (Fetch, Upsert, Delete
// alike) and records per second (default: no cap).
func WithStoreRate(requestsPerSecond, itemsPerSecond float64) Option {
	return func(c *config) error {
		if err := checkRate("WithStoreRate", requestsPerSecond, itemsPerSecond); err != nil {
			return err
		}
		c.storeRate = rates{requestsPerSecond, itemsPerSecond}
		return nil
	}
}

// WithRetry sets the attempts per call (first included; default 5) and the
// backoff's base and cap (defaults 100ms and 10s; 0 means the default). A
// retry-after hint from the service is always honoured (up to the cap).
// A call still failing with a retryable error after the last attempt ends
// the run (resumable); a permanent error makes dead letters.
func WithRetry(attempts int, base, max time.Duration) Option {
	return func(c *config) error {
		if attempts < 1 || base < 0 || max < 0 || (max > 0 && max < base) {
			return invalid("WithRetry(%d, %v, %v): want attempts ≥ 1 and 0 ≤ base ≤ max", attempts, base, max)
		}
		c.attempts, c.baseDelay, c.maxDelay = attempts, base, max
		return nil
	}
}

// WithCheckpoint keeps the source position in the file at path (default:
// none), written atomically (temporary file, fsync, rename) at most once
// per [DefaultCheckpointInterval] and when the run stops. A run that finds
// the file skips that many source items without fetching or encoding
// them; a run that completes removes it. The file names the namespace,
// the model and the ID of the last item it covers: a run whose namespace
// or model differs, or whose source has another ID at that position, is
// refused (delete the file to start over).
func WithCheckpoint(path string) Option {
	return func(c *config) error {
		if path == "" {
			return invalid("WithCheckpoint(\"\"): want a file path")
		}
		c.checkpoint = path
		return nil
	}
}

// WithDeadLetters has fn called, from one goroutine at a time, for each
// item that failed for good (default: they are counted in the [Summary],
// which keeps the first [KeepDeadLetters], and logged with [WithLogger]).
func WithDeadLetters(fn func(DeadLetter)) Option {
	return func(c *config) error {
		if fn == nil {
			return invalid("WithDeadLetters(nil)")
		}
		c.deadLetters = fn
		return nil
	}
}

// WithProgress has fn called, from one goroutine at a time, as batches
// settle (at most 10 times a second) and once at the end (default: none).
func WithProgress(fn func(Progress)) Option {
	return func(c *config) error {
		if fn == nil {
			return invalid("WithProgress(nil)")
		}
		c.progress = fn
		return nil
	}
}

// WithLogger logs progress at Info level every 10 seconds and at the end,
// dead letters and duplicates at Warn (default: none).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return invalid("WithLogger(nil)")
		}
		c.logger = l
		return nil
	}
}

// WithTotal tells the run how many items the source holds, for
// [Progress.ETA] (default 0: unknown, no ETA).
func WithTotal(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return invalid("WithTotal(%d): want 0 (unknown) or more", n)
		}
		c.total = n
		return nil
	}
}

// WithRemoveMissing makes a run that reads the whole source without a
// fatal error delete the namespace's records whose IDs the source no
// longer has (default: off; nothing is ever deleted). It keeps every
// source ID in memory (about 50 bytes plus the ID each) and scans the
// namespace once at the end.
func WithRemoveMissing() Option {
	return func(c *config) error {
		c.removeMissing = true
		return nil
	}
}
