package pinecone_test

import (
	"fmt"
	"testing"

	pc "github.com/pinecone-io/go-pinecone/v5/pinecone"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
)

// rawConn is the official client's data-plane connection to index name,
// bypassing the Store.
func rawConn(t *testing.T, srv *pineconetest.Server, name string) *pc.IndexConnection {
	t.Helper()
	c, err := pc.NewClient(pc.NewClientParams{ApiKey: srv.APIKey(), Host: srv.ControlURL()})
	require.NoError(t, err)
	conn, err := c.Index(pc.NewIndexConnParams{Host: srv.Host(name)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func rawVectors(n, dim int, md map[string]any) []*pc.Vector {
	out := make([]*pc.Vector, n)
	for i := range out {
		v := make([]float32, dim)
		v[0] = 1
		var m *structpb.Struct
		if md != nil {
			m, _ = structpb.NewStruct(md)
		}
		out[i] = &pc.Vector{Id: fmt.Sprintf("v%d", i), Values: &v, Metadata: m}
	}
	return out
}
