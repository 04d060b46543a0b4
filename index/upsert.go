package index

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/shoalhq/shoal/internal/batch"
)

// Progress is a snapshot of an [UpsertAll] run, passed to [WithProgress].
type Progress struct {
	Upserted int           // records acknowledged by the store
	Failed   int           // records in batches that failed for good
	Retries  int           // batch attempts retried after a transient error
	Elapsed  time.Duration // since the run started
}

// Option tunes [UpsertAll].
type Option func(*options)

type options struct {
	cfg             batch.Config[numbered]
	allowDuplicates bool
	logger          *slog.Logger
	err             error
}

// Defaults of [UpsertAll].
const (
	DefaultUpsertBatch       = 100
	DefaultUpsertConcurrency = 4
)

// WithBatchSize sets the records per Upsert call (default 100).
func WithBatchSize(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.err = fmt.Errorf("%w: batch size %d < 1", ErrInvalidArgument, n)
		}
		o.cfg.Size = n
	}
}

// WithMaxBatchBytes caps a batch's estimated size (IDs, 4 bytes per vector
// element, metadata); 0 (the default) means no cap.
func WithMaxBatchBytes(n int) Option {
	return func(o *options) {
		if n < 0 {
			o.err = fmt.Errorf("%w: max batch bytes %d < 0", ErrInvalidArgument, n)
		}
		o.cfg.MaxBytes = n
	}
}

// WithConcurrency sets how many Upsert calls run at once (default 4).
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.err = fmt.Errorf("%w: concurrency %d < 1", ErrInvalidArgument, n)
		}
		o.cfg.Concurrency = n
	}
}

// WithRetry sets the attempts per batch (first included; default 5) and the
// backoff's base and cap (defaults 100ms and 10s; a zero base or cap means
// the default). Only errors that
// [IsRetryable] reports are retried.
func WithRetry(attempts int, base, max time.Duration) Option {
	return func(o *options) {
		if attempts < 1 || base < 0 || max < base {
			o.err = fmt.Errorf("%w: retry(%d, %v, %v)", ErrInvalidArgument, attempts, base, max)
		}
		o.cfg.MaxAttempts, o.cfg.BaseDelay, o.cfg.MaxDelay = attempts, base, max
	}
}

// WithProgress has fn called after each batch settles (from one goroutine
// at a time).
func WithProgress(fn func(Progress)) Option {
	return func(o *options) {
		if fn == nil {
			o.cfg.Progress = nil
			return
		}
		o.cfg.Progress = func(p batch.Progress) {
			fn(Progress{Upserted: p.Done, Failed: p.Failed, Retries: p.Retries, Elapsed: p.Elapsed})
		}
	}
}

// WithContinueOnError keeps going past batches that fail for good; UpsertAll
// then returns all their errors joined. By default it stops at the first.
func WithContinueOnError() Option {
	return func(o *options) { o.cfg.ContinueOnError = true }
}

// WithAllowDuplicates turns off the check that no ID appears twice in the
// stream. With it, which of two records with the same ID wins is undefined
// when batches run concurrently. The check costs one map entry per ID.
func WithAllowDuplicates() Option {
	return func(o *options) { o.allowDuplicates = true }
}

// WithLogger logs retries and failed batches at Warn level (default: none).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

type numbered struct {
	i int
	r Record
}

// UpsertAll writes a stream of records into a namespace of s, in batches,
// several at a time, retrying transient failures (errors for which
// [IsRetryable] is true) with backoff. It returns the number of records the
// store acknowledged. When s implements [UpsertPreparer], each batch is
// checked and encoded as soon as it is cut, while earlier batches are in
// flight, and only sending it takes one of the concurrent slots. Records
// must not be modified while UpsertAll runs.
//
// Errors name the record: an *ItemError whose Index counts from the start of
// the stream (a store's per-batch index is translated). An ID seen twice in
// the stream is an error unless [WithAllowDuplicates]. On error, batches
// acknowledged before it stay written — the count says how many records; use
// [WithProgress] to follow them.
func UpsertAll(ctx context.Context, s VectorStore, namespace string, recs iter.Seq2[Record, error], opts ...Option) (int, error) {
	o := options{cfg: batch.Config[numbered]{Size: DefaultUpsertBatch, Concurrency: DefaultUpsertConcurrency}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.err != nil {
		return 0, o.err
	}
	if s == nil {
		return 0, fmt.Errorf("%w: nil store", ErrInvalidArgument)
	}
	o.cfg.SizeOf = func(n numbered) int {
		return len(n.r.ID) + 4*len(n.r.Vector) + n.r.Metadata.Size()
	}
	src := func(yield func(numbered, error) bool) {
		var seen map[string]int
		if !o.allowDuplicates {
			seen = make(map[string]int)
		}
		i := 0
		for r, err := range recs {
			if err != nil {
				yield(numbered{}, fmt.Errorf("record stream at %d: %w", i, err))
				return
			}
			if seen != nil {
				if j, dup := seen[r.ID]; dup {
					yield(numbered{}, &ItemError{Index: i, ID: r.ID, Err: fmt.Errorf("%w: duplicate of record %d in the stream", ErrInvalidID, j)})
					return
				}
				seen[r.ID] = i
			}
			if !yield(numbered{i: i, r: r}, nil) {
				return
			}
			i++
		}
	}
	// fail rebases a store's *ItemError onto the stream and logs.
	fail := func(items []numbered, err error) error {
		var ie *ItemError
		if errors.As(err, &ie) && ie.Index >= 0 && ie.Index < len(items) {
			// Rebase the store's per-call index onto the stream.
			fixed := *ie
			fixed.Index = items[ie.Index].i
			err = &wrappedItemError{ItemError: &fixed, orig: err}
		}
		if o.logger != nil {
			o.logger.Warn("shoal: upsert batch failed", "namespace", namespace,
				"first", items[0].i, "count", len(items), "retryable", IsRetryable(err), "err", err)
		}
		return err
	}
	// Each batch is prepared as soon as it is cut: by the store when it
	// is an UpsertPreparer, otherwise the whole Upsert is the send.
	prepare := func(ctx context.Context, items []numbered) (func(context.Context) ([]struct{}, error), error) {
		rs := make([]Record, len(items))
		for i, it := range items {
			rs[i] = it.r
		}
		send := func(ctx context.Context) error { return s.Upsert(ctx, namespace, rs) }
		if p, ok := s.(UpsertPreparer); ok {
			var err error
			if send, err = p.PrepareUpsert(ctx, namespace, rs); err != nil {
				return nil, fail(items, err)
			}
		}
		return func(ctx context.Context) ([]struct{}, error) {
			if err := send(ctx); err != nil {
				return nil, fail(items, err)
			}
			return make([]struct{}, len(items)), nil
		}, nil
	}
	n := 0
	var errs []error
	for it, err := range batch.RunPrepared(ctx, src, prepare, o.cfg) {
		if err != nil {
			var be *batch.BatchError
			if errors.As(err, &be) {
				if it.Index != be.First {
					continue // ContinueOnError yields each item of a failed batch; report once
				}
				err = describeBatchError(be)
			}
			errs = append(errs, err)
			if !o.cfg.ContinueOnError {
				break
			}
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func describeBatchError(be *batch.BatchError) error {
	var ie *ItemError
	if errors.As(be.Err, &ie) {
		return be.Err // names the record already
	}
	return fmt.Errorf("index: upsert of records %d-%d failed after %d attempt(s): %w", be.First, be.Last, be.Attempts, be.Err)
}

// wrappedItemError is an *ItemError rebased onto the stream that still
// reaches the store's original error with errors.As.
type wrappedItemError struct {
	*ItemError
	orig error
}

func (w *wrappedItemError) Unwrap() []error { return []error{w.ItemError, w.orig} }
