package memory_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
	"github.com/shoalhq/shoal/index/memory"
)

// hnswAll gives every namespace a graph, however small.
func hnswAll() []memory.Option {
	return []memory.Option{memory.WithHNSW(0, 0, 0), memory.WithHNSWThreshold(0)}
}

// hnswSmall gives every namespace a small graph (m 8, efConstruction 64,
// efSearch 256), quick to build again on every reopen. With
// efConstruction 32 the conformance suite's Recall case measured recall@10
// 0.925 to 0.95 under DotProduct after deletes and moves (1 under Cosine and
// Euclidean); with 64, 0.98.
func hnswSmall() []memory.Option {
	return []memory.Option{memory.WithHNSW(8, 64, 256), memory.WithHNSWThreshold(0)}
}

// TestConformanceHNSW runs the conformance suite in recall mode (recall@10 at
// least 0.95 where the namespace is large; exact everywhere else) on stores
// whose every namespace answers unfiltered queries from its graph (a small
// one, so that the case of 5,000 records builds it quickly under -race, again
// on each reopen).
func TestConformanceHNSW(t *testing.T) {
	t.Parallel()
	t.Run("InMemory", func(t *testing.T) {
		t.Parallel()
		indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
			s, err := memory.New(append(hnswSmall(), memory.WithMetric(cfg.Metric))...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		}, indextest.WithRecall(hnswRecallTarget))
	})
	t.Run("OnDiskReopened", func(t *testing.T) {
		t.Parallel()
		indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
			return newReopeningStore(t, t.TempDir(), append(hnswSmall(),
				memory.WithMetric(cfg.Metric), memory.WithSync(false), memory.WithCompactionThreshold(1<<10))...)
		}, indextest.WithRecall(hnswRecallTarget))
	})
}

func TestWithHNSWBadArgs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts []memory.Option
		want string
	}{
		{"M1", []memory.Option{memory.WithHNSW(1, 0, 0)}, "memory.WithHNSW: m 1"},
		{"MNegative", []memory.Option{memory.WithHNSW(-3, 0, 0)}, "memory.WithHNSW: m -3"},
		{"EfConstructionNegative", []memory.Option{memory.WithHNSW(0, -1, 0)}, "efConstruction -1"},
		{"EfSearchNegative", []memory.Option{memory.WithHNSW(0, 0, -1)}, "efSearch -1"},
		{"MTooLarge", []memory.Option{memory.WithHNSW(513, 0, 0)}, "memory.WithHNSW: m 513, want at most 512"},
		{"EfConstructionBelowM", []memory.Option{memory.WithHNSW(32, 16, 0)}, "efConstruction 16 is less than m 32"},
		{"EfConstructionBelowDefaultM", []memory.Option{memory.WithHNSW(0, 8, 0)}, "efConstruction 8 is less than m 16"},
		{"Int8WithoutHNSW", []memory.Option{memory.WithHNSWInt8()}, "memory.WithHNSWInt8 applies to a store with memory.WithHNSW"},
		{"ThresholdNegative", []memory.Option{memory.WithHNSW(0, 0, 0), memory.WithHNSWThreshold(-1)}, "memory.WithHNSWThreshold(-1)"},
		{"ThresholdWithoutHNSW", []memory.Option{memory.WithHNSWThreshold(5)}, "memory.WithHNSWThreshold applies to a store with memory.WithHNSW"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := memory.New(c.opts...)
			require.ErrorIs(t, err, index.ErrInvalidArgument)
			assert.ErrorContains(t, err, c.want)
			_, err = memory.Open(t.Context(), t.TempDir(), c.opts...)
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
		})
	}
}

// exactTop returns the IDs of the k best matches of an exact store.
func topIDs(t testing.TB, s *memory.Store, ns string, q []float32, k int) []string {
	t.Helper()
	ms, err := s.Query(t.Context(), index.Query{Namespace: ns, Vector: q, TopK: k})
	require.NoError(t, err)
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// recallAt returns the mean share of the exact top k that the approximate
// store returns, over queries.
func recallAt(t testing.TB, exact, approx *memory.Store, ns string, queries [][]float32, k int) float64 {
	t.Helper()
	hit := 0
	for _, q := range queries {
		want := topIDs(t, exact, ns, q, k)
		got := topIDs(t, approx, ns, q, k)
		for _, id := range got {
			if slices.Contains(want, id) {
				hit++
			}
		}
	}
	return float64(hit) / float64(k*len(queries))
}

func loadBoth(t testing.TB, metric index.Metric, recs []index.Record, approxOpts ...memory.Option) (exact, approx *memory.Store) {
	t.Helper()
	var err error
	exact, err = memory.New(memory.WithMetric(metric))
	require.NoError(t, err)
	approx, err = memory.New(append(approxOpts, memory.WithMetric(metric))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = exact.Close(); _ = approx.Close() })
	for i := 0; i < len(recs); i += 1000 {
		batch := recs[i:min(i+1000, len(recs))]
		require.NoError(t, exact.Upsert(t.Context(), "ns", batch))
		require.NoError(t, approx.Upsert(t.Context(), "ns", batch))
	}
	return exact, approx
}

// TestHNSWRecall: 20,000 random 64-d vectors, 200 queries, recall@10 of the
// graph at the default settings but efSearch 256 against exact search, under each metric
// (2,000 vectors under -race).
func TestHNSWRecall(t *testing.T) {
	t.Parallel()
	n := 20_000
	if raceOn || testing.Short() {
		n = 2_000
	}
	recs := indextest.RandomRecords(140, n, 64)
	queries := indextest.RandomVectors(141, 200, 64)
	for _, metric := range []index.Metric{index.Cosine, index.Euclidean} {
		t.Run(metric.String(), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			// Uniform random vectors, a hard case: efSearch 256.
			exact, approx := loadBoth(t, metric, recs, memory.WithHNSW(0, 0, 256), memory.WithHNSWThreshold(0))
			built := time.Since(start)
			r := recallAt(t, exact, approx, "ns", queries, 10)
			t.Logf("%d × 64-d, %v: recall@10 %.4f (load of both stores %v)", n, metric, r, built.Round(time.Millisecond))
			assert.GreaterOrEqual(t, r, 0.95)
		})
	}
}

// TestHNSWSameScores: the graph's matches carry exactly the scores exact
// search gives them, and a query with a filter returns what exact search
// returns.
func TestHNSWSameScores(t *testing.T) {
	t.Parallel()
	recs := indextest.RandomRecords(142, 1500, 16)
	exact, approx := loadBoth(t, index.Cosine, recs, hnswAll()...)
	want := map[string]float32{}
	for _, q := range indextest.RandomVectors(143, 20, 16) {
		em, err := exact.Query(t.Context(), index.Query{Namespace: "ns", Vector: q, TopK: 1500})
		require.NoError(t, err)
		for _, m := range em {
			want[m.ID] = m.Score
		}
		am, err := approx.Query(t.Context(), index.Query{Namespace: "ns", Vector: q, TopK: 10})
		require.NoError(t, err)
		require.Len(t, am, 10)
		for i, m := range am {
			assert.Equal(t, want[m.ID], m.Score, "score of %s", m.ID)
			if i > 0 {
				assert.True(t, am[i-1].Score > m.Score || am[i-1].Score == m.Score && am[i-1].ID < m.ID, "order at %d", i)
			}
		}
		// A selective filter: exactly the exact store's answer.
		f := index.Lt("i", 40)
		ef, err := exact.Query(t.Context(), index.Query{Namespace: "ns", Vector: q, TopK: 10, Filter: f})
		require.NoError(t, err)
		af, err := approx.Query(t.Context(), index.Query{Namespace: "ns", Vector: q, TopK: 10, Filter: f})
		require.NoError(t, err)
		assert.Equal(t, ef, af)
	}
}

// TestHNSWDeletes deletes and re-upserts many records of a graph: no deleted
// ID is ever returned, a re-upserted record is found at its new vector, and
// recall holds after the graph is built again from its survivors.
func TestHNSWDeletes(t *testing.T) {
	t.Parallel()
	const n, dim = 3000, 32
	recs := indextest.RandomRecords(144, n, dim)
	exact, approx := loadBoth(t, index.Euclidean, recs, hnswAll()...)
	ctx := t.Context()
	queries := indextest.RandomVectors(145, 50, dim)
	deleted := map[string]bool{}
	// Delete in rounds, past the point where tombstones outnumber live
	// nodes (which rebuilds the graph).
	for round := range 4 {
		var ids []string
		for i := round; i < n; i += 5 {
			ids = append(ids, recs[i].ID)
			deleted[recs[i].ID] = true
		}
		require.NoError(t, exact.Delete(ctx, "ns", ids))
		require.NoError(t, approx.Delete(ctx, "ns", ids))
		for _, q := range queries {
			for _, id := range topIDs(t, approx, "ns", q, 10) {
				require.False(t, deleted[id], "round %d: deleted %s returned", round, id)
			}
		}
		assert.GreaterOrEqual(t, recallAt(t, exact, approx, "ns", queries, 10), 0.95, "round %d", round)
	}
	// Re-upsert a survivor at a query's position: it comes first.
	moved := index.Record{ID: recs[4].ID, Vector: queries[0]}
	require.NoError(t, exact.Upsert(ctx, "ns", []index.Record{moved}))
	require.NoError(t, approx.Upsert(ctx, "ns", []index.Record{moved}))
	got := topIDs(t, approx, "ns", queries[0], 10)
	require.NotEmpty(t, got)
	assert.Equal(t, moved.ID, got[0])
	assert.Equal(t, 1, countOf(got, moved.ID), "the old node of a moved record is not returned")
	// Bring a deleted record back.
	back := recs[0]
	back.Vector = queries[1]
	require.NoError(t, approx.Upsert(ctx, "ns", []index.Record{back}))
	assert.Equal(t, back.ID, topIDs(t, approx, "ns", queries[1], 1)[0])
	// Delete all but three: exact answers from what is left.
	var rest []string
	for i := 5; i < n; i += 5 {
		rest = append(rest, recs[i+4].ID)
	}
	require.NoError(t, approx.Delete(ctx, "ns", rest))
	left := topIDs(t, approx, "ns", queries[2], 10)
	assert.ElementsMatch(t, []string{recs[0].ID, recs[4].ID, recs[9].ID}[:len(left)], left)
}

func countOf(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

// TestHNSWThreshold: below the threshold queries are exact; a namespace gets
// its graph on reaching it.
func TestHNSWThreshold(t *testing.T) {
	t.Parallel()
	recs := indextest.RandomRecords(146, 2000, 16)
	exact, approx := loadBoth(t, index.Cosine, recs[:999],
		memory.WithHNSW(4, 8, 1), memory.WithHNSWThreshold(1000))
	queries := indextest.RandomVectors(147, 30, 16)
	assert.Equal(t, 1.0, recallAt(t, exact, approx, "ns", queries, 10), "exact below the threshold")
	require.NoError(t, exact.Upsert(t.Context(), "ns", recs[999:]))
	require.NoError(t, approx.Upsert(t.Context(), "ns", recs[999:]))
	// A tiny graph (m 4, efSearch 10) misses some: the graph answers.
	assert.Less(t, recallAt(t, exact, approx, "ns", queries, 10), 1.0, "the graph answers from the threshold on")
}

// TestHNSWReopen: a persistent store with WithHNSW reads its graph back from
// the snapshot on Open, links the log's records in as the writes did, and
// answers as before (inserts on one goroutine are deterministic; parallel
// ones are not).
func TestHNSWReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	opts := append(hnswAll(), memory.WithMetric(index.Euclidean), memory.WithParallelism(1))
	s, err := memory.Open(ctx, dir, opts...)
	require.NoError(t, err)
	recs := indextest.RandomRecords(148, 1200, 16)
	require.NoError(t, s.Upsert(ctx, "ns", recs[:800]))
	require.NoError(t, s.Compact(ctx)) // these in the snapshot
	require.NoError(t, s.Upsert(ctx, "ns", recs[800:]))
	require.NoError(t, s.Delete(ctx, "ns", []string{recs[0].ID, recs[900].ID})) // these in the log
	queries := append(indextest.RandomVectors(149, 20, 16), recs[0].Vector, recs[900].Vector)
	before := make([][]string, len(queries))
	for i, q := range queries {
		before[i] = topIDs(t, s, "ns", q, 10)
	}
	require.NoError(t, s.Close())
	s, err = memory.Open(ctx, dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	exact, err := memory.New(memory.WithMetric(index.Euclidean))
	require.NoError(t, err)
	require.NoError(t, exact.Upsert(ctx, "ns", recs))
	require.NoError(t, exact.Delete(ctx, "ns", []string{recs[0].ID, recs[900].ID}))
	for i, q := range queries {
		got := topIDs(t, s, "ns", q, 10)
		assert.Equal(t, before[i], got, "query %d: the same graph is built again", i)
		assert.NotContains(t, got, recs[0].ID)
		assert.NotContains(t, got, recs[900].ID)
	}
	assert.GreaterOrEqual(t, recallAt(t, exact, s, "ns", queries, 10), 0.95)
}

// TestHNSWConcurrent runs upserts, re-upserts, deletes and queries at once on
// a store whose namespace has a graph (run it with -race): no query fails or
// returns an ID deleted before it started and never upserted again.
func TestHNSWConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := memory.New(append(hnswAll(), memory.WithHNSW(8, 32, 16), memory.WithMetric(index.Euclidean))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	const writers, perWriter, dim = 3, 150, 8
	var gone sync.Map // IDs deleted for good
	g, gctx := errgroup.WithContext(ctx)
	for w := range writers {
		g.Go(func() error {
			recs := indextest.RandomRecords(uint64(200+w), perWriter, dim)
			for i := range recs {
				recs[i].ID = fmt.Sprintf("w%d-%s", w, recs[i].ID)
			}
			for i := 0; i < len(recs); i += 5 {
				if err := s.Upsert(gctx, "ns", recs[i:i+5]); err != nil {
					return err
				}
				if i >= 5 { // move one record, delete another for good
					moved := recs[i-5]
					moved.Vector = recs[i].Vector
					if err := s.Upsert(gctx, "ns", []index.Record{moved}); err != nil {
						return err
					}
					if err := s.Delete(gctx, "ns", []string{recs[i-4].ID}); err != nil {
						return err
					}
					gone.Store(recs[i-4].ID, true)
				}
			}
			return nil
		})
	}
	for r := range 3 {
		g.Go(func() error {
			for i, q := range indextest.RandomVectors(uint64(300+r), 60, dim) {
				var before []string
				gone.Range(func(k, _ any) bool { before = append(before, k.(string)); return true })
				ms, err := s.Query(gctx, index.Query{Namespace: "ns", Vector: q, TopK: 5 + i%10})
				if err != nil {
					return err
				}
				for _, m := range ms {
					if slices.Contains(before, m.ID) {
						return fmt.Errorf("query %d returned %s, deleted before it started", i, m.ID)
					}
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	n, err := s.Count(ctx, "ns")
	require.NoError(t, err)
	ms, err := s.Query(ctx, index.Query{Namespace: "ns", Vector: make([]float32, dim), TopK: n})
	require.NoError(t, err)
	// A walk with efSearch ≥ the namespace's size reaches every node the
	// graph links to (nearly all: a heavily pruned graph may cut a few off).
	assert.GreaterOrEqual(t, len(ms), n*9/10)
	seen := map[string]bool{}
	for _, m := range ms {
		assert.False(t, seen[m.ID], "%s returned twice", m.ID)
		seen[m.ID] = true
		_, deleted := gone.Load(m.ID)
		assert.False(t, deleted, "deleted %s returned", m.ID)
	}
}

// lowRank returns n vectors of length dim that lie near a 12-d subspace (a
// seeded random projection of Gaussian points, plus noise of deviation
// 0.05): low intrinsic dimension, as embeddings have, unlike uniform noise.
func lowRank(seed uint64, n, dim int) [][]float32 {
	const latent = 12
	proj := rand.New(rand.NewPCG(seed, 0x10e)) // the same subspace for every n
	basis := make([]float32, latent*dim)
	for i := range basis {
		basis[i] = float32(proj.NormFloat64())
	}
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	out := make([][]float32, n)
	z := make([]float32, latent)
	for i := range out {
		for j := range z {
			z[j] = float32(rng.NormFloat64())
		}
		v := make([]float32, dim)
		for j := range v {
			for k, x := range z {
				v[j] += x * basis[k*dim+j]
			}
			v[j] += float32(rng.NormFloat64() * 0.05)
		}
		out[i] = v
	}
	return out
}

// BenchmarkHNSWQuery compares the graph at its default settings with exact
// search (all cores) over 100,000 64-d vectors, TopK 10, cosine, one query
// at a time, on uniform random vectors (the hard case: no structure) and on
// vectors near a 12-d subspace (see lowRank); it reports the graph's recall@10 against exact. The graphs
// take minutes to build: it runs only with SHOAL_HNSW_BENCH=1.
//
//	SHOAL_HNSW_BENCH=1 go test -run '^$' -bench HNSWQuery -benchtime 2000x ./index/memory/
func BenchmarkHNSWQuery(b *testing.B) {
	if os.Getenv("SHOAL_HNSW_BENCH") == "" {
		b.Skip("builds two 100k graphs (minutes): set SHOAL_HNSW_BENCH=1 to run it")
	}
	const n, dim = 100_000, 64
	sets := []struct {
		name    string
		base    [][]float32
		queries [][]float32
	}{
		{"Uniform", indextest.RandomVectors(150, n, dim), indextest.RandomVectors(151, 200, dim)},
		{"LowRank", lowRank(152, n, dim), lowRank(152, 200, dim)},
	}
	for _, set := range sets {
		b.Run(set.name, func(b *testing.B) {
			recs := make([]index.Record, n)
			for i, v := range set.base {
				recs[i] = index.Record{ID: fmt.Sprintf("r%06d", i), Vector: v}
			}
			start := time.Now()
			exact, approx := loadBoth(b, index.Cosine, recs, memory.WithHNSW(0, 0, 0))
			b.Logf("%s: load of both stores %v", set.name, time.Since(start).Round(time.Millisecond))
			b.Run("Exact", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					topIDs(b, exact, "ns", set.queries[i%len(set.queries)], 10)
				}
			})
			b.Run("HNSW", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					topIDs(b, approx, "ns", set.queries[i%len(set.queries)], 10)
				}
				b.ReportMetric(recallAt(b, exact, approx, "ns", set.queries, 10), "recall@10")
			})
		})
	}
}
