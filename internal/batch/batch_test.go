package batch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ints streams 0..n-1.
func ints(n int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := range n {
			if !yield(i, nil) {
				return
			}
		}
	}
}

// double is a work function: each result is twice its item.
func double(_ context.Context, items []int) ([]int, error) {
	out := make([]int, len(items))
	for i, x := range items {
		out[i] = 2 * x
	}
	return out, nil
}

type out struct {
	it  Item[int, int]
	err error
}

func runAll(ctx context.Context, in iter.Seq2[int, error], work Work[int, int], cfg Config[int]) []out {
	var res []out
	for it, err := range Run(ctx, in, work, cfg) {
		res = append(res, out{it, err})
	}
	return res
}

func requireDoubled(t *testing.T, res []out, n int) {
	t.Helper()
	require.Len(t, res, n)
	for i, r := range res {
		require.NoError(t, r.err, "item %d", i)
		require.Equal(t, Item[int, int]{Index: i, In: i, Out: 2 * i}, r.it)
	}
}

// recorder records the batches a work function sees.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
}

func (r *recorder) work(fn Work[int, int]) Work[int, int] {
	return func(ctx context.Context, items []int) ([]int, error) {
		r.mu.Lock()
		r.batches = append(r.batches, append([]int(nil), items...))
		r.mu.Unlock()
		return fn(ctx, items)
	}
}

func (r *recorder) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []int
	for _, b := range r.batches {
		s = append(s, len(b))
	}
	return s
}

func TestRunOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, size, conc int
	}{{0, 3, 2}, {1, 3, 2}, {10, 3, 1}, {10, 10, 4}, {500, 7, 8}, {100, 1, 16}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d/size=%d/conc=%d", tt.n, tt.size, tt.conc), func(t *testing.T) {
			t.Parallel()
			var rec recorder
			var inFlight, maxInFlight atomic.Int64
			work := rec.work(func(ctx context.Context, items []int) ([]int, error) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					m := maxInFlight.Load()
					if n <= m || maxInFlight.CompareAndSwap(m, n) {
						break
					}
				}
				// Later batches often finish first.
				time.Sleep(time.Duration((items[0]*7919)%200) * time.Microsecond)
				return double(ctx, items)
			})
			res := runAll(context.Background(), ints(tt.n), work, Config[int]{Size: tt.size, Concurrency: tt.conc})
			requireDoubled(t, res, tt.n)
			assert.LessOrEqual(t, maxInFlight.Load(), int64(tt.conc))
			for _, s := range rec.sizes() {
				assert.LessOrEqual(t, s, tt.size)
			}
			assert.Len(t, rec.batches, (tt.n+tt.size-1)/tt.size)
		})
	}
}

func TestRunDefaults(t *testing.T) {
	t.Parallel()
	var rec recorder
	var attempts atomic.Int64
	work := rec.work(func(context.Context, []int) ([]int, error) {
		attempts.Add(1)
		return nil, Temporary(errors.New("unavailable"), 0)
	})
	// The zero Config: batches of DefaultSize, DefaultMaxAttempts attempts
	// (sleeping is replaced to keep the test fast).
	var waits []time.Duration
	var mu sync.Mutex
	cfg := Config[int]{Sleep: func(_ context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return nil
	}}
	res := runAll(context.Background(), ints(10), work, cfg)
	require.Len(t, res, 1)
	var be *BatchError
	require.ErrorAs(t, res[0].err, &be)
	assert.Equal(t, DefaultMaxAttempts, be.Attempts)
	assert.Equal(t, int64(DefaultMaxAttempts), attempts.Load())
	require.Len(t, waits, DefaultMaxAttempts-1)
	for i, d := range waits {
		assert.LessOrEqual(t, d, DefaultBaseDelay<<i, "wait %d", i)
		assert.Positive(t, d)
	}

	rec = recorder{}
	res = runAll(context.Background(), ints(200), rec.work(double), Config[int]{})
	requireDoubled(t, res, 200)
	assert.ElementsMatch(t, []int{64, 64, 64, 8}, rec.sizes())
}

func TestRunRejectsConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config[int]
		msg  string
	}{
		{"negative size", Config[int]{Size: -1}, "negative"},
		{"negative bytes", Config[int]{MaxBytes: -1}, "negative"},
		{"negative concurrency", Config[int]{Concurrency: -2}, "negative"},
		{"negative attempts", Config[int]{MaxAttempts: -1}, "negative"},
		{"negative delay", Config[int]{BaseDelay: -time.Second}, "negative"},
		{"negative max delay", Config[int]{MaxDelay: -time.Second}, "negative"},
		{"bytes without SizeOf", Config[int]{MaxBytes: 10}, "SizeOf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			work := func(ctx context.Context, items []int) ([]int, error) { calls.Add(1); return double(ctx, items) }
			res := runAll(context.Background(), ints(5), work, tt.cfg)
			require.Len(t, res, 1)
			assert.ErrorContains(t, res[0].err, tt.msg)
			assert.Zero(t, calls.Load())
			assert.ErrorContains(t, Collect(context.Background(), ints(5), work, tt.cfg), tt.msg)
		})
	}
}

func TestRunByteBudget(t *testing.T) {
	t.Parallel()
	// Item i weighs sizes[i]; 250 is over the budget on its own.
	sizes := []int{10, 40, 30, 30, 5, 250, 20, 60, 41, 100, 1, 1, 1, 99, 0, 0}
	src := func(yield func(int, error) bool) {
		for i := range sizes {
			if !yield(i, nil) {
				return
			}
		}
	}
	tests := []struct {
		name string
		size int
		want [][]int
	}{
		{"bytes only", 100, [][]int{{0, 1, 2}, {3, 4}, {5}, {6, 7}, {8}, {9}, {10, 11, 12}, {13, 14, 15}}},
		{"bytes and count", 2, [][]int{{0, 1}, {2, 3}, {4}, {5}, {6, 7}, {8}, {9}, {10, 11}, {12, 13}, {14, 15}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rec recorder
			cfg := Config[int]{Size: tt.size, MaxBytes: 100, SizeOf: func(i int) int { return sizes[i] }, Concurrency: 1}
			res := runAll(context.Background(), src, rec.work(double), cfg)
			requireDoubled(t, res, len(sizes))
			assert.Equal(t, tt.want, rec.batches)
		})
	}
}

// sleepRecorder replaces Config.Sleep: it records the waits and returns at
// once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func TestRunRetry(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name      string
		failures  int // failing attempts per batch
		err       error
		base, max time.Duration
		wantErr   error // nil: every item succeeds
		wantCalls int
		checkWait func(t *testing.T, attempt int, d time.Duration)
	}{
		{name: "backoff grows", failures: 3, err: Temporary(boom, 0), base: time.Millisecond, max: time.Second, wantCalls: 4,
			checkWait: func(t *testing.T, attempt int, d time.Duration) {
				assert.LessOrEqual(t, d, time.Millisecond<<(attempt-1))
				assert.Positive(t, d)
			}},
		{name: "backoff capped", failures: 4, err: Temporary(boom, 0), base: time.Second, max: 2 * time.Second, wantCalls: 5,
			checkWait: func(t *testing.T, _ int, d time.Duration) { assert.LessOrEqual(t, d, 2*time.Second) }},
		{name: "retry-after honoured", failures: 2, err: Temporary(boom, 500*time.Millisecond), base: time.Millisecond, max: time.Second,
			wantCalls: 3, checkWait: func(t *testing.T, _ int, d time.Duration) { assert.Equal(t, 500*time.Millisecond, d) }},
		{name: "retry-after capped", failures: 1, err: Temporary(boom, time.Hour), base: time.Millisecond, max: 3 * time.Second,
			wantCalls: 2, checkWait: func(t *testing.T, _ int, d time.Duration) { assert.Equal(t, 3*time.Second, d) }},
		{name: "retry-after below backoff", failures: 1, err: Temporary(boom, time.Nanosecond), base: time.Second, max: time.Second,
			wantCalls: 2, checkWait: func(t *testing.T, _ int, d time.Duration) { assert.Greater(t, d, time.Nanosecond/2) }},
		{name: "attempts run out", failures: 99, err: Temporary(boom, 0), base: time.Millisecond, max: time.Second,
			wantErr: boom, wantCalls: 3},
		{name: "not retryable", failures: 1, err: boom, base: time.Millisecond, max: time.Second, wantErr: boom, wantCalls: 1},
		// A work function's own context error, while the run goes on, is
		// a failed batch, not a cancelled run; it is never retried.
		{name: "context error not retried", failures: 1, err: Temporary(context.Canceled, 0), base: time.Millisecond,
			max: time.Second, wantErr: context.Canceled, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			work := func(ctx context.Context, items []int) ([]int, error) {
				if calls.Add(1) <= int64(tt.failures) {
					return nil, tt.err
				}
				return double(ctx, items)
			}
			var sr sleepRecorder
			var last Progress
			cfg := Config[int]{Size: 10, MaxAttempts: 3, BaseDelay: tt.base, MaxDelay: tt.max, Sleep: sr.sleep,
				Progress: func(p Progress) { last = p }}
			if tt.wantErr == nil {
				cfg.MaxAttempts = tt.wantCalls
			}
			res := runAll(context.Background(), ints(5), work, cfg)
			assert.Equal(t, int64(tt.wantCalls), calls.Load())
			assert.Len(t, sr.waits, tt.wantCalls-1)
			assert.Equal(t, tt.wantCalls-1, last.Retries)
			for i, d := range sr.waits {
				if tt.checkWait != nil {
					tt.checkWait(t, i+1, d)
				}
			}
			if tt.wantErr == nil {
				requireDoubled(t, res, 5)
				return
			}
			require.Len(t, res, 1)
			var be *BatchError
			require.ErrorAs(t, res[0].err, &be)
			assert.ErrorIs(t, res[0].err, tt.wantErr)
			assert.Equal(t, tt.wantCalls, be.Attempts)
			assert.Equal(t, 5, last.Failed)
		})
	}
}

func TestRunFail(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	failOn := func(bad ...int) Work[int, int] {
		return func(ctx context.Context, items []int) ([]int, error) {
			for _, x := range items {
				for _, b := range bad {
					if x == b {
						return nil, boom
					}
				}
			}
			return double(ctx, items)
		}
	}

	t.Run("stops", func(t *testing.T) {
		t.Parallel()
		var last Progress
		res := runAll(context.Background(), ints(50), failOn(23), Config[int]{Size: 10, Concurrency: 3,
			Progress: func(p Progress) { last = p }})
		require.Len(t, res, 21)
		requireDoubled(t, res[:20], 20)
		var be *BatchError
		require.ErrorAs(t, res[20].err, &be)
		assert.Equal(t, BatchError{First: 20, Last: 29, Attempts: 1, Err: boom}, *be)
		assert.Equal(t, "items 20-29 (after 1 attempts): boom", be.Error())
		assert.Equal(t, Item[int, int]{Index: 20, In: 20}, res[20].it)
		assert.Equal(t, Progress{Done: 20, Failed: 10, Elapsed: last.Elapsed}, last)
	})

	t.Run("single item", func(t *testing.T) {
		t.Parallel()
		res := runAll(context.Background(), ints(10), failOn(4), Config[int]{Size: 1})
		require.Len(t, res, 5)
		assert.EqualError(t, res[4].err, "item 4: boom")
	})

	t.Run("continue on error", func(t *testing.T) {
		t.Parallel()
		var last Progress
		res := runAll(context.Background(), ints(50), failOn(3, 47), Config[int]{Size: 10, ContinueOnError: true,
			Progress: func(p Progress) { last = p }})
		require.Len(t, res, 50)
		for i, r := range res {
			assert.Equal(t, i, r.it.Index)
			assert.Equal(t, i, r.it.In)
			if i < 10 || i >= 40 {
				var be *BatchError
				require.ErrorAs(t, r.err, &be, "item %d", i)
				assert.Equal(t, i/10*10, be.First)
				assert.Zero(t, r.it.Out)
				continue
			}
			assert.NoError(t, r.err)
			assert.Equal(t, 2*i, r.it.Out)
		}
		assert.Equal(t, 30, last.Done)
		assert.Equal(t, 20, last.Failed)
	})

	t.Run("wrong result count", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int64
		work := func(_ context.Context, items []int) ([]int, error) {
			calls.Add(1)
			return make([]int, len(items)-1), nil
		}
		res := runAll(context.Background(), ints(3), work, Config[int]{})
		require.Len(t, res, 1)
		assert.ErrorContains(t, res[0].err, "work returned 2 results for 3 items")
		assert.Equal(t, int64(1), calls.Load(), "not retried")
	})

	t.Run("Collect", func(t *testing.T) {
		t.Parallel()
		assert.NoError(t, Collect(context.Background(), ints(30), failOn(-1), Config[int]{Size: 4}))
		assert.ErrorIs(t, Collect(context.Background(), ints(30), failOn(17), Config[int]{Size: 4}), boom)
	})
}

func TestRunSourceError(t *testing.T) {
	t.Parallel()
	bad := errors.New("source broke")
	for _, before := range []int{0, 1, 10, 15} {
		t.Run(fmt.Sprint(before), func(t *testing.T) {
			t.Parallel()
			src := func(yield func(int, error) bool) {
				for i := range before {
					if !yield(i, nil) {
						return
					}
				}
				if yield(0, bad) {
					yield(99, nil)
				}
			}
			var rec recorder
			res := runAll(context.Background(), src, rec.work(double), Config[int]{Size: 5})
			require.Len(t, res, before+1)
			requireDoubled(t, res[:before], before)
			assert.ErrorIs(t, res[before].err, bad)
			for _, b := range rec.batches {
				assert.NotContains(t, b, 99)
			}
		})
	}
}

func TestRunProgress(t *testing.T) {
	t.Parallel()
	var snaps []Progress
	res := runAll(context.Background(), ints(25), double, Config[int]{Size: 10, Progress: func(p Progress) { snaps = append(snaps, p) }})
	requireDoubled(t, res, 25)
	require.Len(t, snaps, 3)
	for i, want := range []int{10, 20, 25} {
		assert.Equal(t, want, snaps[i].Done)
		assert.Zero(t, snaps[i].Failed)
	}
}

// TestRunStall holds the first batch while the others run: the run goes on
// with the next batches, but reads no further ahead than its window
// (2·Concurrency batches, plus the one being yielded and the one being cut),
// so memory stays bounded.
func TestRunStall(t *testing.T) {
	t.Parallel()
	const size, conc = 4, 3
	release := make(chan struct{})
	started := make(chan int, 1000)
	work := func(ctx context.Context, items []int) ([]int, error) {
		started <- items[0]
		if items[0] == 0 {
			<-release
		}
		return double(ctx, items)
	}
	var read, yielded, maxLead atomic.Int64
	src := func(yield func(int, error) bool) {
		for i := range 200 {
			lead := read.Add(1) - yielded.Load()
			for m := maxLead.Load(); lead > m && !maxLead.CompareAndSwap(m, lead); m = maxLead.Load() {
			}
			if !yield(i, nil) {
				return
			}
		}
	}
	go func() {
		// Every batch of the window starts while the first is held.
		for range 2*conc + 1 {
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Error("the batches after a stalled one did not start")
			}
		}
		close(release)
	}()
	n := 0
	for it, err := range Run(context.Background(), src, work, Config[int]{Size: size, Concurrency: conc}) {
		require.NoError(t, err)
		require.Equal(t, n, it.Index)
		n++
		yielded.Add(1)
	}
	assert.Equal(t, 200, n)
	assert.LessOrEqual(t, maxLead.Load(), int64((2*conc+2)*size))
}

func TestRunTransientErrors(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	tries := map[int]int{}
	work := func(ctx context.Context, items []int) ([]int, error) {
		mu.Lock()
		tries[items[0]]++
		n := tries[items[0]]
		mu.Unlock()
		if h := uint64(items[0])*0x9e3779b97f4a7c15 + uint64(n)*0xbf58476d1ce4e5b9; (h>>32)%10 == 0 {
			return nil, Temporary(errors.New("unavailable"), 0)
		}
		return double(ctx, items)
	}
	var last Progress
	res := runAll(context.Background(), ints(3000), work, Config[int]{Size: 16, Concurrency: 6, MaxAttempts: 10,
		BaseDelay: time.Microsecond, MaxDelay: 10 * time.Microsecond, Progress: func(p Progress) { last = p }})
	requireDoubled(t, res, 3000)
	assert.Positive(t, last.Retries)
	total := 0
	for _, n := range tries {
		total += n
	}
	assert.Equal(t, (3000+15)/16+last.Retries, total)
}

// The tests below check for leaked goroutines, so they do not run in
// parallel with others.

func TestRunCancel(t *testing.T) {
	t.Run("from the loop", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		var last error
		for _, err := range Run(ctx, ints(10_000), double, Config[int]{Size: 10}) {
			if err != nil {
				last = err
				continue
			}
			n++
			if n == 35 {
				cancel()
			}
		}
		assert.ErrorIs(t, last, context.Canceled)
		assert.Less(t, n, 10_000)
	})

	t.Run("stalled work", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ctx, cancel := context.WithCancel(context.Background())
		work := func(ctx context.Context, items []int) ([]int, error) {
			if items[0] == 20 {
				cancel()
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}
		res := runAll(ctx, ints(100), work, Config[int]{Size: 10, Concurrency: 4})
		require.NotEmpty(t, res)
		assert.ErrorIs(t, res[len(res)-1].err, context.Canceled)
	})

	t.Run("during a backoff", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ctx, cancel := context.WithCancel(context.Background())
		var once sync.Once
		work := func(context.Context, []int) ([]int, error) {
			once.Do(cancel)
			return nil, Temporary(errors.New("throttled"), time.Hour)
		}
		// The default Sleep: a timer that must give up when ctx ends.
		res := runAll(ctx, ints(3), work, Config[int]{MaxDelay: 2 * time.Hour})
		require.Len(t, res, 1)
		assert.ErrorIs(t, res[0].err, context.Canceled)
	})

	t.Run("with a cause", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		cause := errors.New("operator stopped the import")
		ctx, cancel := context.WithCancelCause(context.Background())
		work := func(ctx context.Context, items []int) ([]int, error) {
			if items[0] == 20 {
				cancel(cause)
			}
			<-ctx.Done()
			return nil, context.Cause(ctx)
		}
		for _, cfg := range []Config[int]{{Size: 10, Concurrency: 4}, {Size: 10, Concurrency: 4, ContinueOnError: true}} {
			res := runAll(ctx, ints(100), work, cfg)
			require.NotEmpty(t, res)
			last := res[len(res)-1].err
			assert.ErrorIs(t, last, cause)
			var be *BatchError
			assert.False(t, errors.As(last, &be), "a cancellation is not a failed batch: %v", last)
			for _, r := range res[:len(res)-1] {
				assert.NoError(t, r.err)
			}
		}
	})

	t.Run("Sleep error", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		stop := errors.New("no more waiting")
		work := func(context.Context, []int) ([]int, error) { return nil, Temporary(errors.New("throttled"), 0) }
		res := runAll(context.Background(), ints(3), work, Config[int]{
			Sleep: func(context.Context, time.Duration) error { return stop }})
		require.Len(t, res, 1)
		assert.ErrorIs(t, res[0].err, stop)
	})
}

func TestRunBreak(t *testing.T) {
	defer goleak.VerifyNone(t)
	var read atomic.Int64
	endless := func(yield func(int, error) bool) {
		for i := 0; ; i++ {
			read.Add(1)
			if !yield(i, nil) {
				return
			}
		}
	}
	var calls atomic.Int64
	work := func(ctx context.Context, items []int) ([]int, error) { calls.Add(1); return double(ctx, items) }
	n := 0
	for _, err := range Run(context.Background(), endless, work, Config[int]{Size: 5, Concurrency: 2}) {
		require.NoError(t, err)
		if n++; n == 7 {
			break
		}
	}
	// Two batches yielded, a window of four, the batch being cut.
	assert.LessOrEqual(t, calls.Load(), int64(2+4))
	assert.LessOrEqual(t, read.Load(), int64((2+4+1)*5+1))
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n         int
		base, max time.Duration
		bound     time.Duration // every wait is in [1ns, bound]
	}{
		{1, 100 * time.Millisecond, 10 * time.Second, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 10 * time.Second, 200 * time.Millisecond},
		{5, 100 * time.Millisecond, 10 * time.Second, 1600 * time.Millisecond},
		{70, time.Nanosecond, math.MaxInt64, math.MaxInt64}, // doubling must not overflow to no wait
		{8, 100 * time.Millisecond, 10 * time.Second, 10 * time.Second},
		{60, 100 * time.Millisecond, 10 * time.Second, 10 * time.Second},
		{3, time.Second, 500 * time.Millisecond, 500 * time.Millisecond},
		{1, time.Nanosecond, time.Nanosecond, time.Nanosecond},
		{40, time.Millisecond, time.Duration(math.MaxInt64) / 4, time.Duration(math.MaxInt64) / 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d/base=%v/max=%v", tt.n, tt.base, tt.max), func(t *testing.T) {
			t.Parallel()
			seen := map[time.Duration]bool{}
			for range 200 {
				d := Backoff(tt.n, tt.base, tt.max)
				require.GreaterOrEqual(t, d, time.Nanosecond)
				require.LessOrEqual(t, d, tt.bound)
				seen[d] = true
			}
			if tt.bound > time.Microsecond {
				assert.Greater(t, len(seen), 100, "full jitter spreads the waits")
			}
		})
	}
	assert.Zero(t, Backoff(3, 0, time.Second), "no base, no wait")
	assert.Zero(t, Backoff(3, 0, 0))
}

type retryFlag bool

func (r retryFlag) Error() string   { return "retry flag" }
func (r retryFlag) Retryable() bool { return bool(r) }

type tempFlag bool

func (r tempFlag) Error() string   { return "temp flag" }
func (r tempFlag) Temporary() bool { return bool(r) }

type hinted struct{ d time.Duration }

func (h hinted) Error() string             { return "hinted" }
func (h hinted) RetryAfter() time.Duration { return h.d }

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", boom, false},
		{"Temporary", Temporary(boom, 0), true},
		{"wrapped Temporary", fmt.Errorf("call: %w", Temporary(boom, time.Second)), true},
		{"joined Temporary", errors.Join(boom, Temporary(boom, 0)), true},
		{"Retryable true", retryFlag(true), true},
		{"Retryable false", retryFlag(false), false},
		{"Retryable false wins over Temporary", fmt.Errorf("%w: %w", retryFlag(false), tempFlag(true)), false},
		{"Temporary method true", tempFlag(true), true},
		{"Temporary method false", tempFlag(false), false},
		{"canceled", context.Canceled, false},
		{"canceled marked temporary", Temporary(context.Canceled, 0), false},
		{"wrapped canceled", fmt.Errorf("rpc: %w", context.Canceled), false},
		{"deadline", context.DeadlineExceeded, false},
		{"wrapped deadline", fmt.Errorf("rpc: %w", context.DeadlineExceeded), false},
		{"deadline marked retryable", Temporary(context.DeadlineExceeded, 0), true}, // an explicit mark wins
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, IsRetryable(tt.err))
		})
	}
}

func TestRetryAfterAndTemporary(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name   string
		err    error
		want   time.Duration
		wantOK bool
	}{
		{"plain", boom, 0, false},
		{"nil", nil, 0, false},
		{"no hint", Temporary(boom, 0), 0, false},
		{"hint", Temporary(boom, 3*time.Second), 3 * time.Second, true},
		{"wrapped hint", fmt.Errorf("x: %w", Temporary(boom, time.Millisecond)), time.Millisecond, true},
		{"negative hint", hinted{-time.Second}, 0, false},
		{"own type", hinted{time.Minute}, time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, ok := RetryAfter(tt.err)
			assert.Equal(t, tt.want, d)
			assert.Equal(t, tt.wantOK, ok)
		})
	}

	assert.NoError(t, Temporary(nil, time.Second))
	err := Temporary(boom, 0)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, "boom", err.Error())
	assert.True(t, strings.Contains(fmt.Sprint(Temporary(fmt.Errorf("ctx: %w", boom), 0)), "ctx: boom"))
}
