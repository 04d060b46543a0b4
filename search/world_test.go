package search_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search"
)

const (
	dim = 16
	ns  = "pool"
)

// basis returns the unit vector along axis i.
func basis(i int) []float32 {
	v := make([]float32, dim)
	v[i] = 1
	return v
}

// combine returns Σ w_k·v_k.
func combine(ws []float32, vs ...[]float32) []float32 {
	out := make([]float32, dim)
	for k, v := range vs {
		for i := range out {
			out[i] += ws[k] * v[i]
		}
	}
	return out
}

// noisy returns v plus a random vector of length scale ± 10% in axes
// 3..dim-1, which no cluster centre uses.
func noisy(rng *rand.Rand, v []float32, scale float64) []float32 {
	u := make([]float32, dim)
	var n float64
	for i := 3; i < dim; i++ {
		x := rng.NormFloat64()
		u[i] = float32(x)
		n += x * x
	}
	r := scale * (0.9 + 0.2*rng.Float64())
	out := slices.Clone(v)
	for i := range out {
		out[i] += float32(r / math.Sqrt(n) * float64(u[i]))
	}
	return out
}

// cluster makes n records "<name>-NN" around centre, with metadata
// cluster=name, split=train|test alternating, and n=NN.
func cluster(rng *rand.Rand, name string, n int, centre []float32, spread float64) []index.Record {
	recs := make([]index.Record, n)
	for i := range recs {
		split := "train"
		if i%2 == 1 {
			split = "test"
		}
		recs[i] = index.Record{
			ID:       fmt.Sprintf("%s-%02d", name, i),
			Vector:   noisy(rng, centre, spread),
			Metadata: index.Metadata{"cluster": name, "split": split, "n": int64(i)},
		}
	}
	return recs
}

// newStore returns an empty embedded store (index/memory) of the given
// metric, closed at the end of the test.
func newStore(t testing.TB, m index.Metric) index.VectorStore {
	t.Helper()
	s, err := memory.New(memory.WithMetric(m))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func fill(t testing.TB, s index.VectorStore, recs ...[]index.Record) {
	t.Helper()
	var all []index.Record
	for _, r := range recs {
		all = append(all, r...)
	}
	require.NoError(t, s.Upsert(context.Background(), ns, all))
}

// twoClusters plants clusters "a" (around axis 0), "b" (axis 1) and "m"
// (half way between them), 20 items each, plus 100 background items "z".
// A bucket with one positive in a and one in b has its mean in m.
func twoClusters(t testing.TB, s index.VectorStore) {
	rng := rand.New(rand.NewPCG(1, 2))
	e0, e1 := basis(0), basis(1)
	fill(t, s,
		cluster(rng, "a", 20, e0, 0.25),
		cluster(rng, "b", 20, e1, 0.25),
		cluster(rng, "m", 20, combine([]float32{0.7071, 0.7071}, e0, e1), 0.25),
		cluster(rng, "z", 100, make([]float32, dim), 1),
	)
}

// nearWrong plants a loose cluster "a" around axis 0 and a tight cluster
// "w" whose centre is 0.9-cosine close to axis 0, so that w outranks a for
// the query axis 0 until a negative from w pushes it away.
func nearWrong(t testing.TB, s index.VectorStore) []float32 {
	rng := rand.New(rand.NewPCG(3, 4))
	e0, e2 := basis(0), basis(2)
	wCentre := combine([]float32{0.9, 0.4359}, e0, e2)
	fill(t, s,
		cluster(rng, "a", 10, e0, 0.6),
		cluster(rng, "w", 10, wCentre, 0.05),
		cluster(rng, "z", 50, make([]float32, dim), 1),
	)
	return wCentre
}

// ids returns the results' IDs.
func ids(rs []search.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// clusters returns the set of cluster names ("a" of "a-03") in rs.
func clusters(rs []search.Result) map[string]int {
	out := map[string]int{}
	for _, r := range rs {
		name, _, _ := strings.Cut(r.ID, "-")
		out[name]++
	}
	return out
}

// textEncoder embeds texts it knows (a fake encoder for ByInput).
type textEncoder struct {
	dim   int
	vecs  map[string][]float32
	calls atomic.Int32
}

func (e *textEncoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	e.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(in))
	for i, x := range in {
		v, ok := e.vecs[x.Text]
		if !ok {
			return nil, fmt.Errorf("%w: unknown text %q", embedding.ErrInvalidInput, x.Text)
		}
		out[i] = slices.Clone(v)
	}
	return out, nil
}

func (e *textEncoder) Info() embedding.Info {
	return embedding.Info{Model: "fake-text", Dim: e.dim}
}

var aggregations = []search.Aggregation{search.Mean, search.Max, search.RRF}
