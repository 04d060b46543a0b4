package embedding

import (
	"context"
	"fmt"
	"iter"

	"github.com/shoalhq/shoal/internal/batch"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// IsRetryable reports whether err asks to be retried: it, or an error it
// wraps, has a Retryable() bool or Temporary() bool method that reports true.
// Context errors are never retryable.
func IsRetryable(err error) bool { return batch.IsRetryable(err) }

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
		st, err := apply("EncodeAll", opts)
		if err == nil && e == nil {
			err = fmt.Errorf("%w: nil encoder", ErrInvalidOption)
		}
		if err == nil && ctx == nil {
			err = fmt.Errorf("%w: nil context", ErrInvalidOption)
		}
		if err != nil {
			yield(Embedded{}, err)
			return
		}
		cfg := batch.Config[Input]{Size: DefaultBatchSize, Concurrency: DefaultConcurrency, Progress: st.Progress}
		batch.Apply(&st, &cfg)
		logger := st.Logger
		info := e.Info()
		if info.Dim < 1 {
			yield(Embedded{}, fmt.Errorf("%w: encoder %q reports dimension %d", ErrBadOutput, info.Model, info.Dim))
			return
		}
		if info.MaxBatch > 0 && cfg.Size > info.MaxBatch {
			cfg.Size = info.MaxBatch
		}
		if info.MaxBatchBytes > 0 && (cfg.MaxBytes == 0 || cfg.MaxBytes > info.MaxBatchBytes) {
			cfg.MaxBytes = info.MaxBatchBytes
		}
		if cfg.MaxBytes > 0 {
			cfg.SizeOf = Input.Size
		}
		work := func(ctx context.Context, items []Input) ([][]float32, error) {
			vecs, err := e.Encode(ctx, items)
			if err != nil {
				if logger != nil {
					logger.Warn("shoal: encode batch failed", "model", info.Model, "first_id", items[0].ID,
						"count", len(items), "retryable", IsRetryable(err), "err", err)
				}
				return nil, err
			}
			if err := CheckOutput(info, items, vecs); err != nil {
				return nil, err
			}
			return vecs, nil
		}
		for it, err := range batch.Run(ctx, in, work, cfg) {
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
