package pinecone_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/pinecone"
	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
)

var indexSeq atomic.Int64

func clearEnv(t *testing.T) {
	t.Helper()
	t.Setenv("PINECONE_API_KEY", "")
	t.Setenv("PINECONE_CONTROLLER_HOST", "")
	t.Setenv("PINECONE_ADDITIONAL_HEADERS", "")
	for _, k := range []string{"PINECONE_API_KEY", "PINECONE_CONTROLLER_HOST", "PINECONE_ADDITIONAL_HEADERS"} {
		require.NoError(t, os.Unsetenv(k)) // t.Setenv restores them
	}
}

func newFake(t testing.TB, opts ...pineconetest.Option) *pineconetest.Server {
	t.Helper()
	srv, err := pineconetest.New(t.Cleanup, opts...)
	require.NoError(t, err)
	return srv
}

// openStore creates a fresh index on srv through the real client (control
// plane create + describe) and opens a Store on it.
func openStore(t testing.TB, srv *pineconetest.Server, dim int, m index.Metric) (*pinecone.Store, string) {
	t.Helper()
	name := fmt.Sprintf("idx-%d", indexSeq.Add(1))
	s, err := pinecone.Open(t.Context(), srv.APIKey(), name,
		pinecone.WithControllerURL(srv.ControlURL()),
		pinecone.WithCreate(pinecone.Spec{Dimension: dim, Metric: m, Serverless: &pinecone.ServerlessSpec{Cloud: "aws", Region: "us-east-1"}}),
		pinecone.WithReadyTimeout(10*time.Second, 10*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, name
}
