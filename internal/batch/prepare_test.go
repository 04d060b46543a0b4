package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runPrepared(ctx context.Context, n int, prepare Prepare[int, int], cfg Config[int]) []out {
	var res []out
	for it, err := range RunPrepared(ctx, ints(n), prepare, cfg) {
		res = append(res, out{it, err})
	}
	return res
}

func TestRunPreparedOrderAndRetries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var prepared []int // first item of each batch, in the order prepared
	var sends atomic.Int64
	prepare := func(_ context.Context, items []int) (func(context.Context) ([]int, error), error) {
		mu.Lock()
		prepared = append(prepared, items[0])
		mu.Unlock()
		doubled, _ := double(context.Background(), items)
		failures := 0
		if items[0]%30 == 0 {
			failures = 2 // every third batch fails twice, transiently
		}
		return func(context.Context) ([]int, error) {
			sends.Add(1)
			if failures > 0 {
				failures--
				return nil, Temporary(errors.New("flaky"), 0)
			}
			return doubled, nil
		}, nil
	}
	var sr sleepRecorder
	res := runPrepared(context.Background(), 95, prepare, Config[int]{Size: 10, Concurrency: 3, Sleep: sr.sleep})
	requireDoubled(t, res, 95)
	assert.Equal(t, []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}, prepared, "each batch is prepared once, in order")
	assert.Equal(t, int64(10+4*2), sends.Load(), "a retry sends again without preparing again")
}

// With one slot, the next batch is prepared while the current one is being
// sent: each send waits until its successor has been prepared, which would
// never happen if preparing waited for the slot.
func TestRunPreparedOverlapsSends(t *testing.T) {
	t.Parallel()
	const batches = 5
	var prepared atomic.Int64
	prepare := func(_ context.Context, items []int) (func(context.Context) ([]int, error), error) {
		k := prepared.Add(1)
		return func(ctx context.Context) ([]int, error) {
			deadline := time.Now().Add(10 * time.Second)
			for k < batches && prepared.Load() <= k {
				if time.Now().After(deadline) {
					return nil, fmt.Errorf("batch %d: the next batch was not prepared while this one was in flight", k)
				}
				time.Sleep(time.Millisecond)
			}
			return double(ctx, items)
		}, nil
	}
	res := runPrepared(context.Background(), 10*batches, prepare, Config[int]{Size: 10, Concurrency: 1})
	requireDoubled(t, res, 10*batches)
}

func TestRunPreparedErrors(t *testing.T) {
	t.Parallel()
	bad := errors.New("bad record")
	var sends atomic.Int64
	prepare := func(_ context.Context, items []int) (func(context.Context) ([]int, error), error) {
		if items[0] == 20 {
			return nil, bad
		}
		return func(ctx context.Context) ([]int, error) { sends.Add(1); return double(ctx, items) }, nil
	}
	t.Run("stops at the batch", func(t *testing.T) {
		t.Parallel()
		res := runPrepared(context.Background(), 50, prepare, Config[int]{Size: 10, Concurrency: 1})
		require.Len(t, res, 21, "the two batches before it, then its error")
		requireDoubled(t, res[:20], 20)
		var be *BatchError
		require.ErrorAs(t, res[20].err, &be)
		assert.ErrorIs(t, be, bad)
		assert.Equal(t, BatchError{First: 20, Last: 29, Attempts: 1, Err: bad}, *be)
	})
	t.Run("continue on error", func(t *testing.T) {
		t.Parallel()
		res := runPrepared(context.Background(), 50, prepare, Config[int]{Size: 10, Concurrency: 2, ContinueOnError: true})
		require.Len(t, res, 50)
		for i, r := range res {
			if i >= 20 && i < 30 {
				assert.ErrorIs(t, r.err, bad, "item %d", i)
			} else {
				assert.NoError(t, r.err, "item %d", i)
			}
		}
	})
	t.Run("no send function", func(t *testing.T) {
		t.Parallel()
		res := runPrepared(context.Background(), 5, func(context.Context, []int) (func(context.Context) ([]int, error), error) {
			return nil, nil
		}, Config[int]{})
		require.Len(t, res, 1)
		assert.ErrorContains(t, res[0].err, "no send function")
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		prepare := func(ctx context.Context, items []int) (func(context.Context) ([]int, error), error) {
			if items[0] == 10 {
				cancel()
				return nil, ctx.Err()
			}
			return func(ctx context.Context) ([]int, error) { return double(ctx, items) }, nil
		}
		var last error
		for _, err := range RunPrepared(ctx, ints(50), prepare, Config[int]{Size: 10, Concurrency: 1}) {
			if err != nil {
				last = err
			}
		}
		assert.ErrorIs(t, last, context.Canceled)
	})
}
