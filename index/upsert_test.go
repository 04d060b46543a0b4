package index_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index/driver"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/shoalhq/shoal/index"
)

// makeRecords returns n valid records "r00000"... whose vector encodes their
// position.
func makeRecords(n int) []index.Record {
	recs := make([]index.Record, n)
	for i := range recs {
		recs[i] = index.Record{
			ID:       fmt.Sprintf("r%05d", i),
			Vector:   []float32{float32(i), 1, 2, 3},
			Metadata: index.Metadata{"i": int64(i)},
		}
	}
	return recs
}

// fastRetry keeps retries but makes the backoff negligible.
var fastRetry = embedding.WithRetry(5, time.Microsecond, time.Microsecond)

// errTransient is what the fake store returns for an injected transient
// failure.
var errTransient = driver.Temporary(fmt.Errorf("fake: %w", index.ErrUnavailable), 0)

func assertAllStored(t *testing.T, s *fakeStore, want []index.Record) {
	t.Helper()
	_, recs, _, _ := s.snapshot()
	require.Len(t, recs, len(want), "records in the store")
	for _, w := range want {
		got, ok := recs[w.ID]
		if !assert.True(t, ok, "record %q lost", w.ID) || !assert.Equal(t, w.Vector, got.Vector, "record %q", w.ID) {
			return
		}
	}
}

func TestUpsertAllBatchSizes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n, size, conc int
		want          []int // batch sizes, in any order
	}{
		{n: 1050, size: 100, conc: 4, want: []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50}},
		{n: 7, size: 10, conc: 2, want: []int{7}},
		{n: 5, size: 1, conc: 3, want: []int{1, 1, 1, 1, 1}},
		{n: 200, size: 100, conc: 1, want: []int{100, 100}},
		{n: 250, size: 0, conc: 0, want: []int{100, 100, 50}}, // defaults: 100 a batch
	} {
		t.Run(fmt.Sprintf("n=%d,size=%d,conc=%d", c.n, c.size, c.conc), func(t *testing.T) {
			t.Parallel()
			s := newFakeStore()
			var opts []embedding.Option
			if c.size > 0 {
				opts = append(opts, embedding.WithBatchSize(c.size), embedding.WithConcurrency(c.conc))
			}
			recs := makeRecords(c.n)
			n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), opts...)
			require.NoError(t, err)
			assert.Equal(t, c.n, n)
			sizes, _, acks, _ := s.snapshot()
			assert.ElementsMatch(t, c.want, sizes, "batch sizes")
			assert.Len(t, acks, c.n)
			assertAllStored(t, s, recs)
		})
	}
}

func TestUpsertAllMaxBatchBytes(t *testing.T) {
	t.Parallel()
	// Each record weighs len(ID) + 4·len(Vector) + Metadata.Size():
	// 6 + 16 + 2 = 24 bytes without metadata.
	recs := makeRecords(10)
	for i := range recs {
		recs[i].Metadata = nil
	}
	require.Equal(t, 24, len(recs[0].ID)+4*len(recs[0].Vector)+recs[0].Metadata.Size())
	for _, c := range []struct {
		size, maxBytes int
		want           []int
	}{
		{10, 100, []int{4, 4, 2}}, // a fifth record would make 120 bytes
		{10, 48, []int{2, 2, 2, 2, 2}},
		{10, 10, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}, // a record over the budget goes alone
		{10, 0, []int{10}},                            // no budget
		{3, 100, []int{3, 3, 3, 1}},                   // the count limit binds first
	} {
		t.Run(fmt.Sprintf("size=%d,bytes=%d", c.size, c.maxBytes), func(t *testing.T) {
			t.Parallel()
			s := newFakeStore()
			n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs),
				embedding.WithBatchSize(c.size), embedding.WithMaxBatchBytes(c.maxBytes), embedding.WithConcurrency(1))
			require.NoError(t, err)
			assert.Equal(t, len(recs), n)
			sizes, _, _, _ := s.snapshot()
			assert.Equal(t, c.want, sizes, "batch sizes, in order (concurrency 1)")
		})
	}
}

// returnSignal wraps a fakeStore and reports each Upsert as it returns.
type returnSignal struct {
	*fakeStore
	returned chan<- struct{}
}

func (s returnSignal) Upsert(ctx context.Context, ns string, recs []index.Record) error {
	err := s.fakeStore.Upsert(ctx, ns, recs)
	s.returned <- struct{}{}
	return err
}

// TestUpsertAllOutOfOrderCompletion holds the four batches of a run until all
// four are in flight, then lets them finish last to first: the outcome must
// not depend on the order in which batches complete.
func TestUpsertAllOutOfOrderCompletion(t *testing.T) {
	t.Parallel()
	const conc = 4
	arrived := make(chan struct{}, conc)
	returned := make(chan struct{}, conc)
	release := make([]chan struct{}, conc)
	for i := range release {
		release[i] = make(chan struct{})
	}
	var slot atomic.Int32
	s := newFakeStore()
	s.hook = func(context.Context, int, []index.Record) (bool, error) {
		k := slot.Add(1) - 1
		arrived <- struct{}{}
		<-release[k]
		return false, nil
	}
	done := make(chan struct{})
	var progress []embedding.Progress
	var n int
	var err error
	go func() {
		defer close(done)
		n, err = index.UpsertAll(t.Context(), returnSignal{s, returned}, "ns", index.Records(makeRecords(2*conc)),
			embedding.WithBatchSize(2), embedding.WithConcurrency(conc),
			embedding.WithProgress(func(p embedding.Progress) { progress = append(progress, p) }))
	}()
	for range conc {
		<-arrived
	}
	for k := conc - 1; k >= 0; k-- {
		close(release[k])
		<-returned // batch k is done before batch k-1 may finish
	}
	<-done
	require.NoError(t, err)
	assert.Equal(t, 2*conc, n)
	assertAllStored(t, s, makeRecords(2*conc))
	require.NotEmpty(t, progress)
	assert.Equal(t, 2*conc, progress[len(progress)-1].Done)
	for i := 1; i < len(progress); i++ {
		assert.GreaterOrEqual(t, progress[i].Done, progress[i-1].Done, "progress never goes back")
	}
}

func TestUpsertAllRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	for _, transient := range []error{
		errTransient,
		driver.Temporary(index.ErrResourceExhausted, time.Microsecond), // with a retry-after hint
		fmt.Errorf("wrapped: %w", driver.Temporary(errors.New("503"), 0)),
	} {
		t.Run(transient.Error(), func(t *testing.T) {
			t.Parallel()
			s := newFakeStore()
			var mu sync.Mutex
			attempts := map[string]int{}
			s.hook = func(_ context.Context, _ int, recs []index.Record) (bool, error) {
				mu.Lock()
				defer mu.Unlock()
				attempts[recs[0].ID]++
				if recs[0].ID == "r00200" && attempts["r00200"] <= 2 {
					return false, transient
				}
				return false, nil
			}
			var last embedding.Progress
			recs := makeRecords(500)
			n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), fastRetry,
				embedding.WithProgress(func(p embedding.Progress) { last = p }))
			require.NoError(t, err)
			assert.Equal(t, 500, n)
			assert.Equal(t, 3, attempts["r00200"], "two failures, then success")
			assert.Equal(t, 2, last.Retries, "Progress.Retries")
			assert.Equal(t, 0, last.Failed)
			assertAllStored(t, s, recs)
		})
	}
}

func TestUpsertAllDoesNotRetryPermanentErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  error
	}{
		{"plain", errors.New("boom")},
		{"invalid argument", fmt.Errorf("%w: bad", index.ErrInvalidArgument)},
		{"unauthenticated", index.ErrUnauthenticated},
		{"not retryable", driver.Temporary(context.Canceled, 0)}, // context errors never are
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeStore()
			s.hook = func(_ context.Context, call int, _ []index.Record) (bool, error) { return false, c.err }
			n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(10)), fastRetry)
			require.ErrorIs(t, err, c.err)
			assert.Zero(t, n)
			_, _, _, calls := s.snapshot()
			assert.Equal(t, 1, calls, "a permanent error is not retried")
		})
	}
}

func TestUpsertAllRetriesRunOut(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	s.hook = func(context.Context, int, []index.Record) (bool, error) { return false, errTransient }
	n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(5)),
		embedding.WithRetry(3, time.Microsecond, time.Microsecond))
	require.ErrorIs(t, err, index.ErrUnavailable)
	assert.True(t, index.IsRetryable(err), "the caller may try again later")
	assert.Contains(t, err.Error(), "3 attempt")
	assert.Zero(t, n)
	_, _, _, calls := s.snapshot()
	assert.Equal(t, 3, calls)
}

func TestUpsertAllStopsAtFirstFailure(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	boom := errors.New("boom")
	s.hook = func(_ context.Context, _ int, recs []index.Record) (bool, error) {
		if recs[0].ID == "r00300" {
			return false, boom
		}
		return false, nil
	}
	recs := makeRecords(1000)
	n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), embedding.WithBatchSize(100))
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "records 300-399")
	_, stored, _, _ := s.snapshot()
	// Issue 20, defect 14: the count is every record the store
	// acknowledged, including batches after the failed one that were in
	// flight when it failed (it used to count only those before it).
	assert.Equal(t, len(stored), n, "the count is exactly what the store acknowledged")
	for _, r := range recs[:300] {
		assert.Contains(t, stored, r.ID)
	}
	for _, r := range recs[300:400] {
		assert.NotContains(t, stored, r.ID)
	}
}

func TestUpsertAllStreamError(t *testing.T) {
	t.Parallel()
	errStream := errors.New("source broke")
	recs := makeRecords(250)
	stream := func(yield func(index.Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
		if yield(index.Record{}, errStream) {
			t.Error("UpsertAll kept reading the stream after its error")
		}
	}
	s := newFakeStore()
	n, err := index.UpsertAll(t.Context(), s, "ns", stream, embedding.WithBatchSize(100))
	require.ErrorIs(t, err, errStream)
	assert.Contains(t, err.Error(), "record stream at 250")
	assert.Equal(t, 250, n, "the records before the error are written")
	assertAllStored(t, s, recs)
}

func TestUpsertAllDuplicateIDs(t *testing.T) {
	t.Parallel()
	recs := makeRecords(300)
	recs[150].ID = recs[20].ID

	t.Run("rejected", func(t *testing.T) {
		t.Parallel()
		s := newFakeStore()
		n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), embedding.WithBatchSize(50))
		require.ErrorIs(t, err, index.ErrInvalidID)
		var ie *index.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 150, ie.Index)
		assert.Equal(t, recs[20].ID, ie.ID)
		assert.Contains(t, ie.Error(), "duplicate of record 20")
		assert.Equal(t, 150, n)
		_, stored, _, _ := s.snapshot()
		assert.Equal(t, recs[20].Vector, stored[recs[20].ID].Vector, "the first record with the ID stays")
		for _, r := range recs[151:] {
			assert.NotContains(t, stored, r.ID, "nothing after the duplicate is written")
		}
	})
	t.Run("allowed", func(t *testing.T) {
		t.Parallel()
		s := newFakeStore()
		n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), embedding.WithAllowDuplicates())
		require.NoError(t, err)
		assert.Equal(t, 300, n)
		_, stored, _, _ := s.snapshot()
		assert.Len(t, stored, 299)
	})
	t.Run("within a batch, allowed", func(t *testing.T) {
		t.Parallel()
		// The store itself still refuses an ID twice in one call.
		s := newFakeStore()
		_, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), embedding.WithAllowDuplicates(), embedding.WithBatchSize(300))
		var ie *index.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 150, ie.Index)
	})
}

// vendorError stands for a backend's own error type, which callers reach
// with errors.As.
type vendorError struct{ code int }

func (e *vendorError) Error() string { return fmt.Sprintf("vendor code %d", e.code) }
func (e *vendorError) Unwrap() error { return index.ErrInvalidMetadata }

func TestUpsertAllRebasesItemError(t *testing.T) {
	t.Parallel()
	t.Run("from the store's validation", func(t *testing.T) {
		t.Parallel()
		recs := makeRecords(400)
		recs[237].Metadata = index.Metadata{"$bad": 1}
		s := newFakeStore()
		_, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs), embedding.WithBatchSize(100))
		require.ErrorIs(t, err, index.ErrInvalidMetadata)
		var ie *index.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 237, ie.Index, "the index counts from the start of the stream")
		assert.Equal(t, "r00237", ie.ID)
	})
	t.Run("from a backend error", func(t *testing.T) {
		t.Parallel()
		s := newFakeStore()
		s.hook = func(_ context.Context, _ int, recs []index.Record) (bool, error) {
			for i, r := range recs {
				if r.ID == "r00042" {
					return false, fmt.Errorf("backend: %w", &index.ItemError{Index: i, ID: r.ID, Err: &vendorError{code: 7}})
				}
			}
			return false, nil
		}
		_, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(100)), embedding.WithBatchSize(16))
		var ie *index.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 42, ie.Index)
		assert.Equal(t, "r00042", ie.ID)
		var ve *vendorError
		require.ErrorAs(t, err, &ve, "the backend's error stays reachable")
		assert.Equal(t, 7, ve.code)
		assert.ErrorIs(t, err, index.ErrInvalidMetadata)
	})
	t.Run("index out of the batch is left alone", func(t *testing.T) {
		t.Parallel()
		s := newFakeStore()
		s.hook = func(context.Context, int, []index.Record) (bool, error) {
			return false, &index.ItemError{Index: 99, ID: "?", Err: index.ErrInvalidVector}
		}
		_, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(5)))
		var ie *index.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 99, ie.Index)
	})
}

func TestUpsertAllContinueOnError(t *testing.T) {
	t.Parallel()
	failing := map[string]error{"r00200": errors.New("batch 2"), "r00500": errors.New("batch 5"), "r00700": errors.New("batch 7")}
	s := newFakeStore()
	s.hook = func(_ context.Context, _ int, recs []index.Record) (bool, error) {
		return false, failing[recs[0].ID]
	}
	var last embedding.Progress
	n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(1000)),
		embedding.WithBatchSize(100), embedding.WithContinueOnError(), fastRetry,
		embedding.WithProgress(func(p embedding.Progress) { last = p }))
	require.Error(t, err)
	assert.Equal(t, 700, n)
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "the errors are joined")
	assert.Len(t, joined.Unwrap(), 3, "each failed batch is reported once")
	for _, e := range failing {
		assert.ErrorIs(t, err, e)
	}
	assert.Equal(t, 700, last.Done)
	assert.Equal(t, 300, last.Failed)
	_, stored, _, _ := s.snapshot()
	assert.Len(t, stored, 700)
}

// TestUpsertAllCancelled cancels the context in the middle of a run and
// checks that UpsertAll returns promptly with context.Canceled, stops reading
// its input, and leaves no goroutine behind. It does not run in parallel, so
// that goleak sees only its goroutines.
func TestUpsertAllCancelled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const total = 100000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newFakeStore()
	s.hook = func(ctx context.Context, call int, _ []index.Record) (bool, error) {
		if call == 5 {
			cancel()
			return false, ctx.Err()
		}
		return false, nil
	}
	read := 0
	stream := func(yield func(index.Record, error) bool) {
		for i := range total {
			read++
			if !yield(index.Record{ID: fmt.Sprintf("r%06d", i), Vector: []float32{1, 2}}, nil) {
				return
			}
		}
	}
	n, err := index.UpsertAll(ctx, s, "ns", stream, embedding.WithBatchSize(10), embedding.WithConcurrency(4))
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, n, 100, "UpsertAll stops soon after the cancellation")
	assert.Less(t, read, 1000, "UpsertAll stops reading its input (it holds a bounded window)")
	_, stored, _, _ := s.snapshot()
	assert.GreaterOrEqual(t, len(stored), n, "what UpsertAll counted was written")
}

func TestUpsertAllProgress(t *testing.T) {
	t.Parallel()
	var got []embedding.Progress
	s := newFakeStore()
	n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(1000)),
		embedding.WithBatchSize(100), embedding.WithConcurrency(4),
		embedding.WithProgress(func(p embedding.Progress) { got = append(got, p) })) // no lock: called from one goroutine at a time
	require.NoError(t, err)
	assert.Equal(t, 1000, n)
	require.Len(t, got, 10, "one call per batch")
	for i, p := range got {
		assert.GreaterOrEqual(t, p.Done, 100*(i+1), "call %d: batches acknowledged so far, in any order", i)
		assert.Zero(t, p.Failed)
		assert.Zero(t, p.Retries)
		if i > 0 {
			assert.GreaterOrEqual(t, p.Elapsed, got[i-1].Elapsed)
		}
	}
}

// TestUpsertAllTransientFailuresLoseNothing injects transient failures into
// about 5 % of 20,000 records' batches — half of them after the write
// happened, like a timed-out acknowledgement — and checks that every record
// is stored exactly once and counted once.
func TestUpsertAllTransientFailuresLoseNothing(t *testing.T) {
	t.Parallel()
	const n = 20000
	var mu sync.Mutex
	attempts := map[string]int{}
	injected := 0
	s := newFakeStore()
	s.hook = func(_ context.Context, _ int, recs []index.Record) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		key := recs[0].ID
		attempt := attempts[key]
		attempts[key]++
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%d", key, attempt)
		sum := h.Sum32()
		if attempt < 3 && sum%100 < 5 { // deterministic whatever the scheduling
			injected++
			return sum%2 == 0, errTransient
		}
		return false, nil
	}
	recs := makeRecords(n)
	var last embedding.Progress
	got, err := index.UpsertAll(t.Context(), s, "ns", index.Records(recs),
		embedding.WithBatchSize(50), embedding.WithConcurrency(8), fastRetry,
		embedding.WithProgress(func(p embedding.Progress) { last = p }))
	require.NoError(t, err)
	assert.Equal(t, n, got, "each record counted once")
	require.Positive(t, injected, "failures were injected")
	t.Logf("%d transient failures injected over %d batches", injected, n/50)
	assert.Equal(t, injected, last.Retries, "every injected failure was retried")
	assertAllStored(t, s, recs)
	_, _, acks, _ := s.snapshot()
	for _, r := range recs {
		if acks[r.ID] != 1 {
			assert.Equal(t, 1, acks[r.ID], "record %q acknowledged %d times", r.ID, acks[r.ID])
			break
		}
	}
}

func TestUpsertAllValidatesOptions(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	for name, opt := range map[string]embedding.Option{
		"batch size 0":   embedding.WithBatchSize(0),
		"concurrency 0":  embedding.WithConcurrency(0),
		"negative bytes": embedding.WithMaxBatchBytes(-1),
		"no attempts":    embedding.WithRetry(0, time.Millisecond, time.Second),
		"negative base":  embedding.WithRetry(3, -time.Millisecond, time.Second),
		"max below base": embedding.WithRetry(3, time.Second, time.Millisecond),
	} {
		_, err := index.UpsertAll(t.Context(), s, "ns", index.Records(makeRecords(3)), opt)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, name)
	}
	_, err := index.UpsertAll(t.Context(), nil, "ns", index.Records(makeRecords(3)))
	assert.ErrorIs(t, err, index.ErrInvalidArgument, "nil store")
	_, _, _, calls := s.snapshot()
	assert.Zero(t, calls, "nothing is written with a bad option")
}

func TestUpsertAllEmptyStream(t *testing.T) {
	t.Parallel()
	s := newFakeStore()
	n, err := index.UpsertAll(t.Context(), s, "ns", index.Records(nil))
	require.NoError(t, err)
	assert.Zero(t, n)
	_, _, _, calls := s.snapshot()
	assert.Zero(t, calls)
}

func TestUpsertAllLogsFailures(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	s := newFakeStore()
	s.hook = func(_ context.Context, call int, _ []index.Record) (bool, error) {
		if call == 0 {
			return false, errTransient
		}
		return false, nil
	}
	_, err := index.UpsertAll(t.Context(), s, "my-ns", index.Records(makeRecords(10)), fastRetry, embedding.WithLogger(logger))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, buf.String(), "upsert batch failed")
	assert.Contains(t, buf.String(), "namespace=my-ns")
	assert.Contains(t, buf.String(), "retryable=true")
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// BenchmarkUpsertAll measures how close UpsertAll comes to the ideal
// throughput of a store whose every call takes a fixed latency: concurrency
// × batch size / latency.
func BenchmarkUpsertAll(b *testing.B) {
	const (
		latency     = 20 * time.Millisecond
		batchSize   = 100
		concurrency = 8
		perRun      = 4 * batchSize * concurrency // four waves of batches
	)
	s := newFakeStore()
	s.hook = func(ctx context.Context, _ int, _ []index.Record) (bool, error) {
		timer := time.NewTimer(latency)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-timer.C:
			return false, nil
		}
	}
	recs := makeRecords(perRun)
	ctx := context.Background()
	runs := 0
	for b.Loop() {
		n, err := index.UpsertAll(ctx, s, "ns", index.Records(recs),
			embedding.WithBatchSize(batchSize), embedding.WithConcurrency(concurrency))
		if err != nil || n != perRun {
			b.Fatalf("UpsertAll = %d, %v", n, err)
		}
		runs++
	}
	achieved := float64(runs*perRun) / b.Elapsed().Seconds()
	ideal := float64(concurrency*batchSize) / latency.Seconds()
	b.ReportMetric(achieved, "records/s")
	b.ReportMetric(ideal, "ideal_records/s")
	b.ReportMetric(achieved/ideal, "efficiency")
}

// A nil context, store or stream is an error, not a panic (issue 20,
// defect 15), and so is an option of EncodeAll's that means nothing here.
func TestUpsertAllBadArguments(t *testing.T) {
	t.Parallel()
	var nilCtx context.Context
	s := newFakeStore()
	recs := index.Records(makeRecords(3))
	for name, call := range map[string]func() (int, error){
		"nil context": func() (int, error) { return index.UpsertAll(nilCtx, s, "ns", recs) },
		"nil store":   func() (int, error) { return index.UpsertAll(t.Context(), nil, "ns", recs) },
		"nil stream":  func() (int, error) { return index.UpsertAll(t.Context(), s, "ns", nil) },
		"bad option":  func() (int, error) { return index.UpsertAll(t.Context(), s, "ns", recs, embedding.WithBatchSize(0)) },
	} {
		var n int
		var err error
		require.NotPanics(t, func() { n, err = call() }, name)
		assert.ErrorIs(t, err, index.ErrInvalidArgument, name)
		assert.Zero(t, n, name)
	}
	_, stored, _, _ := s.snapshot()
	assert.Empty(t, stored)
}
