package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// TestFilteredQueryPlans: a filter that matches many records walks the
// graph (keeping only matches), a selective one scans; both return TopK
// matches whenever that many exist, and the right ones.
func TestFilteredQueryPlans(t *testing.T) {
	ctx := context.Background()
	const n, dim = 4000, 16
	s, err := New(WithMetric(index.Euclidean), WithHNSW(12, 100, 64), WithHNSWThreshold(1000))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 3))
	recs := make([]index.Record, n)
	for i := range recs {
		v := make([]float32, dim)
		for j := range v {
			v[j] = rng.Float32()
		}
		recs[i] = index.Record{ID: fmt.Sprintf("r%05d", i), Vector: v, Metadata: index.Metadata{
			"half": i%2 == 0,       // 50 %: the graph
			"rare": int64(i % 200), // 0.5 % each: the scan
		}}
	}
	require.NoError(t, s.Upsert(ctx, "ns", recs))
	// A namespace under the threshold has no graph answering.
	require.NoError(t, s.Upsert(ctx, "small", recs[:10]))

	for _, c := range []struct {
		name   string
		ns     string
		filter index.Filter
		exact  bool
		want   plan
	}{
		{"no filter", "ns", index.Filter{}, false, planGraph},
		{"half the records", "ns", index.Eq("half", true), false, planGraph},
		{"one in 200", "ns", index.Eq("rare", 7), false, planScan},
		{"matches nothing", "ns", index.Eq("rare", 1000), false, planScan},
		{"WithExact", "ns", index.Filter{}, true, planScan},
		{"under the threshold", "small", index.Filter{}, false, planScan},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.mu.RLock()
			got := s.plan(s.st.spaces[c.ns], c.filter, queryConfig{exact: c.exact})
			s.mu.RUnlock()
			assert.Equal(t, c.want, got)

			hits, total := 0, 0
			for qi := range 30 {
				q := index.Query{Namespace: c.ns, Vector: recs[qi*7].Vector, TopK: 10, Filter: c.filter}
				approx, err := s.Query(ctx, q)
				require.NoError(t, err)
				exact, err := s.QueryWith(ctx, q, WithExact())
				require.NoError(t, err)
				require.Len(t, approx, len(exact), "as many matches as exist, up to TopK")
				for _, m := range approx {
					require.True(t, c.filter.Match(m.Metadata), "%q does not match", m.ID)
				}
				for _, m := range exact {
					total++
					for _, a := range approx {
						if a.ID == m.ID {
							hits++
							assert.Equal(t, m.Score, a.Score, "score of %q", m.ID)
						}
					}
				}
			}
			if total > 0 {
				assert.GreaterOrEqual(t, float64(hits)/float64(total), 0.95, "recall@10")
			}
		})
	}
}

// TestFilteredGraphFallsBack: when the graph walk finds fewer matches than
// TopK while more exist (matches it cannot reach), the query scans and finds
// them all.
func TestFilteredGraphFallsBack(t *testing.T) {
	ctx := context.Background()
	s, err := New(WithMetric(index.Cosine), WithHNSW(8, 40, 16), WithHNSWThreshold(0))
	require.NoError(t, err)
	recs := graphRecords(11, 2000, 6, "r")
	for i := range recs {
		recs[i].Metadata = index.Metadata{"k": i%10 == 3}
	}
	require.NoError(t, s.Upsert(ctx, "ns", recs))
	// Cut every link to a matching node: the walk reaches none of them.
	s.mu.Lock()
	sp := s.st.spaces["ns"]
	g := sp.g
	for n := range g.nodes() {
		for l := 0; l <= int(g.levels[n]); l++ {
			var keep []int32
			for _, nb := range g.neighbours(int32(n), l, nil) {
				if sp.meta[nb]["k"] != true {
					keep = append(keep, nb)
				}
			}
			g.setList(int32(n), l, keep)
		}
	}
	s.mu.Unlock()
	q := index.Query{Namespace: "ns", Vector: recs[3].Vector, TopK: 10, Filter: index.Eq("k", true)}
	s.mu.RLock()
	assert.Equal(t, planGraph, s.plan(sp, q.Filter, queryConfig{}))
	s.mu.RUnlock()
	got, err := s.Query(ctx, q)
	require.NoError(t, err)
	want, err := s.QueryWith(ctx, q, WithExact())
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TestParallelBuild: a bulk load on two goroutines (run with -race) builds a
// graph as good as one goroutine's.
func TestParallelBuild(t *testing.T) {
	ctx := context.Background()
	recs := graphRecords(9, 3000, 16, "p")
	queries := graphRecords(10, 100, 16, "q")
	recall := map[int]float64{}
	for _, workers := range []int{1, 2} {
		s, err := New(WithMetric(index.Euclidean), WithHNSW(12, 80, 40), WithHNSWThreshold(0), WithParallelism(workers))
		require.NoError(t, err)
		require.NoError(t, s.Upsert(ctx, "ns", recs[:2000]))
		require.NoError(t, s.Upsert(ctx, "ns", recs[2000:])) // extends the graph in parallel too
		hits := 0
		for _, q := range queries {
			qq := index.Query{Namespace: "ns", Vector: q.Vector, TopK: 10}
			got, err := s.Query(ctx, qq)
			require.NoError(t, err)
			want, err := s.QueryWith(ctx, qq, WithExact())
			require.NoError(t, err)
			for _, w := range want {
				for _, g := range got {
					if g.ID == w.ID {
						hits++
					}
				}
			}
		}
		recall[workers] = float64(hits) / float64(10*len(queries))
		s.mu.RLock()
		g := s.st.spaces["ns"].g
		for n := range g.nodes() { // every node is reachable at level 0
			assert.Positive(t, g.list(int32(n), 0)[0], "node %d has no links", n)
		}
		s.mu.RUnlock()
	}
	t.Logf("recall@10: one goroutine %.3f, two %.3f", recall[1], recall[2])
	assert.GreaterOrEqual(t, recall[2], 0.95)
	assert.GreaterOrEqual(t, recall[2], recall[1]-0.02)
}

// TestQueryOptionsValidation: bad per-query options are errors naming them.
func TestQueryOptionsValidation(t *testing.T) {
	s, err := New(WithHNSW(0, 0, 0))
	require.NoError(t, err)
	require.NoError(t, s.Upsert(t.Context(), "ns", graphRecords(1, 3, 4, "r")))
	q := index.Query{Namespace: "ns", Vector: []float32{1, 2, 3, 4}, TopK: 2}
	for _, c := range []struct {
		opt  QueryOption
		want string
	}{
		{WithEfSearch(0), "memory.WithEfSearch(0): want at least 1"},
		{WithEfSearch(-5), "memory.WithEfSearch(-5)"},
		{nil, "memory query option 0 is nil"},
	} {
		_, err := s.QueryWith(t.Context(), q, c.opt)
		require.ErrorIs(t, err, index.ErrInvalidArgument)
		assert.ErrorContains(t, err, c.want)
		_, err = s.QueryBatch(t.Context(), []index.Query{q}, c.opt)
		assert.ErrorIs(t, err, index.ErrInvalidArgument)
	}
	got, err := s.QueryWith(t.Context(), q, WithEfSearch(1)) // raised to TopK
	require.NoError(t, err)
	assert.Len(t, got, 2)
}
