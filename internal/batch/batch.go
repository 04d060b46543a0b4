// Package batch is Shoal's one batching engine: it cuts a stream into
// batches (by count and, optionally, by a byte budget), runs them with bounded
// parallelism, retries what the work function marks retryable with
// exponential backoff and jitter, stops cleanly on cancellation, keeps the
// input order in its output and reports progress.
//
// embedding.EncodeAll and index.UpsertAll are thin layers over [Run] (their
// options are defined once, in embedding); backends never batch or retry on
// their own.
package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/errgroup"
)

// Defaults used when a [Config] field is zero.
const (
	DefaultSize        = 64
	DefaultConcurrency = 4
	DefaultMaxAttempts = 5
	DefaultBaseDelay   = 100 * time.Millisecond
	DefaultMaxDelay    = 10 * time.Second
)

// Progress is a snapshot of a run.
type Progress struct {
	Done    int           // items whose batch succeeded
	Failed  int           // items whose batch failed for good
	Retries int           // batch attempts that were retried
	Elapsed time.Duration // since the run started
}

// Config tunes [Run]. The zero value is usable.
type Config[T any] struct {
	// Size is the largest number of items in a batch (default DefaultSize).
	Size int
	// MaxBytes, with SizeOf, caps the summed size of a batch; an item larger
	// than MaxBytes on its own goes alone. 0 means no byte budget.
	MaxBytes int
	// SizeOf returns an item's size for MaxBytes.
	SizeOf func(T) int
	// Concurrency is the number of batches in flight (default DefaultConcurrency).
	Concurrency int
	// MaxAttempts bounds the attempts per batch, the first included
	// (default DefaultMaxAttempts). 1 disables retries.
	MaxAttempts int
	// BaseDelay and MaxDelay shape the exponential backoff (full jitter).
	BaseDelay, MaxDelay time.Duration
	// ContinueOnError makes a batch that failed for good yield its items with
	// the error and the run go on; by default the run stops at the first
	// such batch.
	ContinueOnError bool
	// Progress, if set, is called after each batch settles, from the
	// goroutine consuming the output, so it needs no locking.
	Progress func(Progress)
	// Sleep waits between attempts; tests replace it. Default: a timer that
	// honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Limiter, if set, paces every attempt (rates and adaptive
	// concurrency, see [Limiter]); Concurrency still bounds the batches
	// held. Default: none.
	Limiter *Limiter
}

// Item is one output of [Run]: an input, its index in the stream, and the
// work function's result for it.
type Item[T, R any] struct {
	Index int
	In    T
	Out   R
}

// Work processes one batch. It must return exactly one result per item, in
// order, or an error for the whole batch. ctx is cancelled when the run stops.
type Work[T, R any] func(ctx context.Context, items []T) ([]R, error)

// BatchError reports a batch that failed for good: which items it held and
// the last attempt's error.
type BatchError struct {
	First, Last int // indexes in the input stream, inclusive
	Attempts    int
	Err         error
}

func (e *BatchError) Error() string {
	if e.First == e.Last {
		return fmt.Sprintf("item %d: %v", e.First, e.Err)
	}
	return fmt.Sprintf("items %d-%d (after %d attempts): %v", e.First, e.Last, e.Attempts, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// retryable is what a work function's error implements to ask for a retry.
type retryable interface{ Retryable() bool }

// temporary is the older convention (net.Error); honoured too.
type temporary interface{ Temporary() bool }

// retryAfter carries a server's hint on how long to wait.
type retryAfter interface{ RetryAfter() time.Duration }

// IsRetryable reports whether err, or an error it wraps, asks for a retry
// through a Retryable() bool or Temporary() bool method. Context errors are
// not retryable unless explicitly marked with Retryable() (a backend may mark
// the deadline of one attempt so).
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var r retryable
	if errors.As(err, &r) {
		return r.Retryable() // an explicit mark wins, even over a deadline
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false // context.DeadlineExceeded says Temporary(); the run's deadline is final
	}
	var t temporary
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return false
}

// RetryAfter returns the wait a server asked for, if err carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var r retryAfter
	if errors.As(err, &r) {
		if d := r.RetryAfter(); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// Temporary wraps err so that [IsRetryable] reports true, with an optional
// retry-after hint (0 for none).
func Temporary(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &tempError{err: err, after: after}
}

type tempError struct {
	err   error
	after time.Duration
}

func (e *tempError) Error() string             { return e.err.Error() }
func (e *tempError) Unwrap() error             { return e.err }
func (e *tempError) Retryable() bool           { return true }
func (e *tempError) RetryAfter() time.Duration { return e.after }

// Backoff returns the wait before attempt n+1 after n failed attempts
// (n >= 1): full jitter over base·2^(n-1), capped at max.
func Backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		if d > max/2 {
			d = max
			break
		}
		d *= 2
	}
	if d > max {
		d = max
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func (c *Config[T]) setDefaults() error {
	if c.Size < 0 || c.MaxBytes < 0 || c.Concurrency < 0 || c.MaxAttempts < 0 || c.BaseDelay < 0 || c.MaxDelay < 0 {
		return errors.New("batch: negative setting")
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BaseDelay == 0 {
		c.BaseDelay = DefaultBaseDelay
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.MaxBytes > 0 && c.SizeOf == nil {
		return errors.New("batch: MaxBytes needs SizeOf")
	}
	if c.Sleep == nil {
		c.Sleep = sleepCtx
	}
	return nil
}

// job is one batch on its way through the pipeline.
type job[T, R any] struct {
	first    int
	items    []T
	out      []R
	err      error // final error of the batch
	attempts int
	retries  int
	srcErr   error // an error from the input stream, after items
	done     chan struct{}
}

// Run cuts in into batches, runs work on them with at most cfg.Concurrency
// batches in flight, and yields every item with its result in input order.
//
// An error from the input stream is yielded after the items before it and
// ends the run. A batch that fails for good (its error is not retryable, or
// attempts ran out) yields a *BatchError: once, ending the run, or — with
// ContinueOnError — once per item of the batch. Cancelling ctx ends the run
// with ctx's error. Breaking out of the loop stops the run; no goroutine
// outlives the iteration. Memory is bounded: at most 2·Concurrency batches
// are held at a time.
func Run[T, R any](ctx context.Context, in iter.Seq2[T, error], work Work[T, R], cfg Config[T]) iter.Seq2[Item[T, R], error] {
	return func(yield func(Item[T, R], error) bool) {
		var zero Item[T, R]
		if err := cfg.setDefaults(); err != nil {
			yield(zero, err)
			return
		}
		start := time.Now()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()

		window := 2 * cfg.Concurrency
		jobs := make(chan *job[T, R], window) // in dispatch order, consumed in order
		// ready holds batches cut (and prepared) ahead, for the first free
		// worker: a worker that finishes takes the next batch at once.
		ready := make(chan *job[T, R], cfg.Concurrency)
		g, gctx := errgroup.WithContext(ctx)
		for range cfg.Concurrency {
			g.Go(func() error {
				for j := range ready {
					runJob(gctx, j, work, &cfg)
					close(j.done)
				}
				return nil
			})
		}

		truncated := false // the producer stopped before the end of in
		g.Go(func() error {
			defer close(ready)
			defer close(jobs)
			dispatch := func(j *job[T, R]) bool {
				// The channel's capacity bounds how many batches are held.
				select {
				case jobs <- j:
				case <-gctx.Done():
					return false
				}
				if len(j.items) == 0 {
					close(j.done)
					return true
				}
				select {
				case ready <- j:
					return true
				case <-gctx.Done():
					// j is in jobs already: settle it so that the consumer's
					// drain does not wait for it.
					j.attempts, j.err = 0, context.Cause(gctx)
					close(j.done)
					return false
				}
			}
			var (
				cur   []T
				bytes int
				first int
				n     int
			)
			flush := func(srcErr error) bool {
				j := &job[T, R]{first: first, items: cur, srcErr: srcErr, done: make(chan struct{})}
				cur, bytes, first = nil, 0, n
				if !dispatch(j) {
					truncated = true
					return false
				}
				return true
			}
			for item, err := range in {
				if err != nil {
					flush(err)
					return nil
				}
				if gctx.Err() != nil {
					truncated = true
					return nil
				}
				sz := 0
				if cfg.MaxBytes > 0 {
					sz = cfg.SizeOf(item)
					if len(cur) > 0 && bytes+sz > cfg.MaxBytes && !flush(nil) {
						return nil
					}
				}
				if cur == nil {
					cur = make([]T, 0, min(cfg.Size, 1024))
				}
				cur = append(cur, item)
				bytes += sz
				n++
				if len(cur) >= cfg.Size && !flush(nil) {
					return nil
				}
			}
			if len(cur) > 0 {
				flush(nil)
			}
			return nil
		})

		var p Progress
		finished := false
		finish := func() {
			if finished {
				return
			}
			finished = true
			cancel()
			// Drain so that the producer and workers can exit.
			for j := range jobs {
				<-j.done
			}
			_ = g.Wait()
		}
		defer finish()
		report := func() {
			p.Elapsed = time.Since(start)
			if cfg.Progress != nil {
				cfg.Progress(p)
			}
		}
		for j := range jobs {
			<-j.done
			p.Retries += j.retries
			switch {
			case j.err != nil && ctx.Err() != nil:
				// Cancelled (possibly with a cause, which the job reports as
				// its error): the run ends with the cancellation.
				err := context.Cause(ctx)
				finish()
				yield(zero, err)
				return
			case j.err != nil:
				p.Failed += len(j.items)
				report()
				be := &BatchError{First: j.first, Last: j.first + len(j.items) - 1, Attempts: j.attempts, Err: j.err}
				if !cfg.ContinueOnError {
					finish()
					yield(Item[T, R]{Index: j.first, In: j.items[0]}, be)
					return
				}
				for i, it := range j.items {
					if !yield(Item[T, R]{Index: j.first + i, In: it}, be) {
						return
					}
				}
			case len(j.items) > 0:
				for i, it := range j.items {
					if !yield(Item[T, R]{Index: j.first + i, In: it, Out: j.out[i]}, nil) {
						return
					}
				}
				p.Done += len(j.items)
				report()
			}
			if j.srcErr != nil {
				finish()
				yield(zero, j.srcErr)
				return
			}
		}
		// jobs is closed: the producer is done, so truncated is safe to read.
		if truncated {
			err := context.Cause(ctx)
			finish()
			if err == nil {
				err = context.Canceled
			}
			yield(zero, err)
			return
		}
		finish()
	}
}

func runJob[T, R any](ctx context.Context, j *job[T, R], work Work[T, R], cfg *Config[T]) {
	p := Policy{MaxAttempts: cfg.MaxAttempts, BaseDelay: cfg.BaseDelay, MaxDelay: cfg.MaxDelay, Sleep: cfg.Sleep}
	out, attempts, err := Call(ctx, cfg.Limiter, p, len(j.items), func(ctx context.Context) ([]R, error) {
		out, err := work(ctx, j.items)
		if err == nil && len(out) != len(j.items) {
			err = fmt.Errorf("batch: work returned %d results for %d items", len(out), len(j.items))
		}
		return out, err
	})
	j.out, j.err = out, err
	j.attempts, j.retries = attempts, max(attempts-1, 0)
}

// Collect runs in through [Run] to the end and returns the first error, if
// any; the results are dropped. It is for callers that need only
// side effects (an upsert).
func Collect[T, R any](ctx context.Context, in iter.Seq2[T, error], work Work[T, R], cfg Config[T]) error {
	for _, err := range Run(ctx, in, work, cfg) {
		if err != nil {
			return err
		}
	}
	return nil
}

// Settings is what the options of embedding.EncodeAll and index.UpsertAll
// set (both take embedding.Option, which is defined once over this struct).
type Settings struct {
	// Call names the run the options are applied to ("EncodeAll" or
	// "UpsertAll"), so an option that does not apply can say so.
	Call string
	// Size, MaxBytes, Concurrency, MaxAttempts, BaseDelay, MaxDelay and
	// ContinueOnError go to [Config]; zero means the caller's default.
	Size, MaxBytes, Concurrency, MaxAttempts int
	BaseDelay, MaxDelay                      time.Duration
	ContinueOnError                          bool
	// Progress, Logger and AllowDuplicates are read by the caller.
	Progress        func(Progress)
	Logger          *slog.Logger
	AllowDuplicates bool
}

// Apply copies s's batching settings into c, keeping c's values where s
// has none.
func Apply[T any](s *Settings, c *Config[T]) {
	c.Size = cmp.Or(s.Size, c.Size)
	c.MaxBytes = cmp.Or(s.MaxBytes, c.MaxBytes)
	c.Concurrency = cmp.Or(s.Concurrency, c.Concurrency)
	c.MaxAttempts = cmp.Or(s.MaxAttempts, c.MaxAttempts)
	c.BaseDelay = cmp.Or(s.BaseDelay, c.BaseDelay)
	c.MaxDelay = cmp.Or(s.MaxDelay, c.MaxDelay)
	c.ContinueOnError = c.ContinueOnError || s.ContinueOnError
}

// Options applies the options of a run named call (embedding.Option values)
// in order and returns the settings, or the first option's error.
func Options[O ~func(*Settings) error](call string, opts []O) (Settings, error) {
	s := Settings{Call: call}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&s); err != nil {
			return s, err
		}
	}
	return s, nil
}
