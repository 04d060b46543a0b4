package feedback_test

import (
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/internal/vecmath"
	"github.com/shoalhq/shoal/search"
)

const plantedDim = 16

// Geometry of the planted pool (see plantedPool): plain similarity to a
// bucket of relevant items finds about 60% relevant at first and 45% a
// hundred items deep; a linear classifier trained on every label about
// 95%.
const (
	plantedShift    = 0.15 // δ
	plantedNoise    = 0.2  // spread of the clusters off the e0–e1 plane
	plantedDecoys   = 400
	plantedOthers   = 800
	plantedRelevant = 200
)

// planted is a synthetic pool with a planted answer: relevant items
// ("rel-…") around e0 + δ·e1, decoys ("decoy-…") around e0 − δ·e1 that plain
// similarity to a bucket of relevant items confuses with them, and other
// items ("other-…") scattered everywhere.
type planted struct {
	store  *memory.Store
	ns     string
	bucket search.Bucket
	recs   []index.Record
}

func relevant(id string) bool { return strings.HasPrefix(id, "rel-") }

// plantedPool builds a planted pool of 1,400 unit vectors.
func plantedPool(t testing.TB, metric index.Metric, seed uint64) *planted {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var recs []index.Record
	cluster := func(prefix string, n int, sign float64) {
		for i := range n {
			v := make([]float32, plantedDim)
			v[0], v[1] = 1, float32(sign*plantedShift)
			for j := 2; j < plantedDim; j++ {
				v[j] = float32(r.NormFloat64() * plantedNoise)
			}
			v[1] += float32(r.NormFloat64() * 0.1)
			vecmath.Normalize(v)
			recs = append(recs, index.Record{ID: fmt.Sprintf("%s-%04d", prefix, i), Vector: v,
				Metadata: index.Metadata{"kind": prefix}})
		}
	}
	cluster("rel", plantedRelevant, 1)
	cluster("decoy", plantedDecoys, -1)
	for i := range plantedOthers {
		v := make([]float32, plantedDim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		vecmath.Normalize(v)
		recs = append(recs, index.Record{ID: fmt.Sprintf("other-%04d", i), Vector: v, Metadata: index.Metadata{"kind": "other"}})
	}
	// Shuffle so that the scan order is not by cluster (the background
	// sample does not depend on it, see TestRoundsIgnoreStoreOrder).
	r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	store, err := memory.New(memory.WithMetric(metric))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	require.NoError(t, store.Upsert(context.Background(), "pool", recs))
	var b search.Bucket
	for i := range 5 {
		b.Positives = append(b.Positives, search.ByID(fmt.Sprintf("rel-%04d", i)))
	}
	return &planted{store: store, ns: "pool", bucket: b, recs: recs}
}

// markAll marks results by the planted truth and returns the precision.
func markAll(t testing.TB, s *feedback.Session, res []feedback.Result) float64 {
	t.Helper()
	marks := make([]feedback.Mark, len(res))
	rel := 0
	for i, r := range res {
		marks[i] = feedback.Mark{ID: r.ID, Relevant: relevant(r.ID)}
		if marks[i].Relevant {
			rel++
		}
	}
	require.NoError(t, s.MarkAll(context.Background(), marks...))
	if len(res) == 0 {
		return math.NaN()
	}
	return float64(rel) / float64(len(res))
}

// play runs rounds of k results marked by the planted truth and returns
// each round's precision.
func play(t testing.TB, s *feedback.Session, rounds, k int) []float64 {
	t.Helper()
	out := make([]float64, rounds)
	for i := range out {
		res, err := s.Results(context.Background(), k)
		require.NoError(t, err)
		require.Len(t, res, k)
		out[i] = markAll(t, s, res)
	}
	return out
}

// countingStore wraps a store, counting calls and optionally failing or
// cancelling at a given call.
type countingStore struct {
	index.VectorStore
	queries, scans, fetches atomic.Int64
	onQuery                 func(n int64) error // called before each Query
}

func (c *countingStore) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	n := c.queries.Add(1)
	if c.onQuery != nil {
		if err := c.onQuery(n); err != nil {
			return nil, err
		}
	}
	return c.VectorStore.Query(ctx, q)
}

func (c *countingStore) Fetch(ctx context.Context, ns string, ids []string) ([]index.Record, error) {
	c.fetches.Add(1)
	return c.VectorStore.Fetch(ctx, ns, ids)
}

func (c *countingStore) Scan(ctx context.Context, ns string, f index.Filter) iter.Seq2[index.Record, error] {
	c.scans.Add(1)
	return c.VectorStore.Scan(ctx, ns, f)
}
