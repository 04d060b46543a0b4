package embedding

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/shoalhq/shoal/internal/batch"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Progress is a snapshot of an [EncodeAll] run, passed to [WithProgress].
type Progress struct {
	Encoded int           // inputs embedded so far
	Failed  int           // inputs in batches that failed for good
	Retries int           // batch attempts retried after a transient error
	Elapsed time.Duration // since the run started
}

// Option tunes [EncodeAll].
type Option func(*options)

type options struct {
	cfg    batch.Config[Input]
	logger *slog.Logger
	err    error
}

// Defaults of [EncodeAll].
const (
	DefaultBatchSize   = 32
	DefaultConcurrency = 4
)

// WithBatchSize sets the inputs per Encode call (default 32, capped at the
// encoder's Info().MaxBatch).
func WithBatchSize(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.err = fmt.Errorf("%w: batch size %d < 1", ErrInvalidOption, n)
		}
		o.cfg.Size = n
	}
}

// WithConcurrency sets how many Encode calls run at once (default 4).
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.err = fmt.Errorf("%w: concurrency %d < 1", ErrInvalidOption, n)
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
			o.err = fmt.Errorf("%w: retry(%d, %v, %v)", ErrInvalidOption, attempts, base, max)
		}
		o.cfg.MaxAttempts, o.cfg.BaseDelay, o.cfg.MaxDelay = attempts, base, max
	}
}

// WithProgress has fn called after each batch settles, from the goroutine
// ranging over EncodeAll's results.
func WithProgress(fn func(Progress)) Option {
	return func(o *options) {
		if fn == nil {
			o.cfg.Progress = nil
			return
		}
		o.cfg.Progress = func(p batch.Progress) {
			fn(Progress{Encoded: p.Done, Failed: p.Failed, Retries: p.Retries, Elapsed: p.Elapsed})
		}
	}
}

// WithContinueOnError yields each input of a batch that failed for good with
// its error and goes on; by default EncodeAll stops at the first such batch.
func WithContinueOnError() Option {
	return func(o *options) { o.cfg.ContinueOnError = true }
}

// WithLogger logs failed and retried batches at Warn level (default: none).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// IsRetryable reports whether err asks to be retried: it, or an error it
// wraps, has a Retryable() bool or Temporary() bool method that reports true.
// Context errors are never retryable.
func IsRetryable(err error) bool { return batch.IsRetryable(err) }

// Temporary wraps err so that [IsRetryable] reports true; after, if
// positive, is the wait a server asked for. Encoders use it to mark transient
// failures for EncodeAll's retries.
func Temporary(err error, after time.Duration) error { return batch.Temporary(err, after) }

// Inputs adapts a slice to the stream [EncodeAll] reads.
func Inputs(in []Input) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) {
		for _, x := range in {
			if !yield(x, nil) {
				return
			}
		}
	}
}

// EncodeAll embeds a stream of inputs with e, in batches (at most
// Info().MaxBatch inputs and Info().MaxBatchBytes bytes each), several
// batches at a time, retrying transient failures with backoff. It yields one
// [Embedded] per input, in input order, as soon as the batches before it are
// done, so a pool of millions streams through bounded memory.
//
// Every vector is checked: the encoder must return one per input, each of
// length Info().Dim, with no NaN or Inf; otherwise the error wraps
// [ErrBadOutput] and names the input. A failed batch ends the iteration
// with its error (the Embedded then carries the first input of that batch),
// unless [WithContinueOnError]. Cancelling ctx ends it with ctx's error;
// breaking out of the loop stops all work.
func EncodeAll(ctx context.Context, e Encoder, in iter.Seq2[Input, error], opts ...Option) iter.Seq2[Embedded, error] {
	return func(yield func(Embedded, error) bool) {
		o := options{cfg: batch.Config[Input]{Size: DefaultBatchSize, Concurrency: DefaultConcurrency}}
		for _, opt := range opts {
			opt(&o)
		}
		if o.err == nil && e == nil {
			o.err = fmt.Errorf("%w: nil encoder", ErrInvalidOption)
		}
		if o.err != nil {
			yield(Embedded{}, o.err)
			return
		}
		info := e.Info()
		if info.Dim < 1 {
			yield(Embedded{}, fmt.Errorf("%w: encoder %q reports dimension %d", ErrBadOutput, info.Model, info.Dim))
			return
		}
		if info.MaxBatch > 0 && o.cfg.Size > info.MaxBatch {
			o.cfg.Size = info.MaxBatch
		}
		if info.MaxBatchBytes > 0 {
			o.cfg.MaxBytes = info.MaxBatchBytes
			o.cfg.SizeOf = Input.Size
		}
		work := func(ctx context.Context, items []Input) ([][]float32, error) {
			vecs, err := e.Encode(ctx, items)
			if err != nil {
				if o.logger != nil {
					o.logger.Warn("shoal: encode batch failed", "model", info.Model, "first_id", items[0].ID,
						"count", len(items), "retryable", IsRetryable(err), "err", err)
				}
				return nil, err
			}
			if err := CheckOutput(info, items, vecs); err != nil {
				return nil, err
			}
			return vecs, nil
		}
		for it, err := range batch.Run(ctx, in, work, o.cfg) {
			if !yield(Embedded{Input: it.In, Vector: it.Out}, err) {
				return
			}
		}
	}
}

// CheckOutput verifies that vecs is a valid answer of an encoder described
// by info to the inputs in: one vector per input, each of length info.Dim,
// all finite. The error wraps [ErrBadOutput] and names the input.
func CheckOutput(info Info, in []Input, vecs [][]float32) error {
	if len(vecs) != len(in) {
		return fmt.Errorf("%w: %d vectors for %d inputs (first input %q)", ErrBadOutput, len(vecs), len(in), in[0].ID)
	}
	for i, v := range vecs {
		if len(v) != info.Dim {
			return fmt.Errorf("%w: input %q: vector of length %d, want %d", ErrBadOutput, in[i].ID, len(v), info.Dim)
		}
		if j := vecmath.Finite(v); j >= 0 {
			return fmt.Errorf("%w: input %q: element %d is %v", ErrBadOutput, in[i].ID, j, v[j])
		}
	}
	return nil
}
