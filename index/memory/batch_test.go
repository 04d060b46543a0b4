package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// batchFixture fills s with namespaces "a" (n records of dimension 24, dups
// of them duplicates of others under other IDs) and "b" (150 of dimension
// 5), and returns queries over both, a missing namespace, filters of every
// selectivity and TopK from 1 to more than a namespace holds.
func batchFixture(t *testing.T, s *Store, seed uint64, n, dups, nq int) []index.Query {
	t.Helper()
	ctx := t.Context()
	recs := indextest.RandomRecords(seed, n, 24)
	for i := range dups {
		recs[n-1-i].Vector = recs[i].Vector // an exact tie, ranked by ID
	}
	for i := 0; i < n; i += 500 {
		require.NoError(t, s.Upsert(ctx, "a", recs[i:min(i+500, n)]))
	}
	require.NoError(t, s.Upsert(ctx, "b", indextest.RandomRecords(seed+1, 150, 5)))

	rng := rand.New(rand.NewPCG(seed, 2))
	filters := []index.Filter{{}, {}, index.Eq("group", "beta"), index.Lt("i", 20), index.Eq("even", true), index.Eq("group", "none")}
	topKs := []int{1, 10, 10, 37, 2000}
	qs := make([]index.Query, nq)
	for i := range qs {
		q := index.Query{Namespace: "a", TopK: topKs[rng.IntN(len(topKs))], Filter: filters[rng.IntN(len(filters))]}
		switch rng.IntN(8) {
		case 0:
			q.Namespace, q.Vector = "b", indextest.RandomVectors(seed+uint64(i), 1, 5)[0]
		case 1:
			q.Namespace, q.Vector = "missing", indextest.RandomVectors(seed+uint64(i), 1, 3)[0]
		case 2: // a stored vector: its duplicates tie at the top
			q.Vector = recs[rng.IntN(dups+1)].Vector
			q.IncludeVectors = true
		default:
			q.Vector = indextest.RandomVectors(seed+uint64(i), 1, 24)[0]
		}
		qs[i] = q
	}
	return qs
}

// oneByOne is what QueryBatch must return: QueryWith for each query.
func oneByOne(t *testing.T, s *Store, qs []index.Query, opts ...QueryOption) [][]index.Match {
	t.Helper()
	want := make([][]index.Match, len(qs))
	for i, q := range qs {
		ms, err := s.QueryWith(t.Context(), q, opts...)
		require.NoError(t, err, "query %d", i)
		want[i] = ms
	}
	return want
}

func TestQueryBatchMatchesQuery(t *testing.T) {
	for _, metric := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		for _, tc := range []struct {
			name string
			opts []Option
		}{
			{"default", nil},
			{"serial", []Option{WithParallelism(1)}},
			{"3workers", []Option{WithParallelism(3), WithParallelThreshold(64)}},
		} {
			t.Run(fmt.Sprint(metric, "/", tc.name), func(t *testing.T) {
				s, err := New(append([]Option{WithMetric(metric)}, tc.opts...)...)
				require.NoError(t, err)
				defer s.Close()
				qs := batchFixture(t, s, 11, 900, 40, 120)
				want := oneByOne(t, s, qs)
				got, stats, err := s.queryBatch(t.Context(), qs, queryConfig{})
				require.NoError(t, err)
				require.Len(t, got, len(qs))
				for i := range qs {
					require.Equal(t, want[i], got[i], "query %d", i)
				}
				assert.Greater(t, stats.batched, len(qs)/2)
				// Only ties at the k-th score (the duplicates) need a
				// second scan.
				assert.Less(t, stats.rescans, stats.batched/4)
			})
		}
	}
}

// TestQueryBatchLarge crosses every block boundary: two blocks of queries,
// several chunks of rows, several workers, and no ties, so that the bound
// settles every query without a second scan.
func TestQueryBatchLarge(t *testing.T) {
	for _, metric := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		t.Run(metric.String(), func(t *testing.T) {
			s, err := New(WithMetric(metric), WithParallelism(3))
			require.NoError(t, err)
			defer s.Close()
			const n, dim = 2*batchChunk + 300, 8
			recs := indextest.RandomRecords(21, n, dim)
			for i := 0; i < n; i += 2000 {
				require.NoError(t, s.Upsert(t.Context(), "big", recs[i:min(i+2000, n)]))
			}
			vecs := indextest.RandomVectors(22, batchQueries+30, dim)
			qs := make([]index.Query, len(vecs))
			for i, v := range vecs {
				qs[i] = index.Query{Namespace: "big", Vector: v, TopK: 1 + i%20}
				if i%7 == 0 {
					qs[i].Filter = index.Eq("group", "gamma")
				}
			}
			want := oneByOne(t, s, qs)
			got, stats, err := s.queryBatch(t.Context(), qs, queryConfig{})
			require.NoError(t, err)
			require.Equal(t, want, got)
			assert.Equal(t, batchStats{batched: len(qs)}, stats)
		})
	}
}

// TestQueryBatchTies has 10 vectors, each stored under 20 IDs: a query
// whose k-th score ties with more records than it has spare candidates
// cannot be settled by the bound and is scanned again; the others are not.
func TestQueryBatchTies(t *testing.T) {
	s, err := New(WithMetric(index.Euclidean))
	require.NoError(t, err)
	defer s.Close()
	recs := indextest.RandomRecords(31, 200, 6)
	for i := range recs {
		recs[i].Vector = recs[i%10].Vector
	}
	require.NoError(t, s.Upsert(t.Context(), "", recs))
	qs := make([]index.Query, 30)
	for i := range qs {
		qs[i] = index.Query{Vector: recs[i%10].Vector, TopK: 1 + i}
	}
	want := oneByOne(t, s, qs)
	got, stats, err := s.queryBatch(t.Context(), qs, queryConfig{})
	require.NoError(t, err)
	require.Equal(t, want, got)
	assert.Equal(t, len(qs), stats.batched)
	// TopK 1 to 4: the k+16 candidates are all tied with the k-th score,
	// and so may be records left out.
	assert.Equal(t, 4, stats.rescans)
}

// TestQueryBatchGraph: with WithHNSW, unfiltered queries walk the graph and
// give what QueryWith gives; WithExact scans, skipping the slots of
// deleted and rewritten records.
func TestQueryBatchGraph(t *testing.T) {
	for _, metric := range []index.Metric{index.Cosine, index.Euclidean} {
		t.Run(metric.String(), func(t *testing.T) {
			s, err := New(WithMetric(metric), WithHNSW(8, 32, 32), WithHNSWThreshold(100))
			require.NoError(t, err)
			defer s.Close()
			ctx := t.Context()
			qs := batchFixture(t, s, 41, 600, 0, 60)
			var gone []string
			for i := 0; i < 600; i += 5 {
				gone = append(gone, fmt.Sprintf("r%05d", i))
			}
			require.NoError(t, s.Delete(ctx, "a", gone))
			moved := indextest.RandomRecords(42, 40, 24) // r00000…r00039, new vectors
			require.NoError(t, s.Upsert(ctx, "a", moved))
			for _, opts := range [][]QueryOption{nil, {WithExact()}, {WithEfSearch(8)}} {
				want := oneByOne(t, s, qs, opts...)
				got, err := s.QueryBatch(ctx, qs, opts...)
				require.NoError(t, err)
				require.Equal(t, want, got)
				deleted := make(map[string]bool)
				for _, id := range gone[8:] {
					deleted[id] = true
				}
				for i, ms := range got {
					for _, m := range ms {
						if qs[i].Namespace == "a" && deleted[m.ID] {
							t.Fatalf("query %d: deleted %s returned", i, m.ID)
						}
					}
				}
			}
		})
	}
}

func TestQueryBatchErrors(t *testing.T) {
	s, err := New(WithMetric(index.Cosine))
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	require.NoError(t, s.Upsert(ctx, "ns", indextest.RandomRecords(1, 20, 4)))
	good := index.Query{Namespace: "ns", Vector: []float32{1, 2, 3, 4}, TopK: 3}
	with := func(i int, q index.Query) []index.Query {
		qs := []index.Query{good, good, good, good}
		qs[i] = q
		return qs
	}
	for _, tc := range []struct {
		name   string
		qs     []index.Query
		prefix string
		want   error
	}{
		{"TopK0", with(2, index.Query{Namespace: "ns", Vector: good.Vector}), "query 2: ", index.ErrInvalidArgument},
		{"TopKTooLarge", with(1, index.Query{Namespace: "ns", Vector: good.Vector, TopK: index.MaxTopK + 1}), "query 1: ", index.ErrInvalidArgument},
		{"Dimension", with(3, index.Query{Namespace: "ns", Vector: []float32{1, 2}, TopK: 1}), "query 3: ", index.ErrDimension},
		{"NaN", with(0, index.Query{Namespace: "ns", Vector: []float32{1, float32(math.NaN()), 0, 0}, TopK: 1}), "query 0: ", index.ErrInvalidVector},
		{"ZeroUnderCosine", with(1, index.Query{Namespace: "ns", Vector: make([]float32, 4), TopK: 1}), "query 1: ", index.ErrInvalidVector},
		{"Namespace", with(2, index.Query{Namespace: "a\x00b", Vector: good.Vector, TopK: 1}), "query 2: ", index.ErrInvalidArgument},
		{"Filter", with(1, index.Query{Namespace: "ns", Vector: good.Vector, TopK: 1, Filter: index.Filter{Op: index.Op(99), Field: "x"}}), "query 1: ", index.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.QueryBatch(ctx, tc.qs)
			require.ErrorIs(t, err, tc.want)
			assert.Regexp(t, "^"+tc.prefix, err.Error())
			// The same reason as Query gives for the query alone.
			var bad index.Query
			for i, q := range tc.qs {
				if fmt.Sprintf("query %d: ", i) == tc.prefix {
					bad = q
				}
			}
			_, qerr := s.Query(ctx, bad)
			require.Error(t, qerr)
			assert.Equal(t, tc.prefix+qerr.Error(), err.Error())
		})
	}

	t.Run("Empty", func(t *testing.T) {
		got, err := s.QueryBatch(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("NilOption", func(t *testing.T) {
		_, err := s.QueryBatch(ctx, []index.Query{good}, nil)
		require.ErrorIs(t, err, index.ErrInvalidArgument)
	})
	t.Run("NilContext", func(t *testing.T) {
		//lint:ignore SA1012 a nil context is the point
		_, err := s.QueryBatch(nil, []index.Query{good})
		//lint:ignore SA1012 a nil context is the point
		_, qerr := s.Query(nil, good)
		require.ErrorIs(t, err, index.ErrInvalidArgument)
		assert.Equal(t, qerr, err)
	})
	t.Run("Cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancelCause(ctx)
		cause := errors.New("stop")
		cancel(cause)
		_, err := s.QueryBatch(cctx, []index.Query{good})
		require.ErrorIs(t, err, cause)
		_, qerr := s.Query(cctx, good)
		assert.Equal(t, qerr, err)
	})
	t.Run("Closed", func(t *testing.T) {
		c, err := New()
		require.NoError(t, err)
		require.NoError(t, c.Close())
		_, err = c.QueryBatch(ctx, []index.Query{good})
		require.ErrorIs(t, err, index.ErrClosed)
	})
}

// TestQueryBatchConcurrentWrites runs batches while other goroutines write
// and delete: every batch sees one state of the store (run with -race).
func TestQueryBatchConcurrentWrites(t *testing.T) {
	s, err := New(WithMetric(index.Euclidean), WithParallelism(2))
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	recs := indextest.RandomRecords(61, 600, 8)
	require.NoError(t, s.Upsert(ctx, "ns", recs[:300]))
	qs := make([]index.Query, 16)
	for i, v := range indextest.RandomVectors(62, len(qs), 8) {
		qs[i] = index.Query{Namespace: "ns", Vector: v, TopK: 7}
	}
	var g errgroup.Group
	g.Go(func() error {
		for i := 300; i < 600; i += 20 {
			if err := s.Upsert(ctx, "ns", recs[i:i+20]); err != nil {
				return err
			}
			if err := s.Delete(ctx, "ns", []string{recs[i-300].ID}); err != nil {
				return err
			}
		}
		return nil
	})
	for range 3 {
		g.Go(func() error {
			for range 10 {
				got, err := s.QueryBatch(ctx, qs)
				if err != nil {
					return err
				}
				for i, ms := range got {
					if len(ms) != 7 {
						return fmt.Errorf("query %d: %d matches", i, len(ms))
					}
					for j := 1; j < len(ms); j++ {
						if ms[j].Score > ms[j-1].Score {
							return fmt.Errorf("query %d: not sorted", i)
						}
					}
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}
