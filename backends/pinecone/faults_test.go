package pinecone_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"

	"github.com/shoalhq/shoal/backends/pinecone"
	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
)

// 5 % of calls fail (Unavailable or 429 with retry-after); UpsertAll retries
// them. Every record must end up in the fake exactly once with its value.
func TestFaultsLoseAndDuplicateNothing(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	const n, dim = 50_000, 4
	s, name := openStore(t, srv, dim, index.DotProduct)

	var mu sync.Mutex
	sent := map[string]int{}
	srv.SetObserver(func(c pineconetest.Call) {
		if c.Method != "Upsert" {
			return
		}
		mu.Lock()
		for _, id := range c.IDs {
			sent[id]++
		}
		mu.Unlock()
	})
	srv.SetFaults(pineconetest.Faults{UnavailableRate: 0.03, RateLimitRate: 0.02, RetryAfter: time.Millisecond, Seed: 7})

	want := recs(n, dim, func(i int) index.Metadata { return index.Metadata{"i": int64(i)} })
	written, err := index.UpsertAll(t.Context(), s, "faults", index.Records(want),
		embedding.WithBatchSize(500), embedding.WithConcurrency(8), embedding.WithRetry(10, time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, n, written)

	got, err := srv.Contents(t.Context(), name, "faults")
	require.NoError(t, err)
	require.Len(t, got, n, "nothing lost, nothing duplicated")
	retried := 0
	for i, r := range got { // sorted by ID, as want is
		require.Equal(t, want[i].ID, r.ID)
		require.Equal(t, want[i].Vector, r.Vector, "record %s", r.ID)
		require.Equal(t, float64(i), r.Metadata["i"], "record %s", r.ID)
		if sent[r.ID] > 1 {
			retried++
		}
	}
	assert.Positive(t, retried, "faults were injected and retried")
	assert.Len(t, sent, n, "only these IDs were sent")
	t.Logf("%d of %d records were re-sent after an injected fault (idempotent upserts)", retried, n)
}

func TestFailAfterIsRetryableAndNamed(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	s, _ := openStore(t, srv, 4, index.Cosine)
	srv.SetFaults(pineconetest.Faults{FailAfter: 1})
	require.NoError(t, s.Upsert(t.Context(), "x", recs(1, 4, nil)), "the first call passes")
	err := s.Upsert(t.Context(), "x", recs(3, 4, nil))
	require.Error(t, err)
	assert.ErrorIs(t, err, index.ErrUnavailable)
	assert.True(t, index.IsRetryable(err))
	var pe *pinecone.Error
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, codes.Unavailable, pe.GRPCCode)
	assert.Contains(t, err.Error(), `"r00000"`, "the failed request names its records")
}

func TestRateLimitCarriesRetryAfter(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	s, _ := openStore(t, srv, 4, index.Cosine)
	srv.SetFaults(pineconetest.Faults{RateLimitRate: 1, RetryAfter: 3 * time.Second})
	_, err := s.Query(t.Context(), index.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1})
	require.Error(t, err)
	assert.ErrorIs(t, err, index.ErrResourceExhausted)
	assert.True(t, index.IsRetryable(err))
	var pe *pinecone.Error
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, 3*time.Second, pe.RetryAfter)
}

func TestWrongAPIKey(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	_, name := openStore(t, srv, 4, index.Cosine)
	const bad = "pcsk_secret-wrong-key-12345"

	t.Run("control plane", func(t *testing.T) {
		_, err := pinecone.Open(t.Context(), bad, name, pinecone.WithControllerURL(srv.ControlURL()))
		require.Error(t, err)
		assert.ErrorIs(t, err, index.ErrUnauthenticated)
		assert.NotContains(t, err.Error(), bad)
		assert.False(t, index.IsRetryable(err))
		var pe *pinecone.Error
		require.True(t, errors.As(err, &pe))
		assert.Equal(t, 401, pe.HTTPStatus)
		assert.Contains(t, pe.Message, "Invalid API Key")
	})
	t.Run("data plane", func(t *testing.T) {
		_, err := pinecone.Open(t.Context(), bad, "", pinecone.WithHost(srv.Host(name)), pinecone.WithControllerURL(srv.ControlURL()))
		require.Error(t, err)
		assert.ErrorIs(t, err, index.ErrUnauthenticated)
		assert.NotContains(t, err.Error(), bad)
		var pe *pinecone.Error
		require.True(t, errors.As(err, &pe))
		assert.Equal(t, codes.Unauthenticated, pe.GRPCCode)
	})
}

// A key echoed back by the service is removed from the message.
func TestKeyRedactedFromMessages(t *testing.T) {
	clearEnv(t)
	const key = "test-key"
	srv := newFake(t, pineconetest.WithAPIKey(key))
	_, err := pinecone.Open(t.Context(), key, "missing-"+key, pinecone.WithControllerURL(srv.ControlURL()))
	require.Error(t, err)
	assert.ErrorIs(t, err, index.ErrNotFound)
	var pe *pinecone.Error
	require.True(t, errors.As(err, &pe))
	assert.NotContains(t, pe.Message, key)
	assert.Contains(t, pe.Message, "[REDACTED]")
}

func TestCancelMidUpsert(t *testing.T) {
	clearEnv(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := pineconetest.New(nil)
	require.NoError(t, err)
	defer srv.Close()
	s, name := openStore(t, srv, 4, index.Cosine)
	defer s.Close()
	srv.SetFaults(pineconetest.Faults{Latency: 50 * time.Millisecond})

	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	srv.SetObserver(func(c pineconetest.Call) {
		if c.Method == "Upsert" {
			once.Do(func() { time.AfterFunc(20*time.Millisecond, cancel) })
		}
	})
	start := time.Now()
	_, err = index.UpsertAll(ctx, s, "c", index.Records(recs(20_000, 4, nil)), embedding.WithBatchSize(100), embedding.WithConcurrency(4))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 5*time.Second, "returns promptly")
	got, err := srv.Contents(context.Background(), name, "c")
	require.NoError(t, err)
	assert.Less(t, len(got), 20_000, "stopped part-way")
	require.NoError(t, s.Close())
	srv.Close()
}
