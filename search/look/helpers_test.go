package look

import (
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// opaque hides a store's concrete type and optional interfaces: only the
// six methods of index.VectorStore remain, as with a remote backend.
type opaque struct{ s index.VectorStore }

func (o opaque) Upsert(ctx context.Context, ns string, recs []index.Record) error {
	return o.s.Upsert(ctx, ns, recs)
}
func (o opaque) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	return o.s.Query(ctx, q)
}
func (o opaque) Fetch(ctx context.Context, ns string, ids []string) ([]index.Record, error) {
	return o.s.Fetch(ctx, ns, ids)
}
func (o opaque) Delete(ctx context.Context, ns string, ids []string) error {
	return o.s.Delete(ctx, ns, ids)
}
func (o opaque) Scan(ctx context.Context, ns string, f index.Filter) iter.Seq2[index.Record, error] {
	return o.s.Scan(ctx, ns, f)
}
func (o opaque) Close() error { return o.s.Close() }

// blobs returns n records in `classes` Gaussian clusters in dim
// dimensions: centres at distance ~sep from each other, unit-ish spread.
func blobs(seed uint64, n, dim, classes int, spread float64) []index.Record {
	r := rand.New(rand.NewPCG(seed, 7))
	centres := make([][]float64, classes)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for j := range dim {
			centres[c][j] = r.NormFloat64()
		}
	}
	recs := make([]index.Record, n)
	for i := range recs {
		c := i % classes
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(centres[c][j] + spread*r.NormFloat64())
		}
		recs[i] = index.Record{ID: fmt.Sprintf("item-%05d", i), Vector: v, Metadata: index.Metadata{"label": fmt.Sprintf("class-%d", c)}}
	}
	return recs
}

// newStore returns a memory store with recs in namespace "ns".
func newStore(t testing.TB, metric index.Metric, recs []index.Record) *memory.Store {
	t.Helper()
	s, err := memory.New(memory.WithMetric(metric))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	for chunk := range slices.Chunk(recs, 1000) {
		require.NoError(t, s.Upsert(context.Background(), "ns", chunk))
	}
	return s
}

// bruteDistance is the package's distance, computed naively in float64.
func bruteDistance(m index.Metric, a, b []float32) float64 {
	switch m {
	case index.Cosine:
		return 1 - float64(vecmath.Dot(a, b))/(vecmath.Norm(a)*vecmath.Norm(b))
	case index.Euclidean:
		return math.Sqrt(float64(vecmath.SquaredL2(a, b)))
	}
	return -float64(vecmath.Dot(a, b))
}
