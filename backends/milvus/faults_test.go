package milvus_test

import (
	"context"
	"fmt"
	"github.com/shoalhq/shoal/embedding"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/milvus"
	"github.com/shoalhq/shoal/backends/milvus/milvustest"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// 5 % of data calls fail transiently (half of the write failures after the
// write was applied); index.UpsertAll retries them, and the fake's final
// contents hold every record exactly once, with its own vector.
func TestFaultsNothingLostNothingDuplicated(t *testing.T) {
	t.Parallel()
	const n, dim = 50_000, 4
	srv := newFake(t)
	s, coll := openStore(t, srv, dim, index.DotProduct)
	recs := indextest.RandomRecords(7, n, dim)
	for i := range recs {
		recs[i].Metadata = index.Metadata{"i": int64(i)}
	}
	srv.SetFailureRate(0.05)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var retries int
	got, err := index.UpsertAll(ctx, s, "faulty", index.Records(recs),
		embedding.WithBatchSize(100), embedding.WithConcurrency(8), embedding.WithRetry(12, time.Millisecond, 20*time.Millisecond),
		embedding.WithProgress(func(p embedding.Progress) { retries = p.Retries }))
	require.NoError(t, err)
	assert.Equal(t, n, got)
	srv.SetFailureRate(0)
	upserts := srv.Calls("Upsert")
	t.Logf("%d Upsert calls, %d injected faults, %d retries", upserts, srv.Faults(), retries)
	assert.InDelta(t, 0.05*float64(upserts), float64(srv.Faults()), 0.03*float64(upserts), "about 5%% of calls failed")
	assert.Positive(t, retries)

	rows, err := srv.Rows(ctx, coll)
	require.NoError(t, err)
	require.Len(t, rows, n, "one row per record: nothing lost, nothing duplicated")
	byID := map[string]milvustest.Row{}
	for _, r := range rows {
		id := r.Fields["id"].(string)
		_, dup := byID[id]
		require.False(t, dup, "id %q stored twice", id)
		byID[id] = r
	}
	for _, rec := range recs {
		r, ok := byID[rec.ID]
		require.True(t, ok, "record %q lost", rec.ID)
		require.Equal(t, rec.Vector, r.Vector, "record %q vector", rec.ID)
		require.Equal(t, "faulty", r.Fields["ns"])
	}
	// And through the store: a sample reads back, and a scan counts all.
	fetched, err := s.Fetch(ctx, "faulty", []string{recs[0].ID, recs[n-1].ID})
	require.NoError(t, err)
	require.Len(t, fetched, 2)
	assert.Equal(t, int64(n-1), fetched[1].Metadata["i"])
	c, err := index.Count(ctx, s, "faulty")
	require.NoError(t, err)
	assert.Equal(t, n, c)
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	s, _ := openStore(t, srv, 4, index.Cosine)
	ctx := t.Context()
	rec := index.Record{ID: "a", Vector: []float32{1, 0, 0, 0}}

	srv.SetFailureRate(1)
	err := s.Upsert(ctx, "ns", []index.Record{rec})
	require.Error(t, err)
	assert.True(t, index.IsRetryable(err), "a rate limit is retryable: %v", err)
	assert.ErrorIs(t, err, index.ErrResourceExhausted)
	var me *milvus.Error
	require.ErrorAs(t, err, &me)
	assert.EqualValues(t, milvustest.CodeRateLimit, me.Code)
	var se *milvus.StatusError
	require.ErrorAs(t, err, &se)
	assert.True(t, se.Retriable)
	srv.SetFailureRate(0)

	srv.FailAfter(0, milvustest.CodeServiceNotReady)
	_, err = s.Query(ctx, index.Query{Namespace: "ns", Vector: rec.Vector, TopK: 1})
	assert.ErrorIs(t, err, index.ErrUnavailable)
	assert.True(t, index.IsRetryable(err), "not ready is retryable: %v", err)
	srv.FailAfter(0, milvustest.CodeParameterInvalid)
	_, err = s.Fetch(ctx, "ns", []string{"a"})
	assert.ErrorIs(t, err, index.ErrInvalidArgument)
	assert.False(t, index.IsRetryable(err), "an invalid parameter is not retryable: %v", err)
	srv.FailAfter(-1, 0)
	require.NoError(t, s.Upsert(ctx, "ns", []index.Record{rec}))
}

func TestCredentialsNeverInErrors(t *testing.T) {
	t.Parallel()
	const password = "s3cr3t-Pa55word"
	srv := newFake(t, milvustest.WithToken("alice:"+password))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Right credentials work.
	s, err := milvus.Open(ctx, srv.Addr(), uniqueCollection(), milvus.WithDimension(4), milvus.WithCredentials("alice", password),
		milvus.WithLoadTimeout(time.Second, time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	// Wrong ones are reported as unauthenticated, without the secret.
	for _, opt := range []milvus.Option{milvus.WithCredentials("alice", password+"x"), milvus.WithAPIKey(password + "-key")} {
		_, err = milvus.Open(ctx, srv.Addr(), uniqueCollection(), milvus.WithDimension(4), opt)
		require.Error(t, err)
		assert.ErrorIs(t, err, index.ErrUnauthenticated)
		assert.NotContains(t, err.Error(), password)
		assert.NotContains(t, fmt.Sprintf("%+v", err), password)
	}
}

func TestSchemaMismatch(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	_, coll := openStore(t, srv, 8, index.Cosine)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	open := func(opts ...milvus.Option) (*milvus.Store, error) {
		s, err := milvus.Open(ctx, srv.Addr(), coll, append(opts, milvus.WithLoadTimeout(time.Second, time.Millisecond))...)
		if err == nil {
			t.Cleanup(func() { _ = s.Close() })
		}
		return s, err
	}

	_, err := open(milvus.WithDimension(16))
	require.ErrorIs(t, err, index.ErrDimension)
	assert.Contains(t, err.Error(), "dimension 8")
	assert.Contains(t, err.Error(), "opened with 16")
	assert.Contains(t, err.Error(), coll)

	_, err = open(milvus.WithDimension(8), milvus.WithMetric(index.Euclidean))
	require.ErrorIs(t, err, index.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "metric mismatch")
	assert.Contains(t, err.Error(), "COSINE")

	s, err := open() // adopts the collection's dimension and metric
	require.NoError(t, err)
	assert.Equal(t, 8, s.Dimension())
	assert.Equal(t, index.Cosine, s.Metric())

	_, err = milvus.Open(ctx, srv.Addr(), "missing_collection")
	assert.ErrorIs(t, err, index.ErrNotFound)
	_, err = milvus.Open(ctx, srv.Addr(), `bad"name`, milvus.WithDimension(4))
	assert.ErrorIs(t, err, index.ErrInvalidArgument)
}

func TestIndexTypes(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	for _, spec := range []milvus.IndexSpec{{}, {Type: milvus.HNSW, M: 8, Ef: 4}, {Type: milvus.IVFFlat, NList: 4, NProbe: 2}} {
		t.Run(string(spec.Type), func(t *testing.T) {
			s, _ := openStore(t, srv, 4, index.Euclidean, milvus.WithIndex(spec))
			recs := indextest.RandomRecords(3, 30, 4)
			require.NoError(t, s.Upsert(t.Context(), "", recs))
			// TopK above HNSW's ef: the store raises ef (the fake, like
			// Milvus, rejects ef < topk).
			ms, err := s.Query(t.Context(), index.Query{Vector: recs[0].Vector, TopK: 20})
			require.NoError(t, err)
			require.Len(t, ms, 20)
			assert.Equal(t, recs[0].ID, ms[0].ID)
			assert.InDelta(t, 0, ms[0].Score, 1e-6, "Euclidean: negative squared distance, 0 for itself")
			assert.Less(t, ms[1].Score, float32(0))
		})
	}
	ctx := t.Context()
	_, err := milvus.Open(ctx, srv.Addr(), "x", milvus.WithIndex(milvus.IndexSpec{Type: "DISKANN"}))
	assert.ErrorIs(t, err, index.ErrInvalidArgument)
	_, err = milvus.Open(ctx, srv.Addr(), "x", milvus.WithIndex(milvus.IndexSpec{Type: milvus.IVFFlat, NList: 4, NProbe: 8}))
	assert.ErrorIs(t, err, index.ErrInvalidArgument)
}

// The consistency level reaches the server: the SDK sends it as the
// request's guarantee timestamp (Strong: 0, meaning "all writes so far";
// Eventually: 1).
func TestConsistencyLevelSent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string][]uint64{}
	srv := newFake(t, milvustest.WithObserver(func(method string, req any) {
		mu.Lock()
		defer mu.Unlock()
		switch r := req.(type) {
		case *milvuspb.SearchRequest:
			seen[r.GetCollectionName()] = append(seen[r.GetCollectionName()], r.GetGuaranteeTimestamp())
		case *milvuspb.QueryRequest:
			seen[r.GetCollectionName()] = append(seen[r.GetCollectionName()], r.GetGuaranteeTimestamp())
		}
	}))
	for _, c := range []struct {
		level milvus.Consistency
		want  uint64
	}{{milvus.Strong, 0}, {milvus.Eventually, 1}} {
		s, coll := openStore(t, srv, 4, index.DotProduct, milvus.WithConsistency(c.level))
		require.NoError(t, s.Upsert(t.Context(), "", indextest.RandomRecords(1, 3, 4)))
		_, err := s.Query(t.Context(), index.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1})
		require.NoError(t, err)
		_, err = s.Fetch(t.Context(), "", []string{"x"})
		require.NoError(t, err)
		mu.Lock()
		got := seen[coll]
		mu.Unlock()
		assert.Equal(t, []uint64{c.want, c.want}, got, "level %v", c.level)
	}
}
