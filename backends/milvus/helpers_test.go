package milvus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/milvus"
	"github.com/shoalhq/shoal/backends/milvus/milvustest"
	"github.com/shoalhq/shoal/index"
)

var collSeq atomic.Int64

// newFake starts a fake Milvus for the test.
func newFake(t testing.TB, opts ...milvustest.Option) *milvustest.Server {
	t.Helper()
	srv, err := milvustest.Start(opts...)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// uniqueCollection returns a fresh collection name.
func uniqueCollection() string { return fmt.Sprintf("shoal_test_%d", collSeq.Add(1)) }

// openStore opens a new collection on srv.
func openStore(t testing.TB, srv *milvustest.Server, dim int, m index.Metric, opts ...milvus.Option) (*milvus.Store, string) {
	t.Helper()
	name := uniqueCollection()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts = append([]milvus.Option{milvus.WithDimension(dim), milvus.WithMetric(m), milvus.WithLoadTimeout(10*time.Second, 5*time.Millisecond)}, opts...)
	s, err := milvus.Open(ctx, srv.Addr(), name, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, name
}
