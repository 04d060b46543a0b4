package milvus_test

import (
	"context"
	"errors"
	"github.com/shoalhq/shoal/embedding"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/shoalhq/shoal/backends/milvus"
	"github.com/shoalhq/shoal/backends/milvus/milvustest"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// Calls in flight return promptly with the context's error when it is
// cancelled, and nothing is left running once the store and server close.
func TestCancellationNoLeaks(t *testing.T) {
	// Not parallel: goleak compares against the goroutines at the start.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := milvustest.Start()
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := milvus.Open(ctx, srv.Addr(), uniqueCollection(), milvus.WithDimension(4), milvus.WithLoadTimeout(time.Second, time.Millisecond))
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	recs := indextest.RandomRecords(5, 2000, 4)
	_, err = index.UpsertAll(ctx, s, "ns", index.Records(recs))
	require.NoError(t, err)

	srv.SetLatency(2 * time.Second)
	// A fixed order: the fake applies a write when it arrives and then
	// waits out its latency, so a cancelled write may or may not have
	// been applied, and a later call must not depend on which.
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Upsert", func(ctx context.Context) error { return s.Upsert(ctx, "ns", recs[:10]) }},
		{"Query", func(ctx context.Context) error {
			_, err := s.Query(ctx, index.Query{Namespace: "ns", Vector: recs[0].Vector, TopK: 3})
			return err
		}},
		{"Fetch", func(ctx context.Context) error { _, err := s.Fetch(ctx, "ns", []string{recs[0].ID}); return err }},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, "ns", []string{recs[0].ID}) }},
		{"Scan", func(ctx context.Context) error {
			for _, err := range s.Scan(ctx, "ns", index.Filter{}) {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"UpsertAll", func(ctx context.Context) error {
			_, err := index.UpsertAll(ctx, s, "ns", index.Records(recs), embedding.WithBatchSize(10))
			return err
		}},
	}
	for _, c := range calls {
		name, call := c.name, c.call
		cctx, ccancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, ccancel)
		start := time.Now()
		err := call(cctx)
		assert.ErrorIs(t, err, context.Canceled, name)
		assert.Less(t, time.Since(start), time.Second, "%s returns promptly", name)
		ccancel()
	}
	// A deadline is reported as such and is not marked retryable.
	dctx, dcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer dcancel()
	_, err = s.Fetch(dctx, "ns", []string{recs[0].ID})
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	srv.SetLatency(0)
	// The store still answers; the cancelled delete ran before UpsertAll,
	// whose cancelled first batch may or may not have written recs[0] back.
	got, err := s.Fetch(ctx, "ns", []string{recs[1].ID, recs[0].ID})
	require.NoError(t, err)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	assert.Contains(t, ids, recs[1].ID, "a record no cancelled call deleted is still there")
}
