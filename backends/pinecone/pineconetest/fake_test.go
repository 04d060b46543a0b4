package pineconetest_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	pc "github.com/pinecone-io/go-pinecone/v5/pinecone"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
)

func clearEnv(t *testing.T) {
	for _, k := range []string{"PINECONE_API_KEY", "PINECONE_CONTROLLER_HOST", "PINECONE_ADDITIONAL_HEADERS"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
}

func TestControlPlane(t *testing.T) {
	clearEnv(t)
	srv, err := pineconetest.New(t.Cleanup, pineconetest.WithAPIKey("k1"))
	require.NoError(t, err)
	tests := []struct {
		method, path, key string
		want              int
	}{
		{http.MethodGet, "/indexes/none", "k1", http.StatusNotFound},
		{http.MethodGet, "/indexes/none", "wrong", http.StatusUnauthorized},
		{http.MethodGet, "/indexes/none", "", http.StatusUnauthorized},
		{http.MethodPut, "/other", "k1", http.StatusNotFound},
	}
	for _, tc := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.ControlURL()+tc.path, nil)
		require.NoError(t, err)
		if tc.key != "" {
			req.Header.Set("Api-Key", tc.key)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, tc.want, res.StatusCode, "%s %s key %q", tc.method, tc.path, tc.key)
	}

	c, err := pc.NewClient(pc.NewClientParams{ApiKey: "k1", Host: srv.ControlURL()})
	require.NoError(t, err)
	dim := int32(3)
	metric := pc.Euclidean
	idx, err := c.CreateServerlessIndex(t.Context(), &pc.CreateServerlessIndexRequest{Name: "a", Cloud: pc.Aws, Region: "us-east-1", Dimension: &dim, Metric: &metric})
	require.NoError(t, err)
	assert.Equal(t, srv.Host("a"), idx.Host)
	_, err = c.CreateServerlessIndex(t.Context(), &pc.CreateServerlessIndexRequest{Name: "a", Cloud: pc.Aws, Region: "us-east-1", Dimension: &dim, Metric: &metric})
	var pe *pc.PineconeError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusConflict, pe.Code)
	require.NoError(t, c.DeleteIndex(t.Context(), "a"))
	assert.Empty(t, srv.Host("a"))
}

func TestDataPlaneAuthAndEuclideanScore(t *testing.T) {
	clearEnv(t)
	srv, err := pineconetest.New(t.Cleanup)
	require.NoError(t, err)
	require.NoError(t, srv.CreateIndex("e", 2, index.Euclidean))
	for _, key := range []string{"bad", srv.APIKey()} {
		c, err := pc.NewClient(pc.NewClientParams{ApiKey: key, Host: srv.ControlURL()})
		require.NoError(t, err)
		conn, err := c.Index(pc.NewIndexConnParams{Host: srv.Host("e"), Namespace: "n"})
		require.NoError(t, err)
		defer conn.Close()
		md, _ := structpb.NewStruct(map[string]any{"k": "v"})
		_, err = conn.UpsertVectors(t.Context(), []*pc.Vector{{Id: "a", Values: &[]float32{1, 2}, Metadata: md}, {Id: "b", Values: &[]float32{0, 0}}})
		if key == "bad" {
			assert.Equal(t, codes.Unauthenticated, status.Code(err))
			continue
		}
		require.NoError(t, err)
		res, err := conn.QueryByVectorValues(context.Background(), &pc.QueryByVectorValuesRequest{Vector: []float32{1, 1}, TopK: 2, IncludeMetadata: true})
		require.NoError(t, err)
		require.Len(t, res.Matches, 2)
		// Pinecone's euclidean score is the squared distance, smallest first.
		assert.Equal(t, "a", res.Matches[0].Vector.Id)
		assert.InDelta(t, 1.0, res.Matches[0].Score, 1e-6)
		assert.InDelta(t, 2.0, res.Matches[1].Score, 1e-6)
		assert.Equal(t, "v", res.Matches[0].Vector.Metadata.AsMap()["k"])
	}
}

func TestFaultsAreDeterministic(t *testing.T) {
	clearEnv(t)
	run := func() []codes.Code {
		srv, err := pineconetest.New(t.Cleanup, pineconetest.WithFaults(pineconetest.Faults{UnavailableRate: 0.3, Seed: 9}))
		require.NoError(t, err)
		require.NoError(t, srv.CreateIndex("f", 2, index.DotProduct))
		c, err := pc.NewClient(pc.NewClientParams{ApiKey: srv.APIKey(), Host: srv.ControlURL()})
		require.NoError(t, err)
		conn, err := c.Index(pc.NewIndexConnParams{Host: srv.Host("f")})
		require.NoError(t, err)
		defer conn.Close()
		var out []codes.Code
		for range 40 {
			_, err := conn.FetchVectors(t.Context(), []string{"x"})
			out = append(out, status.Code(err))
		}
		return out
	}
	a, b := run(), run()
	assert.Equal(t, a, b)
	assert.Contains(t, a, codes.Unavailable)
	assert.Contains(t, a, codes.OK)
}

func TestOptionsAreChecked(t *testing.T) {
	for name, o := range map[string]pineconetest.Option{
		"empty key":     pineconetest.WithAPIKey(""),
		"rate over one": pineconetest.WithFaults(pineconetest.Faults{UnavailableRate: 0.7, RateLimitRate: 0.4}),
		"negative":      pineconetest.WithFaults(pineconetest.Faults{Latency: -1}),
	} {
		_, err := pineconetest.New(nil, o)
		assert.ErrorContains(t, err, "pineconetest: With", name)
	}
}
