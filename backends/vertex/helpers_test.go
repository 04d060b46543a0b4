package vertex_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leakOptions()...)
}

// leakOptions ignores the goroutines that live for the whole process once
// the client libraries are loaded (OpenCensus' worker, HTTP/2 idle conns of
// the GCS fake's test server).
func leakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	}
}

const (
	project  = "p"
	location = "us-central1"
)

// newFake starts a vertextest server for one test.
func newFake(t testing.TB, opts ...vertextest.Option) *vertextest.Server {
	t.Helper()
	srv, err := vertextest.NewServer(opts...)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// newEncoder builds an encoder for target on srv, closed at the end of the
// test.
func newEncoder(t testing.TB, srv *vertextest.Server, target string, opts ...vertex.Option) *vertex.Encoder {
	t.Helper()
	opts = append(opts, vertex.WithClientOptions(srv.ClientOptions()...))
	enc, err := vertex.NewEncoder(context.Background(), target, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = enc.Close() })
	return enc
}

func textModel() string { return vertex.PublisherModel(project, location, vertex.TextEmbedding005) }
func multimodalModel() string {
	return vertex.PublisherModel(project, location, vertex.MultimodalEmbedding001)
}
