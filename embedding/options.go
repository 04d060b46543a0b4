package embedding

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/shoalhq/shoal/internal/batch"
)

// Option tunes a batched run: [EncodeAll] here, and index.UpsertAll, which
// takes the same options, so that the pipeline from inputs to a store is
// tuned with one set. Each option checks its value; an option that does not
// apply to the run it is given to (such as [WithAllowDuplicates] to
// EncodeAll) is an error that names it.
type Option func(*batch.Settings) error

// Progress is a snapshot of a run, passed to [WithProgress].
type Progress struct {
	// Done counts the items finished: inputs embedded (EncodeAll), or
	// records the store acknowledged (index.UpsertAll).
	Done int
	// Failed counts the items in batches that failed for good.
	Failed int
	// Retries counts batch attempts retried after a transient error.
	Retries int
	// Elapsed is the time since the run started.
	Elapsed time.Duration
}

// Defaults of [EncodeAll]; index.UpsertAll has its own (index.DefaultUpsertBatch).
const (
	DefaultBatchSize   = 32
	DefaultConcurrency = 4
)

// WithBatchSize sets the items per call: inputs per Encode call (default
// [DefaultBatchSize], capped at the encoder's Info().MaxBatch) or records
// per Upsert call (default index.DefaultUpsertBatch).
func WithBatchSize(n int) Option {
	return func(s *batch.Settings) error {
		if n < 1 {
			return fmt.Errorf("%w: WithBatchSize(%d): want at least 1", ErrInvalidOption, n)
		}
		s.Size = n
		return nil
	}
}

// WithMaxBatchBytes caps a batch's estimated size in bytes ([Input.Size],
// or a record's ID, 4 bytes per vector element and its metadata); an item
// larger on its own goes alone. Default, and 0: no cap beyond the
// encoder's Info().MaxBatchBytes.
func WithMaxBatchBytes(n int) Option {
	return func(s *batch.Settings) error {
		if n < 0 {
			return fmt.Errorf("%w: WithMaxBatchBytes(%d): want 0 (no cap) or more", ErrInvalidOption, n)
		}
		s.MaxBytes = n
		return nil
	}
}

// WithConcurrency sets how many calls run at once (default 4).
func WithConcurrency(n int) Option {
	return func(s *batch.Settings) error {
		if n < 1 {
			return fmt.Errorf("%w: WithConcurrency(%d): want at least 1", ErrInvalidOption, n)
		}
		s.Concurrency = n
		return nil
	}
}

// WithRetry sets the attempts per batch (first included; default 5) and the
// backoff's base and cap (defaults 100ms and 10s; a zero base or cap means
// the default). Only errors that [IsRetryable] reports are retried.
func WithRetry(attempts int, base, max time.Duration) Option {
	return func(s *batch.Settings) error {
		if attempts < 1 || base < 0 || max < 0 || (max > 0 && max < base) {
			return fmt.Errorf("%w: WithRetry(%d, %v, %v): want attempts ≥ 1 and 0 ≤ base ≤ max", ErrInvalidOption, attempts, base, max)
		}
		s.MaxAttempts, s.BaseDelay, s.MaxDelay = attempts, base, max
		return nil
	}
}

// WithProgress has fn called after each batch settles, from one goroutine
// at a time (the one ranging over EncodeAll's results; UpsertAll's caller).
func WithProgress(fn func(Progress)) Option {
	return func(s *batch.Settings) error {
		if fn == nil {
			return fmt.Errorf("%w: WithProgress(nil)", ErrInvalidOption)
		}
		s.Progress = func(p batch.Progress) {
			fn(Progress{Done: p.Done, Failed: p.Failed, Retries: p.Retries, Elapsed: p.Elapsed})
		}
		return nil
	}
}

// WithContinueOnError goes on past batches that fail for good: EncodeAll
// yields each input of such a batch with its error, UpsertAll returns all
// their errors joined. By default a run stops at the first.
func WithContinueOnError() Option {
	return func(s *batch.Settings) error {
		s.ContinueOnError = true
		return nil
	}
}

// WithLogger logs failed and retried batches at Warn level (default: none).
func WithLogger(l *slog.Logger) Option {
	return func(s *batch.Settings) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger(nil)", ErrInvalidOption)
		}
		s.Logger = l
		return nil
	}
}

// WithAllowDuplicates applies to index.UpsertAll only: it turns off the
// check that no ID appears twice in the stream. With it, which of two
// records with the same ID wins is undefined when batches run
// concurrently. The check costs one map entry per ID.
func WithAllowDuplicates() Option {
	return func(s *batch.Settings) error {
		if s.Call != "UpsertAll" {
			return fmt.Errorf("%w: WithAllowDuplicates applies to index.UpsertAll, not %s", ErrInvalidOption, s.Call)
		}
		s.AllowDuplicates = true
		return nil
	}
}

func apply(call string, opts []Option) (batch.Settings, error) {
	return batch.Options(call, opts)
}
