package embedding_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalhq/shoal/index/driver"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/shoalhq/shoal/embedding"
)

// fastRetry keeps backoff waits in microseconds.
var fastRetry = embedding.WithRetry(5, time.Microsecond, 100*time.Microsecond)

// requireInOrder checks that results are the inputs' vectors, in order.
func requireInOrder(t *testing.T, res []result, n, dim int) {
	t.Helper()
	require.Len(t, res, n)
	for i, r := range res {
		require.NoError(t, r.err, "result %d", i)
		require.Equal(t, strconv.Itoa(i), r.e.Input.ID, "result %d", i)
		require.Len(t, r.e.Vector, dim)
		require.Equal(t, float32(i), r.e.Vector[0], "vector of input %d", i)
	}
}

// jitter sleeps a pseudo-random few hundred microseconds derived from the
// batch, so that batches finish out of order.
func jitter(in []embedding.Input) {
	n, _ := strconv.Atoi(in[0].ID)
	time.Sleep(time.Duration((n*7919)%300) * time.Microsecond)
}

func TestEncodeAllOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, batch, concurrency int
	}{
		{0, 32, 4},
		{1, 32, 4},
		{31, 32, 4},
		{32, 32, 4},
		{33, 32, 4},
		{100, 1, 3},
		{1000, 7, 8},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d/batch=%d/conc=%d", tt.n, tt.batch, tt.concurrency), func(t *testing.T) {
			t.Parallel()
			f := newFake(4)
			f.fn = func(_ context.Context, in []embedding.Input, _ int) ([][]float32, error) {
				jitter(in)
				return vectorsFor(4, in), nil
			}
			res := collect(context.Background(), f, inputs(tt.n),
				embedding.WithBatchSize(tt.batch), embedding.WithConcurrency(tt.concurrency))
			requireInOrder(t, res, tt.n, 4)

			_, batches, maxInFlight := f.stats()
			assert.LessOrEqual(t, maxInFlight, tt.concurrency)
			assert.Len(t, batches, (tt.n+tt.batch-1)/tt.batch)
			for _, b := range batches {
				assert.LessOrEqual(t, len(b), tt.batch)
			}
			for i := range tt.n {
				assert.Equal(t, 1, f.succeeded[strconv.Itoa(i)], "input %d embedded once", i)
			}
		})
	}
}

// TestEncodeAllConcurrency proves that batches run concurrently: the first
// calls each wait until `concurrency` of them are in flight at once.
func TestEncodeAllConcurrency(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{2, 4, 8} {
		t.Run(strconv.Itoa(conc), func(t *testing.T) {
			t.Parallel()
			g := newGate(conc)
			var stuck atomic.Bool
			f := newFake(2)
			f.fn = func(ctx context.Context, in []embedding.Input, _ int) ([][]float32, error) {
				if !g.wait(ctx) {
					stuck.Store(true)
				}
				return vectorsFor(2, in), nil
			}
			res := collect(context.Background(), f, inputs(10*conc), embedding.WithBatchSize(2), embedding.WithConcurrency(conc))
			requireInOrder(t, res, 10*conc, 2)
			assert.False(t, stuck.Load(), "%d calls were never in flight at once", conc)
			_, _, maxInFlight := f.stats()
			assert.Equal(t, conc, maxInFlight)
		})
	}
}

func TestEncodeAllBatchLimits(t *testing.T) {
	t.Parallel()
	// Inputs of varied sizes (Input.Size counts ID and Text), one of them
	// larger than the byte budget on its own.
	sized := func() []embedding.Input {
		in := inputs(40)
		for i := range in {
			in[i].Text = strings.Repeat("x", (i*37)%45)
		}
		in[17].Text = strings.Repeat("y", 500)
		return in
	}
	tests := []struct {
		name          string
		in            []embedding.Input
		maxBatch      int
		maxBytes      int
		opts          []embedding.Option
		wantMaxLen    int
		wantBatches   int // 0: not checked
		wantAloneIDs  []string
		wantMaxBudget int
	}{
		{name: "MaxBatch caps the default", in: inputs(23), maxBatch: 5, wantMaxLen: 5, wantBatches: 5},
		{name: "MaxBatch caps WithBatchSize", in: inputs(23), maxBatch: 3, opts: []embedding.Option{embedding.WithBatchSize(10)},
			wantMaxLen: 3, wantBatches: 8},
		{name: "batch size under MaxBatch", in: inputs(23), maxBatch: 50, opts: []embedding.Option{embedding.WithBatchSize(10)},
			wantMaxLen: 10, wantBatches: 3},
		{name: "no limits", in: inputs(70), wantMaxLen: embedding.DefaultBatchSize, wantBatches: 3},
		{name: "byte budget", in: sized(), maxBytes: 100, wantMaxLen: embedding.DefaultBatchSize,
			wantAloneIDs: []string{"17"}, wantMaxBudget: 100},
		{name: "byte budget and MaxBatch", in: sized(), maxBatch: 2, maxBytes: 60, wantMaxLen: 2,
			wantAloneIDs: []string{"17"}, wantMaxBudget: 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(3)
			f.info.MaxBatch, f.info.MaxBatchBytes = tt.maxBatch, tt.maxBytes
			res := collect(context.Background(), f, tt.in, append([]embedding.Option{embedding.WithConcurrency(3)}, tt.opts...)...)
			requireInOrder(t, res, len(tt.in), 3)

			_, batches, _ := f.stats()
			if tt.wantBatches > 0 {
				assert.Len(t, batches, tt.wantBatches)
			}
			size := make(map[string]int)
			for _, x := range tt.in {
				size[x.ID] = x.Size()
			}
			for _, b := range batches {
				assert.LessOrEqual(t, len(b), tt.wantMaxLen, b)
				if tt.wantMaxBudget > 0 && len(b) > 1 {
					sum := 0
					for _, id := range b {
						sum += size[id]
					}
					assert.LessOrEqual(t, sum, tt.wantMaxBudget, "batch %v", b)
				}
				for _, id := range tt.wantAloneIDs {
					if len(b) > 1 {
						assert.NotContains(t, b, id, "an input over the budget goes alone")
					}
				}
			}
		})
	}
}

func TestEncodeAllRetry(t *testing.T) {
	t.Parallel()
	unavailable := errors.New("fake: unavailable")
	tests := []struct {
		name      string
		failures  int   // failing attempts of each batch
		err       error // the error of a failing attempt
		opts      []embedding.Option
		wantErr   error // nil: every input is embedded
		wantCalls int   // calls per batch
	}{
		{name: "Temporary", failures: 2, err: driver.Temporary(unavailable, 0), wantCalls: 3},
		{name: "wrapped Temporary", failures: 1, err: fmt.Errorf("rpc: %w", driver.Temporary(unavailable, 0)), wantCalls: 2},
		{name: "Retryable method", failures: 4, err: retryableError{retry: true}, wantCalls: 5},
		{name: "Temporary method", failures: 1, err: temporaryError{}, wantCalls: 2},
		{name: "attempts run out", failures: 99, err: driver.Temporary(unavailable, 0), wantErr: unavailable, wantCalls: 5},
		{name: "fewer attempts", failures: 99, err: driver.Temporary(unavailable, 0),
			opts: []embedding.Option{embedding.WithRetry(2, time.Microsecond, time.Millisecond)}, wantErr: unavailable, wantCalls: 2},
		{name: "one attempt", failures: 1, err: driver.Temporary(unavailable, 0),
			opts: []embedding.Option{embedding.WithRetry(1, time.Microsecond, time.Millisecond)}, wantErr: unavailable, wantCalls: 1},
		{name: "Retryable false", failures: 1, err: retryableError{retry: false}, wantErr: retryableError{}, wantCalls: 1},
		{name: "plain error", failures: 1, err: errPermanent, wantErr: errPermanent, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(2)
			f.fn = func(_ context.Context, in []embedding.Input, attempt int) ([][]float32, error) {
				if attempt <= tt.failures {
					return nil, tt.err
				}
				return vectorsFor(2, in), nil
			}
			var last embedding.Progress
			opts := append([]embedding.Option{fastRetry, embedding.WithBatchSize(5), embedding.WithConcurrency(1),
				embedding.WithProgress(func(p embedding.Progress) { last = p })}, tt.opts...)
			res := collect(context.Background(), f, inputs(20), opts...)

			if tt.wantErr == nil {
				requireInOrder(t, res, 20, 2)
				assert.Equal(t, 4*(tt.wantCalls-1), last.Retries)
				for _, first := range []string{"0", "5", "10", "15"} {
					assert.Equal(t, tt.wantCalls, f.attempts[first], "calls of batch %s", first)
				}
				return
			}
			require.Len(t, res, 1)
			assert.ErrorIs(t, res[0].err, tt.wantErr)
			assert.Equal(t, "0", res[0].e.Input.ID, "the failed batch's first input")
			assert.Nil(t, res[0].e.Vector)
			assert.Equal(t, tt.wantCalls, f.attempts["0"])
			assert.Equal(t, tt.wantCalls-1, last.Retries)
		})
	}
}

// TestEncodeAllRetryAfter checks that a server's retry-after hint is
// waited for, and capped by the backoff's maximum.
func TestEncodeAllRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		after    time.Duration
		maxDelay time.Duration
		minWait  time.Duration
	}{
		{"hint honoured", 30 * time.Millisecond, time.Second, 30 * time.Millisecond},
		{"hint capped by the maximum delay", time.Hour, 5 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var times []time.Time
			f := newFake(2)
			f.fn = func(_ context.Context, in []embedding.Input, attempt int) ([][]float32, error) {
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
				if attempt == 1 {
					return nil, driver.Temporary(errors.New("fake: throttled"), tt.after)
				}
				return vectorsFor(2, in), nil
			}
			// A guard: if the hint were not capped, the run would end with
			// the context's error instead of hanging.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res := collect(ctx, f, inputs(3), embedding.WithRetry(3, time.Nanosecond, tt.maxDelay))
			requireInOrder(t, res, 3, 2)
			require.Len(t, times, 2)
			assert.GreaterOrEqual(t, times[1].Sub(times[0]), tt.minWait)
		})
	}
}

func TestEncodeAllStopsOnPermanentError(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 4} {
		t.Run(strconv.Itoa(conc), func(t *testing.T) {
			t.Parallel()
			f := newFake(2)
			f.fn = func(_ context.Context, in []embedding.Input, _ int) ([][]float32, error) {
				for _, x := range in {
					if x.ID == "42" {
						return nil, fmt.Errorf("%w: input %q: unreadable", embedding.ErrInvalidInput, x.ID)
					}
				}
				return vectorsFor(2, in), nil
			}
			res := collect(context.Background(), f, inputs(100), embedding.WithBatchSize(10), embedding.WithConcurrency(conc))
			require.Len(t, res, 41, "40 inputs, then the failed batch's error, then the end")
			requireInOrder(t, res[:40], 40, 2)
			last := res[40]
			require.Error(t, last.err)
			assert.ErrorIs(t, last.err, embedding.ErrInvalidInput)
			assert.Contains(t, last.err.Error(), `input "42"`)
			assert.Equal(t, "40", last.e.Input.ID, "the failed batch's first input")
			assert.Equal(t, 1, f.attempts["40"], "not retried")
		})
	}
}

func TestEncodeAllBadOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(out [][]float32) [][]float32 // spoils the answer for batch 10-19
		named string
	}{
		{"too few vectors", func(out [][]float32) [][]float32 { return out[:9] }, `(first input "10")`},
		{"too many vectors", func(out [][]float32) [][]float32 { return append(out, out[0]) }, `(first input "10")`},
		{"no vectors", func([][]float32) [][]float32 { return nil }, `(first input "10")`},
		{"short vector", func(out [][]float32) [][]float32 { out[3] = out[3][:2]; return out }, `input "13": vector of length 2, want 3`},
		{"long vector", func(out [][]float32) [][]float32 { out[3] = append(out[3], 0); return out }, `input "13": vector of length 4`},
		{"nil vector", func(out [][]float32) [][]float32 { out[3] = nil; return out }, `input "13": vector of length 0`},
		{"NaN", func(out [][]float32) [][]float32 { out[3][1] = float32(math.NaN()); return out }, `input "13": element 1 is NaN`},
		{"+Inf", func(out [][]float32) [][]float32 { out[3][2] = float32(math.Inf(1)); return out }, `input "13": element 2 is +Inf`},
		{"-Inf", func(out [][]float32) [][]float32 { out[7][0] = float32(math.Inf(-1)); return out }, `input "17": element 0 is -Inf`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(3)
			f.fn = func(_ context.Context, in []embedding.Input, _ int) ([][]float32, error) {
				out := vectorsFor(3, in)
				if in[0].ID == "10" {
					out = tt.spoil(out)
				}
				return out, nil
			}
			res := collect(context.Background(), f, inputs(30), embedding.WithBatchSize(10), embedding.WithConcurrency(2))
			require.Len(t, res, 11)
			requireInOrder(t, res[:10], 10, 3)
			assert.ErrorIs(t, res[10].err, embedding.ErrBadOutput)
			assert.Contains(t, res[10].err.Error(), tt.named)
			assert.Equal(t, "10", res[10].e.Input.ID)
			assert.Equal(t, 1, f.attempts["10"], "bad output is not retried")
		})
	}
}

func TestCheckOutput(t *testing.T) {
	t.Parallel()
	info := embedding.Info{Model: "m", Dim: 2}
	in := []embedding.Input{{ID: "a"}, {ID: "b"}}
	tests := []struct {
		name string
		vecs [][]float32
		want string // "" for no error
	}{
		{"ok", [][]float32{{1, 2}, {3, 4}}, ""},
		{"count", [][]float32{{1, 2}}, `1 vectors for 2 inputs (first input "a")`},
		{"dimension", [][]float32{{1, 2}, {3}}, `input "b": vector of length 1, want 2`},
		{"NaN", [][]float32{{float32(math.NaN()), 2}, {3, 4}}, `input "a": element 0 is NaN`},
		{"Inf", [][]float32{{1, 2}, {3, float32(math.Inf(1))}}, `input "b": element 1 is +Inf`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := embedding.CheckOutput(info, in, tt.vecs)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, embedding.ErrBadOutput)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestEncodeAllRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		enc     embedding.Encoder
		opts    []embedding.Option
		wantErr error
	}{
		{"batch size", newFake(2), []embedding.Option{embedding.WithBatchSize(0)}, embedding.ErrInvalidOption},
		{"concurrency", newFake(2), []embedding.Option{embedding.WithConcurrency(-1)}, embedding.ErrInvalidOption},
		{"attempts", newFake(2), []embedding.Option{embedding.WithRetry(0, time.Millisecond, time.Second)}, embedding.ErrInvalidOption},
		{"negative base", newFake(2), []embedding.Option{embedding.WithRetry(3, -time.Millisecond, time.Second)}, embedding.ErrInvalidOption},
		{"max below base", newFake(2), []embedding.Option{embedding.WithRetry(3, time.Second, time.Millisecond)}, embedding.ErrInvalidOption},
		{"nil encoder", nil, nil, embedding.ErrInvalidOption},
		{"zero dimension", newFake(0), nil, embedding.ErrBadOutput},
		{"upsert-only option", newFake(2), []embedding.Option{embedding.WithAllowDuplicates()}, embedding.ErrInvalidOption},
		{"negative max bytes", newFake(2), []embedding.Option{embedding.WithMaxBatchBytes(-1)}, embedding.ErrInvalidOption},
		{"nil progress", newFake(2), []embedding.Option{embedding.WithProgress(nil)}, embedding.ErrInvalidOption},
		{"nil logger", newFake(2), []embedding.Option{embedding.WithLogger(nil)}, embedding.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := collect(context.Background(), tt.enc, inputs(5), tt.opts...)
			require.Len(t, res, 1)
			assert.ErrorIs(t, res[0].err, tt.wantErr)
			if f, ok := tt.enc.(*fakeEncoder); ok {
				calls, _, _ := f.stats()
				assert.Zero(t, calls)
			}
		})
	}
}

func TestEncodeAllContinueOnError(t *testing.T) {
	t.Parallel()
	f := newFake(2)
	f.fn = func(_ context.Context, in []embedding.Input, _ int) ([][]float32, error) {
		for _, x := range in {
			if x.ID == "25" || x.ID == "71" {
				return nil, fmt.Errorf("input %q: %w", x.ID, errPermanent)
			}
		}
		return vectorsFor(2, in), nil
	}
	var last embedding.Progress
	res := collect(context.Background(), f, inputs(100), embedding.WithBatchSize(10), embedding.WithConcurrency(4),
		embedding.WithContinueOnError(), embedding.WithProgress(func(p embedding.Progress) { last = p }))
	require.Len(t, res, 100)
	for i, r := range res {
		require.Equal(t, strconv.Itoa(i), r.e.Input.ID, "result %d", i)
		if (i >= 20 && i < 30) || (i >= 70 && i < 80) {
			assert.ErrorIs(t, r.err, errPermanent, "input %d", i)
			assert.Nil(t, r.e.Vector)
			continue
		}
		assert.NoError(t, r.err, "input %d", i)
		assert.Equal(t, float32(i), r.e.Vector[0])
	}
	assert.Contains(t, res[20].err.Error(), `input "25"`)
	assert.Equal(t, 80, last.Done)
	assert.Equal(t, 20, last.Failed)
}

func TestEncodeAllInputStreamError(t *testing.T) {
	t.Parallel()
	errSource := errors.New("fake: source broke")
	tests := []struct {
		name   string
		before int // inputs before the error
	}{
		{"immediately", 0},
		{"inside a batch", 25},
		{"at a batch boundary", 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := func(yield func(embedding.Input, error) bool) {
				for _, x := range inputs(tt.before) {
					if !yield(x, nil) {
						return
					}
				}
				if !yield(embedding.Input{}, errSource) {
					return
				}
				yield(embedding.Input{ID: "never"}, nil)
			}
			f := newFake(2)
			var res []result
			for e, err := range embedding.EncodeAll(context.Background(), f, src, embedding.WithBatchSize(10)) {
				res = append(res, result{e, err})
			}
			require.Len(t, res, tt.before+1)
			requireInOrder(t, res[:tt.before], tt.before, 2)
			assert.ErrorIs(t, res[tt.before].err, errSource)
			assert.Zero(t, f.succeeded["never"])
		})
	}
}

func TestEncodeAllProgress(t *testing.T) {
	t.Parallel()
	f := newFake(2)
	f.fn = func(_ context.Context, in []embedding.Input, attempt int) ([][]float32, error) {
		if in[0].ID == "30" && attempt == 1 {
			return nil, driver.Temporary(errors.New("fake: blip"), 0)
		}
		return vectorsFor(2, in), nil
	}
	var snaps []embedding.Progress // appended without a lock: calls come from the ranging goroutine
	res := collect(context.Background(), f, inputs(95), fastRetry, embedding.WithBatchSize(10), embedding.WithConcurrency(4),
		embedding.WithProgress(func(p embedding.Progress) { snaps = append(snaps, p) }))
	requireInOrder(t, res, 95, 2)
	require.Len(t, snaps, 10, "one snapshot per batch")
	for i, p := range snaps {
		assert.Equal(t, min(10*(i+1), 95), p.Done, "snapshot %d", i)
		assert.Zero(t, p.Failed)
		if i > 0 {
			assert.GreaterOrEqual(t, p.Elapsed, snaps[i-1].Elapsed)
		}
	}
	assert.Equal(t, 1, snaps[9].Retries)
	assert.Positive(t, snaps[9].Elapsed)
}

// TestEncodeAllTransientErrors runs 10,000 inputs through an encoder that
// fails 5% of its calls with a transient error: every input comes out once,
// in order, and was embedded exactly once.
func TestEncodeAllTransientErrors(t *testing.T) {
	t.Parallel()
	const n = 10_000
	f := newFake(4)
	f.fn = func(_ context.Context, in []embedding.Input, attempt int) ([][]float32, error) {
		// A deterministic 5% of (batch, attempt) pairs fail.
		first, _ := strconv.Atoi(in[0].ID)
		if h := uint64(first)*0x9e3779b97f4a7c15 + uint64(attempt)*0xbf58476d1ce4e5b9; (h>>32)%100 < 5 {
			return nil, driver.Temporary(errors.New("fake: unavailable"), 0)
		}
		return vectorsFor(4, in), nil
	}
	var last embedding.Progress
	res := collect(context.Background(), f, inputs(n), embedding.WithRetry(10, time.Microsecond, 50*time.Microsecond),
		embedding.WithBatchSize(32), embedding.WithConcurrency(8), embedding.WithProgress(func(p embedding.Progress) { last = p }))
	requireInOrder(t, res, n, 4)
	for i := range n {
		require.Equal(t, 1, f.succeeded[strconv.Itoa(i)], "input %d", i)
	}
	calls, _, _ := f.stats()
	batches := (n + 31) / 32
	assert.Equal(t, n, last.Done)
	assert.Positive(t, last.Retries, "some calls failed")
	assert.Equal(t, batches+last.Retries, calls)
	t.Logf("%d batches, %d retries", batches, last.Retries)
}

func TestEncodeAllLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	f := newFake(2)
	f.fn = func(_ context.Context, in []embedding.Input, attempt int) ([][]float32, error) {
		if attempt == 1 {
			return nil, driver.Temporary(errors.New("fake: blip"), 0)
		}
		return nil, errPermanent
	}
	res := collect(context.Background(), f, inputs(3), fastRetry, embedding.WithLogger(logger))
	require.Len(t, res, 1)
	assert.ErrorIs(t, res[0].err, errPermanent)
	log := buf.String()
	assert.Equal(t, 2, strings.Count(log, "shoal: encode batch failed"), log)
	assert.Contains(t, log, "level=WARN")
	assert.Contains(t, log, "first_id=0")
	assert.Contains(t, log, "retryable=true")
	assert.Contains(t, log, "retryable=false")
	assert.Contains(t, log, "model=fake/v1")
}

func TestInputs(t *testing.T) {
	t.Parallel()
	in := inputs(5)
	var got []string
	for x, err := range embedding.Inputs(in) {
		require.NoError(t, err)
		got = append(got, x.ID)
		if x.ID == "2" {
			break
		}
	}
	assert.Equal(t, []string{"0", "1", "2"}, got)
}

// The tests below check for leaked goroutines, so they do not run in
// parallel with others.

func TestEncodeAllCancel(t *testing.T) {
	t.Run("from the loop", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := newFake(2)
		var res []result
		for e, err := range embedding.EncodeAll(ctx, f, embedding.Inputs(inputs(1000)), embedding.WithBatchSize(10)) {
			res = append(res, result{e, err})
			if len(res) == 50 {
				cancel()
			}
		}
		require.GreaterOrEqual(t, len(res), 51)
		require.Less(t, len(res), 1000)
		requireInOrder(t, res[:len(res)-1], len(res)-1, 2)
		assert.ErrorIs(t, res[len(res)-1].err, context.Canceled)
	})

	t.Run("during a backoff", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		called := make(chan struct{})
		var once sync.Once
		f := newFake(2)
		f.fn = func(context.Context, []embedding.Input, int) ([][]float32, error) {
			once.Do(func() { close(called) })
			return nil, driver.Temporary(errors.New("fake: throttled"), time.Hour)
		}
		go func() {
			<-called
			cancel()
		}()
		res := collect(ctx, f, inputs(5), embedding.WithRetry(5, time.Millisecond, 2*time.Hour))
		require.Len(t, res, 1)
		assert.ErrorIs(t, res[0].err, context.Canceled)
		assert.Equal(t, 1, f.attempts["0"])
	})

	t.Run("during a call", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := newFake(2)
		f.fn = func(ctx context.Context, in []embedding.Input, _ int) ([][]float32, error) {
			if in[0].ID == "0" {
				cancel()
			}
			<-ctx.Done() // every call blocks until the run is cancelled
			return nil, ctx.Err()
		}
		res := collect(ctx, f, inputs(100), embedding.WithBatchSize(10))
		require.Len(t, res, 1)
		assert.ErrorIs(t, res[0].err, context.Canceled)
	})

	t.Run("before the start", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := newFake(2)
		res := collect(ctx, f, inputs(100))
		require.Len(t, res, 1)
		assert.ErrorIs(t, res[0].err, context.Canceled)
	})
}

// endless is an input stream that never ends; it counts the inputs read.
func endless(read *atomic.Int64) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		for i := 0; ; i++ {
			read.Add(1)
			if !yield(embedding.Input{ID: strconv.Itoa(i)}, nil) {
				return
			}
		}
	}
}

func TestEncodeAllBreak(t *testing.T) {
	const batch, conc = 10, 4
	t.Run("endless input", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		var read atomic.Int64
		f := newFake(2)
		n := 0
		for _, err := range embedding.EncodeAll(context.Background(), f, endless(&read),
			embedding.WithBatchSize(batch), embedding.WithConcurrency(conc)) {
			require.NoError(t, err)
			n++
			if n == 25 {
				break
			}
		}
		// EncodeAll has returned, so nothing runs any more. Only the batches
		// yielded (3), those of the window (2·conc) and the one being cut
		// were read; the cut one was never sent.
		const yielded = 3
		calls, _, _ := f.stats()
		assert.LessOrEqual(t, calls, yielded+2*conc)
		assert.LessOrEqual(t, read.Load(), int64((yielded+2*conc+1)*batch+1))
		callsAfter, _, _ := f.stats()
		assert.Equal(t, calls, callsAfter)
	})

	t.Run("while failed inputs are yielded", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		f := newFake(2)
		f.fn = func(context.Context, []embedding.Input, int) ([][]float32, error) { return nil, errPermanent }
		n := 0
		for _, err := range embedding.EncodeAll(context.Background(), f, embedding.Inputs(inputs(500)),
			embedding.WithContinueOnError(), embedding.WithBatchSize(batch)) {
			require.ErrorIs(t, err, errPermanent)
			n++
			if n == 3 {
				break
			}
		}
		calls, _, _ := f.stats()
		assert.LessOrEqual(t, calls, 2*embedding.DefaultConcurrency+2)
	})

	t.Run("while a call is slow", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		f := newFake(2)
		f.fn = func(ctx context.Context, in []embedding.Input, _ int) ([][]float32, error) {
			if in[0].ID != "0" { // every batch but the first waits for the end
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return vectorsFor(2, in), nil
		}
		for e, err := range embedding.EncodeAll(context.Background(), f, embedding.Inputs(inputs(500)), embedding.WithBatchSize(batch)) {
			require.NoError(t, err)
			if e.Input.ID == "9" {
				break
			}
		}
	})
}

func TestInfoNamespace(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ model, prefix string }{
		{"local/pixels gray 28x28 seed=1", "local-pixels-gray-28x28-seed-1-"},
		{"", "model-"},
		{"///", "model-"},
		{"Text-Embedding-005", "text-embedding-005-"},
		{strings.Repeat("a", 100), strings.Repeat("a", 40) + "-"},
	} {
		ns := embedding.Info{Model: c.model}.Namespace()
		assert.True(t, strings.HasPrefix(ns, c.prefix), "%q → %q", c.model, ns)
		assert.Len(t, ns, len(c.prefix)+8)
		assert.Regexp(t, `^[a-z0-9-]+$`, ns)
	}
	a, b := embedding.Info{Model: "m v1"}.Namespace(), embedding.Info{Model: "m/v1"}.Namespace()
	assert.NotEqual(t, a, b, "models whose slugs agree get two namespaces")
	assert.Equal(t, a, embedding.Info{Model: "m v1", Dim: 3}.Namespace(), "only the model name counts")
}

// A nil context is an error, not a panic (issue 20, defect 15).
func TestEncodeAllNilContext(t *testing.T) {
	t.Parallel()
	f := newFake(2)
	var nilCtx context.Context
	var err error
	require.NotPanics(t, func() {
		for _, e := range embedding.EncodeAll(nilCtx, f, embedding.Inputs(inputs(3))) {
			err = e
			break
		}
	})
	assert.ErrorIs(t, err, embedding.ErrInvalidOption)
	calls, _, _ := f.stats()
	assert.Zero(t, calls)
}
