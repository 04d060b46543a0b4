package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimiterConfig tunes a [Limiter]. Zero fields mean "no limit" except
// MaxConcurrency, which must be set.
type LimiterConfig struct {
	// RequestsPerSecond caps calls per second (token bucket, burst 1
	// second's worth, at least 1). 0: no cap.
	RequestsPerSecond float64
	// ItemsPerSecond caps items per second over all calls (burst 1
	// second's worth, at least one call's items). 0: no cap.
	ItemsPerSecond float64
	// MaxConcurrency is the most calls in flight, and where the adaptive
	// limit starts. Required (at least 1).
	MaxConcurrency int
	// MinConcurrency is the floor of the adaptive limit (default 1).
	MinConcurrency int
	// Throttled reports whether a failed call's error means the service is
	// throttling (HTTP 429, gRPC RESOURCE_EXHAUSTED). Default: the error
	// carries a retry-after hint ([RetryAfter]).
	Throttled func(error) bool
}

// Limiter paces calls to one service: a rate in requests and in items per
// second (golang.org/x/time/rate), and a concurrency limit that adapts to
// throttling the AIMD way (TCP's congestion control): a throttled call
// halves the limit (not below MinConcurrency) and, when it carries a
// retry-after hint, holds every new call until that time; each successful
// call raises the limit by 1/limit, so a full window of successes adds one
// slot, up to MaxConcurrency. It is safe for concurrent use.
type Limiter struct {
	req, items *rate.Limiter
	itemBurst  int
	cfg        LimiterConfig

	mu       sync.Mutex
	limit    float64 // adaptive concurrency limit
	inflight int
	pause    time.Time     // no call starts before this
	wake     chan struct{} // closed and replaced when a slot frees
	throttle int           // throttled calls seen
}

// NewLimiter returns a Limiter, or an error for a negative or missing
// setting.
func NewLimiter(cfg LimiterConfig) (*Limiter, error) {
	if cfg.MaxConcurrency < 1 || cfg.MinConcurrency < 0 || cfg.MinConcurrency > cfg.MaxConcurrency ||
		cfg.RequestsPerSecond < 0 || cfg.ItemsPerSecond < 0 ||
		math.IsNaN(cfg.RequestsPerSecond) || math.IsNaN(cfg.ItemsPerSecond) {
		return nil, fmt.Errorf("batch: limiter: want MaxConcurrency ≥ 1, 0 ≤ MinConcurrency ≤ MaxConcurrency and rates ≥ 0, got %+v", cfg)
	}
	if cfg.MinConcurrency == 0 {
		cfg.MinConcurrency = 1
	}
	if cfg.Throttled == nil {
		cfg.Throttled = func(err error) bool { _, ok := RetryAfter(err); return ok }
	}
	l := &Limiter{cfg: cfg, limit: float64(cfg.MaxConcurrency), wake: make(chan struct{})}
	if r := cfg.RequestsPerSecond; r > 0 && !math.IsInf(r, 1) {
		l.req = rate.NewLimiter(rate.Limit(r), max(1, int(r)))
	}
	if r := cfg.ItemsPerSecond; r > 0 && !math.IsInf(r, 1) {
		l.itemBurst = max(1, int(r))
		l.items = rate.NewLimiter(rate.Limit(r), l.itemBurst)
	}
	return l, nil
}

// Concurrency returns the current adaptive concurrency limit.
func (l *Limiter) Concurrency() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// Throttles returns how many calls were reported throttled so far.
func (l *Limiter) Throttles() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.throttle
}

// Acquire waits until a call of n items may start: a concurrency slot is
// free, any retry-after pause is over, and the rates allow it. It returns
// release, which the caller must call exactly once with the call's error
// (nil on success), or ctx's error.
func (l *Limiter) Acquire(ctx context.Context, n int) (release func(error), err error) {
	for {
		l.mu.Lock()
		wait := time.Until(l.pause)
		if wait <= 0 && float64(l.inflight) < max(1, math.Floor(l.limit)) {
			l.inflight++
			l.mu.Unlock()
			break
		}
		wake := l.wake
		l.mu.Unlock()
		if wait > 0 {
			if err := sleepCtx(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-wake:
		}
	}
	var once sync.Once
	release = func(err error) { once.Do(func() { l.release(err) }) }
	if l.req != nil {
		if err := l.req.Wait(ctx); err != nil {
			release(nil)
			return nil, ctxOr(ctx, err)
		}
	}
	for rest := n; l.items != nil && rest > 0; {
		k := min(rest, l.itemBurst)
		if err := l.items.WaitN(ctx, k); err != nil {
			release(nil)
			return nil, ctxOr(ctx, err)
		}
		rest -= k
	}
	return release, nil
}

// ctxOr returns ctx's error when it has one (rate's Wait reports a deadline
// that would pass before the token as its own error).
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if _, ok := ctx.Deadline(); ok {
		return context.DeadlineExceeded
	}
	return err
}

func (l *Limiter) release(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	switch {
	case err == nil:
		l.limit = min(float64(l.cfg.MaxConcurrency), l.limit+1/l.limit)
	case l.cfg.Throttled(err):
		l.throttle++
		l.limit = max(float64(l.cfg.MinConcurrency), l.limit/2)
		if d, ok := RetryAfter(err); ok {
			if t := time.Now().Add(d); t.After(l.pause) {
				l.pause = t
			}
		}
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// Policy is the retry policy of [Call]. Zero fields take the defaults of
// [Config] (DefaultMaxAttempts, DefaultBaseDelay, DefaultMaxDelay).
type Policy struct {
	MaxAttempts         int
	BaseDelay, MaxDelay time.Duration
	// Sleep waits between attempts; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Call runs fn, paced by lim (nil: no pacing) as a call of n items, and
// retries it as [Run] retries a batch: only errors [IsRetryable] reports,
// with exponential backoff and full jitter, never waiting less than a
// retry-after hint. It returns fn's result, the number of attempts made and
// the last error. It is the engine for callers whose unit of work is one
// call rather than a stream.
func Call[R any](ctx context.Context, lim *Limiter, p Policy, n int, fn func(context.Context) (R, error)) (R, int, error) {
	var zero R
	if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 {
		return zero, 0, errors.New("batch: negative setting")
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.Sleep == nil {
		p.Sleep = sleepCtx
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return zero, attempt - 1, context.Cause(ctx)
		}
		release := func(error) {}
		if lim != nil {
			r, err := lim.Acquire(ctx, n)
			if err != nil {
				return zero, attempt - 1, err
			}
			release = r
		}
		out, err := fn(ctx)
		release(err)
		if err == nil {
			return out, attempt, nil
		}
		if attempt >= p.MaxAttempts || !IsRetryable(err) || ctx.Err() != nil {
			return zero, attempt, err
		}
		d := Backoff(attempt, p.BaseDelay, p.MaxDelay)
		if ra, ok := RetryAfter(err); ok {
			d = max(d, min(ra, p.MaxDelay))
		}
		if serr := p.Sleep(ctx, d); serr != nil {
			return zero, attempt, serr
		}
	}
}
