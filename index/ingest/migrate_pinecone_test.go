package ingest_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/pinecone"
	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/ingest"
)

// The same migration, crash and re-run through backends/pinecone and its
// fake (a store with one dimension and cosine, which refuses zero vectors).
func TestMigratePinecone(t *testing.T) {
	for _, k := range []string{"PINECONE_API_KEY", "PINECONE_CONTROLLER_HOST", "PINECONE_ADDITIONAL_HEADERS"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k)) // t.Setenv restores them
	}
	srv, err := pineconetest.New(t.Cleanup)
	require.NoError(t, err)
	store, err := pinecone.Open(t.Context(), srv.APIKey(), "pool",
		pinecone.WithControllerURL(srv.ControlURL()),
		pinecone.WithCreate(pinecone.Spec{Dimension: 8, Metric: index.Cosine, Serverless: &pinecone.ServerlessSpec{Cloud: "aws", Region: "us-east-1"}}),
		pinecone.WithReadyTimeout(10*time.Second, 10*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	ctx := t.Context()
	v1, v2 := newEncoder(8), &fakeEncoder{model: "fake/enc v2", dim: 8}
	src := items(60, "v1")
	_, err = ingest.Migrate(ctx, v1, store, "live", embedding.Inputs(src), ingest.WithBatchSize(20))
	require.NoError(t, err)
	assert.Equal(t, v1.Info().Namespace(), requireServes(t, store, "live", src, v1))

	// Crash at the alias switch: 2 look-ups, Run (1 scan + 3·2 calls),
	// the count's scan, 3 reads of setAlias, then its upsert (call 14).
	crash := &crashStore{VectorStore: store, n: 14}
	opts := []ingest.Option{ingest.WithBatchSize(20), ingest.WithConcurrency(1), ingest.WithRetry(1, 0, 0), ingest.WithDeleteOld()}
	_, err = ingest.Migrate(ctx, v2, crash, "live", embedding.Inputs(src), opts...)
	require.ErrorIs(t, err, errCrash)
	require.Equal(t, "Upsert "+ingest.AliasNamespace, crash.first.Load())
	assert.Equal(t, v1.Info().Namespace(), requireServes(t, store, "live", src, v1))
	sum, err := ingest.Migrate(ctx, v2, store, "live", embedding.Inputs(src), opts...)
	require.NoError(t, err)
	assert.Zero(t, sum.Run.Encoded, "resumed: nothing encoded again")
	assert.Equal(t, 60, sum.Deleted)
	assert.Equal(t, v2.Info().Namespace(), requireServes(t, store, "live", src, v2))
	n, err := index.Count(ctx, store, v1.Info().Namespace())
	require.NoError(t, err)
	assert.Zero(t, n)
}
