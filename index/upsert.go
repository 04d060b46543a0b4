package index

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync/atomic"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/internal/batch"
)

// Defaults of [UpsertAll].
const (
	DefaultUpsertBatch       = 100
	DefaultUpsertConcurrency = 4
)

type numbered struct {
	i int
	r Record
}

// UpsertAll writes a stream of records into a namespace of s, in batches,
// several at a time, retrying transient failures (errors for which
// [IsRetryable] is true) with backoff. It takes the batching options of
// package embedding (embedding.WithBatchSize, WithConcurrency, WithRetry,
// WithProgress, WithContinueOnError, WithLogger, WithMaxBatchBytes,
// WithAllowDuplicates), defined once for both halves of the pipeline;
// the defaults here are [DefaultUpsertBatch] records per call and
// [DefaultUpsertConcurrency] calls at once. Records must not be modified
// while UpsertAll runs.
//
// It returns the number of records the store acknowledged (its Upsert
// returned nil), counted as each batch is acknowledged, so the count is
// exact even when the run stops early; embedding.Progress.Done reports the
// same count. Upserts are idempotent: to resume after an error, run again
// with the same stream.
//
// Errors name the record: an *ItemError whose Index counts from the start of
// the stream (a store's per-batch index is translated). An ID seen twice in
// the stream is an error unless embedding.WithAllowDuplicates.
func UpsertAll(ctx context.Context, s VectorStore, namespace string, recs iter.Seq2[Record, error], opts ...embedding.Option) (int, error) {
	st, err := batch.Options("UpsertAll", opts)
	switch {
	case err != nil:
		return 0, fmt.Errorf("index: upsert: %w: %w", ErrInvalidArgument, err)
	case ctx == nil:
		return 0, fmt.Errorf("index: upsert: %w: nil context", ErrInvalidArgument)
	case s == nil:
		return 0, fmt.Errorf("index: upsert: %w: nil store", ErrInvalidArgument)
	case recs == nil:
		return 0, fmt.Errorf("index: upsert: %w: nil record stream", ErrInvalidArgument)
	}
	var acked atomic.Int64
	o := struct {
		cfg             batch.Config[numbered]
		allowDuplicates bool
		logger          *slog.Logger
	}{batch.Config[numbered]{Size: DefaultUpsertBatch, Concurrency: DefaultUpsertConcurrency}, st.AllowDuplicates, st.Logger}
	batch.Apply(&st, &o.cfg)
	if st.Progress != nil {
		o.cfg.Progress = func(p batch.Progress) {
			p.Done = int(acked.Load())
			st.Progress(p)
		}
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
	work := func(ctx context.Context, items []numbered) ([]struct{}, error) {
		rs := make([]Record, len(items))
		for i, it := range items {
			rs[i] = it.r
		}
		if err := s.Upsert(ctx, namespace, rs); err != nil {
			return nil, fail(items, err)
		}
		acked.Add(int64(len(items)))
		return make([]struct{}, len(items)), nil
	}
	var errs []error
	for it, err := range batch.Run(ctx, src, work, o.cfg) {
		if err == nil {
			continue
		}
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
	}
	// The run is over: no batch is in flight, so the count is final.
	return int(acked.Load()), errors.Join(errs...)
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

// FromEmbedded turns the results of embedding.EncodeAll into records: each
// record takes its input's ID and metadata (embedding.Input.Metadata) and
// its vector. It is the glue of the most common path:
//
//	embedded := embedding.EncodeAll(ctx, enc, inputs)
//	n, err := index.UpsertAll(ctx, store, ns, index.FromEmbedded(embedded))
//
// An error in the stream (a failed batch) is passed on; UpsertAll stops at
// it, having written what came before.
func FromEmbedded(seq iter.Seq2[embedding.Embedded, error]) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for e, err := range seq {
			if err != nil {
				yield(Record{}, err) // EncodeAll's errors name the input already
				return
			}
			if !yield(Record{ID: e.Input.ID, Vector: e.Vector, Metadata: Metadata(e.Input.Metadata)}, nil) {
				return
			}
		}
	}
}
