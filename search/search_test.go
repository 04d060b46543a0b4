package search_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/search"
)

func newSearcher(t testing.TB, s index.VectorStore, opts ...search.Option) *search.Searcher {
	t.Helper()
	srch, err := search.New(s, ns, opts...)
	require.NoError(t, err)
	return srch
}

// A bucket spanning two clusters: Max and RRF retrieve from both, Mean from
// the cluster half way between them.
func TestAggregationOverTwoClusters(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	twoClusters(t, store)
	s := newSearcher(t, store)
	bucket := search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByID("b-00")}}

	for _, tc := range []struct {
		agg  search.Aggregation
		want func(t *testing.T, got map[string]int)
	}{
		{search.Mean, func(t *testing.T, got map[string]int) {
			assert.Equal(t, map[string]int{"m": 10}, got, "the mean lands between a and b")
		}},
		{search.Max, func(t *testing.T, got map[string]int) {
			assert.Equal(t, 10, got["a"]+got["b"], "only a and b: %v", got)
			assert.Positive(t, got["a"])
			assert.Positive(t, got["b"])
		}},
		{search.RRF, func(t *testing.T, got map[string]int) {
			assert.Equal(t, 10, got["a"]+got["b"], "only a and b: %v", got)
			assert.Positive(t, got["a"])
			assert.Positive(t, got["b"])
		}},
	} {
		t.Run(tc.agg.String(), func(t *testing.T) {
			t.Parallel()
			res, err := s.Search(t.Context(), bucket, search.WithAggregation(tc.agg))
			require.NoError(t, err)
			require.Len(t, res, search.DefaultTopK)
			tc.want(t, clusters(res))
			for _, r := range res {
				assert.NotContains(t, []string{"a-00", "b-00"}, r.ID, "bucket IDs are excluded by default")
				assert.NotNil(t, r.Metadata)
				assert.Nil(t, r.Vector)
				switch tc.agg {
				case search.Mean:
					assert.Equal(t, -1, r.Positive)
				default:
					assert.Equal(t, map[string]int{"a": 0, "b": 1}[r.Metadata["cluster"].(string)], r.Positive, r.ID)
				}
			}
		})
	}
}

// A negative from a nearby wrong cluster pushes it out of the top results
// in every mode.
func TestNegativesPushAway(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	nearWrong(t, store)
	s := newSearcher(t, store)
	pos := []search.Example{search.ByVector(basis(0))}

	for _, agg := range aggregations {
		t.Run(agg.String(), func(t *testing.T) {
			t.Parallel()
			plain, err := s.Search(t.Context(), search.Bucket{Positives: pos}, search.WithAggregation(agg))
			require.NoError(t, err)
			require.Equal(t, map[string]int{"w": 10}, clusters(plain), "precondition: w outranks a without negatives")

			res, err := s.Search(t.Context(), search.Bucket{Positives: pos, Negatives: []search.Example{search.ByID("w-00")}},
				search.WithAggregation(agg))
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"a": 10}, clusters(res))
			for _, r := range res {
				if agg == search.Mean {
					assert.Zero(t, r.Penalty)
				} else {
					assert.Positive(t, r.Penalty, r.ID)
				}
			}

			// Weight 0 ignores the negatives.
			off, err := s.Search(t.Context(), search.Bucket{Positives: pos, Negatives: []search.Example{search.ByID("w-00")}},
				search.WithAggregation(agg), search.WithNegativeWeight(0), search.WithIncludeBucket(true))
			require.NoError(t, err)
			assert.Equal(t, ids(plain), ids(off))
		})
	}
}

// With one positive and one negative, Mean's Rocchio query and Max's local
// re-scoring rank alike, under every metric.
func TestMeanAndMaxAgreeOnOnePair(t *testing.T) {
	t.Parallel()
	for _, m := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			store := newStore(t, m)
			twoClusters(t, store)
			s := newSearcher(t, store, search.WithMetric(m))
			// Unit vectors, so that DotProduct's normalised mean equals them.
			b := search.Bucket{
				Positives: []search.Example{search.ByVector(basis(0))},
				Negatives: []search.Example{search.ByVector(combine([]float32{0.6, 0.8}, basis(0), basis(1)))},
			}
			opts := []search.Option{search.WithTopK(20), search.WithCandidates(200), search.WithNegativeWeight(0.3)}
			mean, err := s.Search(t.Context(), b, append(opts, search.WithAggregation(search.Mean))...)
			require.NoError(t, err)
			max, err := s.Search(t.Context(), b, append(opts, search.WithAggregation(search.Max))...)
			require.NoError(t, err)
			assert.Equal(t, ids(mean), ids(max))
		})
	}
}

// Under DotProduct, Mean normalises the examples and Max does not, so the
// two agree only when the positive and the negative have the same norm.
func TestMeanAndMaxUnderDotProduct(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.DotProduct)
	require.NoError(t, store.Upsert(t.Context(), ns, []index.Record{
		{ID: "a", Vector: []float32{1, 0.5}},
		{ID: "b", Vector: []float32{0.6, 0}},
	}))
	s := newSearcher(t, store)
	for _, tc := range []struct {
		name     string
		neg      []float32
		max      []string // Max ranks by x·p − w·x·n
		sameRank bool
	}{
		{"same norms", []float32{0, 1}, []string{"a", "b"}, true},       // Max a 0.75, b 0.6
		{"different norms", []float32{0, 3}, []string{"b", "a"}, false}, // Max a 0.25, b 0.6; Mean as above
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := search.Bucket{
				Positives: []search.Example{search.ByVector([]float32{1, 0})},
				Negatives: []search.Example{search.ByVector(tc.neg)},
			}
			mean, err := s.Search(t.Context(), b, search.WithAggregation(search.Mean))
			require.NoError(t, err)
			max, err := s.Search(t.Context(), b, search.WithAggregation(search.Max))
			require.NoError(t, err)
			assert.Equal(t, []string{"a", "b"}, ids(mean))
			assert.Equal(t, tc.max, ids(max))
			assert.Equal(t, tc.sameRank, slices.Equal(ids(mean), ids(max)))
		})
	}
}

// Exclusion is exact: after dropping many seen IDs, Search still returns
// TopK unseen items, the next ones in line.
func TestExclude(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	twoClusters(t, store)
	s := newSearcher(t, store)
	bucket := search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByID("b-00")}}

	for _, agg := range aggregations {
		t.Run(agg.String(), func(t *testing.T) {
			t.Parallel()
			full, err := s.Search(t.Context(), bucket, search.WithAggregation(agg), search.WithTopK(60))
			require.NoError(t, err)
			require.Len(t, full, 60)
			seen := ids(full[:45])

			res, err := s.Search(t.Context(), bucket, search.WithAggregation(agg), search.WithExclude(seen[:20]...), search.WithExclude(seen[20:]...))
			require.NoError(t, err)
			require.Len(t, res, search.DefaultTopK)
			for _, r := range res {
				assert.NotContains(t, seen, r.ID)
			}
			if agg != search.RRF { // RRF's fused scores depend on the ranks, which exclusion shifts
				assert.Equal(t, ids(full[45:55]), ids(res))
			}

			// Everything but the background excluded: the background comes back.
			var notZ []string
			for _, c := range []string{"a", "b", "m"} {
				for i := range 20 {
					notZ = append(notZ, fmt.Sprintf("%s-%02d", c, i))
				}
			}
			res, err = s.Search(t.Context(), bucket, search.WithAggregation(agg), search.WithExclude(notZ...), search.WithTopK(30))
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"z": 30}, clusters(res))

			// IncludeBucket lets the bucket's own records back in.
			res, err = s.Search(t.Context(), bucket, search.WithAggregation(agg), search.WithIncludeBucket(true), search.WithTopK(60))
			require.NoError(t, err)
			assert.Subset(t, ids(res), []string{"a-00", "b-00"})
		})
	}
}

// When more excluded items rank ahead than one query can reach
// (index.MaxTopK), Search returns the unseen ones it found, without error.
func TestExcludeBeyondMaxTopK(t *testing.T) {
	t.Parallel()
	store := newMapStore(index.Cosine)
	const n = index.MaxTopK + 20
	recs := make([]index.Record, n)
	for i := range recs {
		// Item i is at angle i·ε from axis 0: ranked by i.
		a := float64(i) * 1e-4
		v := make([]float32, 2)
		v[0], v[1] = float32(math.Cos(a)), float32(math.Sin(a))
		recs[i] = index.Record{ID: fmt.Sprintf("r%05d", i), Vector: v}
	}
	require.NoError(t, store.Upsert(t.Context(), ns, recs))
	s := newSearcher(t, store)
	bucket := search.Bucket{Positives: []search.Example{search.ByVector([]float32{1, 0})}}
	seen := func(k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = recs[i].ID
		}
		return out
	}

	for _, tc := range []struct {
		excluded, want int
	}{
		{index.MaxTopK - 10, 10},
		{index.MaxTopK - 4, 4},
	} {
		t.Run(fmt.Sprint(tc.excluded), func(t *testing.T) {
			t.Parallel()
			res, err := s.Search(t.Context(), bucket, search.WithExclude(seen(tc.excluded)...))
			require.NoError(t, err)
			assert.Equal(t, ids(res), seen(tc.excluded + tc.want)[tc.excluded:])
		})
	}
	qs, _ := store.calls()
	for _, q := range qs {
		assert.Equal(t, index.MaxTopK, q.TopK, "over-fetch is capped")
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	twoClusters(t, store)
	s := newSearcher(t, store)
	bucket := search.Bucket{
		Positives: []search.Example{search.ByID("a-00"), search.ByID("b-00")},
		Negatives: []search.Example{search.ByID("m-00")},
	}
	f := index.And(index.Eq("split", "test"), index.Lt("n", 10))
	for _, agg := range aggregations {
		t.Run(agg.String(), func(t *testing.T) {
			t.Parallel()
			res, err := s.Search(t.Context(), bucket, search.WithAggregation(agg), search.WithFilter(f), search.WithTopK(30))
			require.NoError(t, err)
			require.NotEmpty(t, res)
			for _, r := range res {
				assert.True(t, f.Match(r.Metadata), "%s: %v", r.ID, r.Metadata)
			}
			assert.Len(t, res, 20, "5 matching items in each of a, b, m and z, less m-00 (not test)")
		})
	}
}

// A bucket given by stored IDs, by their vectors, or by inputs an encoder
// maps to those vectors, gives the same results.
func TestExampleForms(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	twoClusters(t, store)
	names := []string{"a-03", "b-07", "m-11"}
	recs, err := store.Fetch(t.Context(), ns, names)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	enc := &textEncoder{dim: dim, vecs: map[string][]float32{}}
	byID, byVec, byIn := make([]search.Example, 3), make([]search.Example, 3), make([]search.Example, 3)
	for i, r := range recs {
		enc.vecs["text of "+r.ID] = r.Vector
		byID[i] = search.ByID(r.ID)
		byVec[i] = search.ByVector(r.Vector)
		byIn[i] = search.ByInput(embedding.Input{ID: r.ID, Text: "text of " + r.ID})
	}
	s := newSearcher(t, store, search.WithEncoder(enc))
	mixed := []search.Example{byID[0], byVec[1], byIn[2]}

	for _, agg := range aggregations {
		t.Run(agg.String(), func(t *testing.T) {
			t.Parallel()
			run := func(pos, neg []search.Example) []search.Result {
				res, err := s.Search(t.Context(), search.Bucket{Positives: pos, Negatives: neg},
					search.WithAggregation(agg), search.WithExclude(names...), search.WithTopK(15))
				require.NoError(t, err)
				require.Len(t, res, 15)
				return res
			}
			want := run(byID[:2], byID[2:])
			for name, got := range map[string][]search.Result{
				"vector": run(byVec[:2], byVec[2:]),
				"input":  run(byIn[:2], byIn[2:]),
				"mixed":  run(mixed[:2], mixed[2:]),
			} {
				assert.Positive(t, enc.calls.Load())
				assert.Equal(t, ids(want), ids(got), name)
				for i := range want {
					assert.InDelta(t, want[i].Score, got[i].Score, 1e-5, name)
				}
			}
		})
	}
}

func TestBucketValidate(t *testing.T) {
	t.Parallel()
	v := []float32{1, 0}
	in := embedding.Input{Text: "x"}
	for _, tc := range []struct {
		name   string
		bucket search.Bucket
		ok     bool
		is     error
	}{
		{"id", search.Bucket{Positives: []search.Example{search.ByID("x")}}, true, nil},
		{"all forms", search.Bucket{
			Positives: []search.Example{search.ByID("x"), search.ByVector(v), search.ByInput(in)},
			Negatives: []search.Example{search.ByID("y"), search.ByVector(v), search.ByInput(in)},
		}, true, nil},
		{"no positive", search.Bucket{Negatives: []search.Example{search.ByID("x")}}, false, nil},
		{"empty example", search.Bucket{Positives: []search.Example{{}}}, false, nil},
		{"two forms", search.Bucket{Positives: []search.Example{{ID: "x", Vector: v}}}, false, nil},
		{"three forms", search.Bucket{Positives: []search.Example{{ID: "x", Vector: v, Input: &in}}}, false, nil},
		{"bad negative", search.Bucket{Positives: []search.Example{search.ByID("x")}, Negatives: []search.Example{{}}}, false, nil},
		{"empty vector", search.Bucket{Positives: []search.Example{search.ByVector([]float32{})}}, false, index.ErrInvalidVector},
		{"NaN", search.Bucket{Positives: []search.Example{search.ByVector([]float32{float32(math.NaN())})}}, false, index.ErrInvalidVector},
		{"bad id", search.Bucket{Positives: []search.Example{search.ByID("a\x00b")}}, false, index.ErrInvalidID},
		{"both signs", search.Bucket{
			Positives: []search.Example{search.ByID("x")},
			Negatives: []search.Example{search.ByID("x")},
		}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.bucket.Validate()
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, search.ErrInvalidBucket)
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	twoClusters(t, store)
	ok := search.Bucket{Positives: []search.Example{search.ByID("a-00")}}
	short := []float32{1, 0, 0}

	plain := newSearcher(t, store)
	badEnc := newSearcher(t, store, search.WithEncoder(&textEncoder{dim: 8, vecs: map[string][]float32{"x": make([]float32, 8)}}))
	goodEnc := newSearcher(t, store, search.WithEncoder(&textEncoder{dim: dim, vecs: map[string][]float32{}}))

	for _, tc := range []struct {
		name     string
		s        *search.Searcher
		bucket   search.Bucket
		opts     []search.Option
		is       []error
		contains string
	}{
		{"missing id", plain, search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByID("nope")}},
			nil, []error{index.ErrNotFound}, `"nope"`},
		{"missing negative", plain, search.Bucket{Positives: []search.Example{search.ByID("a-00")}, Negatives: []search.Example{search.ByID("gone")}},
			nil, []error{index.ErrNotFound}, `"gone"`},
		{"vector vs namespace", plain, search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByVector(short)}},
			nil, []error{index.ErrDimension}, "positive 1 (vector)"},
		{"vectors disagree", plain, search.Bucket{Positives: []search.Example{search.ByVector(basis(0)), search.ByVector(short)}},
			nil, []error{index.ErrDimension}, "positive 1"},
		{"vector vs store, mean", plain, search.Bucket{Positives: []search.Example{search.ByVector(short)}},
			nil, []error{index.ErrDimension}, ""},
		{"vector vs store, max with negatives", plain, search.Bucket{Positives: []search.Example{search.ByVector(short)}, Negatives: []search.Example{search.ByVector(short)}},
			[]search.Option{search.WithAggregation(search.Max)}, []error{index.ErrDimension}, ""},
		{"encoder vs namespace", badEnc, ok, nil, []error{index.ErrDimension}, "fake-text"},
		{"input vs namespace", badEnc, search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByInput(embedding.Input{ID: "q", Text: "x"})}},
			nil, []error{index.ErrDimension}, ""},
		{"input without encoder", plain, search.Bucket{Positives: []search.Example{search.ByInput(embedding.Input{ID: "q", Text: "x"})}},
			nil, []error{search.ErrNoEncoder, index.ErrInvalidArgument}, `positive 0 (input "q")`},
		{"encoder rejects input", goodEnc, search.Bucket{Positives: []search.Example{search.ByInput(embedding.Input{ID: "q", Text: "unknown"})}},
			nil, []error{embedding.ErrInvalidInput}, "unknown"},
		{"invalid bucket", plain, search.Bucket{}, nil, []error{search.ErrInvalidBucket, index.ErrInvalidArgument}, ""},
		{"cancelling positives", plain, search.Bucket{
			Positives: []search.Example{search.ByVector(basis(0)), search.ByVector(combine([]float32{-1}, basis(0)))},
		}, nil, []error{search.ErrInvalidBucket}, "zero vector"},
		{"TopK 0", plain, ok, []search.Option{search.WithTopK(0)}, []error{search.ErrInvalidOption, index.ErrInvalidArgument}, "TopK"},
		{"TopK too large", plain, ok, []search.Option{search.WithTopK(index.MaxTopK + 1)}, []error{search.ErrInvalidOption}, "TopK"},
		{"Candidates", plain, ok, []search.Option{search.WithCandidates(-1)}, []error{search.ErrInvalidOption}, "Candidates"},
		{"aggregation", plain, ok, []search.Option{search.WithAggregation(7)}, []error{search.ErrInvalidOption}, "Aggregation(7)"},
		{"negative weight", plain, ok, []search.Option{search.WithNegativeWeight(-1)}, []error{search.ErrInvalidOption}, "WithNegativeWeight: -1"},
		{"NaN weight", plain, ok, []search.Option{search.WithNegativeWeight(math.NaN())}, []error{search.ErrInvalidOption}, "WithNegativeWeight: NaN"},
		{"RRF constant", plain, ok, []search.Option{search.WithRRFConstant(0)}, []error{search.ErrInvalidOption}, "RRF"},
		{"excluded id", plain, ok, []search.Option{search.WithExclude("")}, []error{search.ErrInvalidOption, index.ErrInvalidID}, ""},
		{"filter", plain, ok, []search.Option{search.WithFilter(index.Eq("label", []int{1}))}, []error{search.ErrInvalidOption, index.ErrInvalidFilter},
			`search: WithFilter: invalid filter: eq "label": value of type []int`},
		{"encoder per call", plain, ok, []search.Option{search.WithEncoder(&textEncoder{dim: dim})}, []error{search.ErrInvalidOption},
			"search: WithEncoder applies to New, not to Search"},
		{"metric per call", plain, ok, []search.Option{search.WithMetric(index.Cosine)}, []error{search.ErrInvalidOption},
			"search: WithMetric applies to New, not to Search"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := tc.s.Search(t.Context(), tc.bucket, tc.opts...)
			require.Error(t, err)
			assert.Nil(t, res)
			for _, want := range tc.is {
				assert.ErrorIs(t, err, want)
			}
			assert.Contains(t, err.Error(), tc.contains)
		})
	}
}

func TestEuclideanWeightLimit(t *testing.T) {
	t.Parallel()
	s := newSearcher(t, newStore(t, index.Euclidean), search.WithMetric(index.Euclidean))
	_, err := s.Search(t.Context(), search.Bucket{Positives: []search.Example{search.ByVector([]float32{1})}}, search.WithNegativeWeight(1))
	assert.ErrorIs(t, err, search.ErrInvalidOption)
}

func TestNew(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	for _, tc := range []struct {
		name  string
		store index.VectorStore
		opts  []search.Option
		ok    bool
	}{
		{"defaults", store, nil, true},
		{"all options", store, []search.Option{search.WithEncoder(&textEncoder{dim: 2}), search.WithMetric(index.Cosine), search.WithConcurrency(2),
			search.WithTopK(3), search.WithCandidates(9), search.WithFilter(index.Eq("k", "v")), search.WithExclude("x"),
			search.WithAggregation(search.RRF), search.WithNegativeWeight(0.2), search.WithRRFConstant(10),
			search.WithIncludeBucket(true), search.WithIncludeVectors(true), nil}, true},
		{"metric contradicts the store's", store, []search.Option{search.WithMetric(index.DotProduct)}, false},
		{"nil store", nil, nil, false},
		{"nil encoder", store, []search.Option{search.WithEncoder(nil)}, false},
		{"bad metric", store, []search.Option{search.WithMetric(index.Metric(9))}, false},
		{"bad concurrency", store, []search.Option{search.WithConcurrency(0)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := search.New(tc.store, ns, tc.opts...)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, ns, s.Namespace())
				return
			}
			assert.Nil(t, s)
			assert.ErrorIs(t, err, search.ErrInvalidOption)
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
		})
	}
	_, err := search.New(store, ns, search.WithMetric(index.DotProduct))
	assert.EqualError(t, err, "search: WithMetric(dot) contradicts the store's metric cosine")
	// A store that does not report its metric keeps Cosine unless told.
	s, err := search.New(opaque{store}, ns)
	require.NoError(t, err)
	assert.Equal(t, index.Cosine, s.Metric())
	s, err = search.New(opaque{store}, ns, search.WithMetric(index.DotProduct))
	require.NoError(t, err)
	assert.Equal(t, index.DotProduct, s.Metric())
}

// opaque hides every method of a store but those of index.VectorStore.
type opaque struct{ index.VectorStore }

func TestEmptyNamespace(t *testing.T) {
	t.Parallel()
	s := newSearcher(t, newStore(t, index.Cosine))
	for _, agg := range aggregations {
		res, err := s.Search(t.Context(), search.Bucket{
			Positives: []search.Example{search.ByVector([]float32{1, 0})},
			Negatives: []search.Example{search.ByVector([]float32{0, 1})},
		}, search.WithAggregation(agg))
		require.NoError(t, err, agg)
		assert.Empty(t, res, agg)
	}
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	store := newMapStore(index.Cosine)
	twoClusters(t, store)
	bucket := search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByID("b-00"), search.ByID("m-00")}}

	t.Run("before", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, agg := range aggregations {
			_, err := newSearcher(t, store).Search(ctx, bucket, search.WithAggregation(agg))
			assert.ErrorIs(t, err, context.Canceled, agg)
		}
	})
	t.Run("during", func(t *testing.T) {
		t.Parallel()
		// The store cancels the search from inside its first query.
		cs := newMapStore(index.Cosine)
		twoClusters(t, cs)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		cs.onQuery = func(qctx context.Context, _ index.Query) error {
			cancel()
			return qctx.Err()
		}
		for _, agg := range aggregations {
			_, err := newSearcher(t, cs, search.WithConcurrency(1)).Search(ctx, bucket, search.WithAggregation(agg))
			assert.ErrorIs(t, err, context.Canceled, agg)
		}
	})
}

// The same search twice gives the same results, and equal scores are
// ordered by ID.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	var recs []index.Record
	for i := range 30 {
		// Ten distinct vectors, each stored three times under different IDs.
		a := float64(i%10) * 0.05
		recs = append(recs, index.Record{ID: fmt.Sprintf("t%02d", 29-i), Vector: []float32{float32(math.Cos(a)), float32(math.Sin(a)), 0}})
	}
	require.NoError(t, store.Upsert(t.Context(), ns, recs))
	s := newSearcher(t, store)
	bucket := search.Bucket{
		Positives: []search.Example{search.ByVector([]float32{1, 0, 0}), search.ByVector([]float32{0.9, 0.1, 0})},
		Negatives: []search.Example{search.ByVector([]float32{0, 1, 0})},
	}
	for _, agg := range aggregations {
		t.Run(agg.String(), func(t *testing.T) {
			t.Parallel()
			first, err := s.Search(t.Context(), bucket, search.WithAggregation(agg), search.WithTopK(12))
			require.NoError(t, err)
			require.Len(t, first, 12)
			for range 3 {
				again, err := s.Search(t.Context(), bucket, search.WithAggregation(agg), search.WithTopK(12))
				require.NoError(t, err)
				assert.Equal(t, first, again)
			}
			assert.True(t, slices.IsSortedFunc(first, func(a, b search.Result) int {
				if a.Score != b.Score {
					if a.Score > b.Score {
						return -1
					}
					return 1
				}
				return compareStrings(a.ID, b.ID)
			}), "sorted by score, then ID: %v", first)
			seen := map[string]bool{}
			for _, r := range first {
				assert.False(t, seen[r.ID], "duplicate %s", r.ID)
				seen[r.ID] = true
			}
		})
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The Searcher makes the store calls the design promises: one Fetch for
// the bucket's IDs, one query for Mean, one per positive for Max and RRF,
// and vectors only when the negatives or the caller need them.
func TestStoreCalls(t *testing.T) {
	t.Parallel()
	three := []search.Example{search.ByID("a-00"), search.ByID("b-00"), search.ByID("a-00")}
	for _, tc := range []struct {
		name       string
		agg        search.Aggregation
		neg        []search.Example
		opts       []search.Option
		queries    int
		vectors    bool
		topK       int
		wantVector bool
	}{
		{"mean", search.Mean, nil, nil, 1, false, 10 + 2, false},
		{"mean with negative", search.Mean, []search.Example{search.ByID("m-00")}, nil, 1, false, 10 + 3, false},
		{"mean with vectors", search.Mean, nil, []search.Option{search.WithIncludeVectors(true)}, 1, true, 10 + 2, true},
		{"max", search.Max, nil, nil, 3, false, 10 + 2, false},
		{"max with negative", search.Max, []search.Example{search.ByID("m-00")}, nil, 3, true, 30 + 3, false},
		{"rrf candidates", search.RRF, nil, []search.Option{search.WithCandidates(25), search.WithExclude("z-00")}, 3, false, 25 + 3, false},
		{"rrf candidates below TopK", search.RRF, nil, []search.Option{search.WithCandidates(2)}, 3, false, 10 + 2, false},
		{"include bucket", search.Max, nil, []search.Option{search.WithIncludeBucket(true), search.WithIncludeVectors(true)}, 3, true, 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := newMapStore(index.Cosine)
			twoClusters(t, store)
			s := newSearcher(t, store)
			res, err := s.Search(t.Context(), search.Bucket{Positives: three, Negatives: tc.neg}, append(tc.opts, search.WithAggregation(tc.agg))...)
			require.NoError(t, err)
			require.Len(t, res, 10)
			qs, fetches := store.calls()
			assert.Equal(t, 1, fetches)
			require.Len(t, qs, tc.queries)
			for _, q := range qs {
				assert.Equal(t, tc.vectors, q.IncludeVectors)
				assert.Equal(t, tc.topK, q.TopK)
				assert.Equal(t, ns, q.Namespace)
			}
			for _, r := range res {
				assert.Equal(t, tc.wantVector, r.Vector != nil, r.ID)
			}
		})
	}
}

// Errors of the store reach the caller, wrapped.
func TestStoreErrors(t *testing.T) {
	t.Parallel()
	store := newMapStore(index.Cosine)
	twoClusters(t, store)
	s := newSearcher(t, store)
	require.NoError(t, store.Close())
	_, err := s.Search(t.Context(), search.Bucket{Positives: []search.Example{search.ByID("a-00")}})
	assert.ErrorIs(t, err, index.ErrClosed)
	_, err = s.Search(t.Context(), search.Bucket{Positives: []search.Example{search.ByVector(basis(0))}}, search.WithAggregation(search.RRF))
	assert.ErrorIs(t, err, index.ErrClosed)
	assert.ErrorContains(t, err, ns)

	boom := errors.New("boom")
	failing := newMapStore(index.Cosine)
	twoClusters(t, failing)
	failing.onQuery = func(context.Context, index.Query) error { return boom }
	_, err = newSearcher(t, failing).Search(t.Context(), search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByID("b-00")}},
		search.WithAggregation(search.Max))
	assert.ErrorIs(t, err, boom)
}

func TestAggregationString(t *testing.T) {
	t.Parallel()
	for a, want := range map[search.Aggregation]string{search.Mean: "mean", search.Max: "max", search.RRF: "rrf", 5: "Aggregation(5)"} {
		assert.Equal(t, want, a.String())
		assert.Equal(t, want != "Aggregation(5)", a.Valid())
	}
}

// sloppyStore wraps a store and breaks the contract the way a careless
// backend might: every match twice, or no vectors.
type sloppyStore struct {
	index.VectorStore
	twice, noVectors bool
	topKs            []int
}

func (s *sloppyStore) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	s.topKs = append(s.topKs, q.TopK)
	ms, err := s.VectorStore.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []index.Match
	for _, m := range ms {
		if s.noVectors {
			m.Vector = nil
		}
		out = append(out, m)
		if s.twice {
			out = append(out, m)
		}
	}
	return out[:min(len(out), q.TopK)], nil
}

func TestSloppyStore(t *testing.T) {
	t.Parallel()
	inner := newStore(t, index.Cosine)
	twoClusters(t, inner)
	bucket := search.Bucket{Positives: []search.Example{search.ByID("a-00")}}

	// Duplicates are dropped, and a page too short of unseen items is
	// asked again, twice as large.
	dup := &sloppyStore{VectorStore: inner, twice: true}
	res, err := newSearcher(t, dup, search.WithConcurrency(1)).Search(t.Context(), bucket, search.WithTopK(8), search.WithExclude("a-01", "a-02"))
	require.NoError(t, err)
	want, err := newSearcher(t, inner).Search(t.Context(), bucket, search.WithTopK(8), search.WithExclude("a-01", "a-02"))
	require.NoError(t, err)
	assert.Equal(t, want, res)
	assert.Equal(t, []int{8 + 3, 22}, dup.topKs)

	// A store that drops the vectors asked for is an error.
	novec := &sloppyStore{VectorStore: inner, noVectors: true}
	_, err = newSearcher(t, novec).Search(t.Context(), bucket, search.WithIncludeVectors(true), search.WithAggregation(search.Max))
	assert.ErrorContains(t, err, "without the vector")
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t, index.Cosine)
	twoClusters(t, store)
	s := newSearcher(t, store)
	stored, err := store.Fetch(ctx, ns, []string{"a-00", "b-03"})
	require.NoError(t, err)
	want := map[string][]float32{}
	for _, r := range stored {
		want[r.ID] = r.Vector
	}
	own := make([]float32, dim)
	own[2] = 1
	_, err = s.Resolve(ctx, search.Bucket{
		Positives: []search.Example{search.ByID("b-03"), search.ByVector(own), search.ByID("a-00")},
		Negatives: []search.Example{search.ByID("b-03")},
	})
	require.Error(t, err, "an example both positive and negative")
	assert.ErrorIs(t, err, search.ErrInvalidBucket)
	got, err := s.Resolve(ctx, search.Bucket{
		Positives: []search.Example{search.ByID("b-03"), search.ByVector(own)},
		Negatives: []search.Example{search.ByID("a-00")},
	})
	require.NoError(t, err)
	assert.Equal(t, dim, got.Dim)
	assert.Equal(t, [][]float32{want["b-03"], own}, got.Positives, "bucket order")
	assert.Equal(t, [][]float32{want["a-00"]}, got.Negatives)

	_, err = s.Resolve(ctx, search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByID("nope")}})
	assert.ErrorIs(t, err, index.ErrNotFound)
	assert.ErrorContains(t, err, `"nope"`)
	_, err = s.Resolve(ctx, search.Bucket{Positives: []search.Example{search.ByID("a-00"), search.ByVector([]float32{1, 2})}})
	assert.ErrorIs(t, err, index.ErrDimension)
	_, err = s.Resolve(ctx, search.Bucket{})
	assert.ErrorIs(t, err, search.ErrInvalidBucket)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Resolve(cancelled, search.Bucket{Positives: []search.Example{search.ByID("a-00")}})
	assert.ErrorIs(t, err, context.Canceled)
}

// The Searcher takes the store's metric by default: on a DotProduct store
// with a long vector, re-scoring under an assumed Cosine ranked near 0.939,
// big 0.354, where the store itself ranks big 5.0, near 0.85.
func TestDefaultMetricIsTheStores(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.DotProduct)
	require.NoError(t, store.Upsert(t.Context(), ns, []index.Record{
		{ID: "near", Vector: []float32{0.85, 0.311, 0}},
		{ID: "big", Vector: []float32{5, 13.21, 0}},
	}))
	s := newSearcher(t, store)
	assert.Equal(t, index.DotProduct, s.Metric())
	res, err := s.Search(t.Context(), search.Bucket{
		Positives: []search.Example{search.ByVector([]float32{1, 0, 0})},
		Negatives: []search.Example{search.ByVector([]float32{0, 0, 1})}, // orthogonal: no penalty
	}, search.WithAggregation(search.Max))
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, []string{"big", "near"}, ids(res))
	assert.InDelta(t, 5.0, res[0].Score, 1e-4)
	assert.InDelta(t, 0.85, res[1].Score, 1e-4)
}

// Bad arguments are errors wrapping index.ErrInvalidArgument, never panics.
func TestBadArguments(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	twoClusters(t, store)
	s := newSearcher(t, store)
	ok := search.Bucket{Positives: []search.Example{search.ByID("a-00")}}
	var nilCtx context.Context
	for _, tc := range []struct {
		name string
		call func() error
		text string
	}{
		{"New nil store", func() error { _, err := search.New(nil, ns); return err }, "search: New: nil store"},
		{"Search nil context", func() error { _, err := s.Search(nilCtx, ok); return err }, "search: Search: nil context"},
		{"Resolve nil context", func() error { _, err := s.Resolve(nilCtx, ok); return err }, "search: Resolve: nil context"},
		{"Search empty bucket", func() error { _, err := s.Search(t.Context(), search.Bucket{}); return err }, "search: invalid bucket: no positive example"},
		{"Search bad id", func() error {
			_, err := s.Search(t.Context(), search.Bucket{Positives: []search.Example{search.ByID(string([]byte{0xff}))}})
			return err
		}, `search: invalid bucket: positive 0 (id "\xff"): invalid id`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var err error
			require.NotPanics(t, func() { err = tc.call() })
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
			assert.ErrorContains(t, err, tc.text)
		})
	}
}

// Options given to New are the Searcher's defaults; the same options given
// to Search override them for that call, and exclusions add up.
func TestOptionsOfNewAreDefaults(t *testing.T) {
	t.Parallel()
	store := newStore(t, index.Cosine)
	twoClusters(t, store)
	bucket := search.Bucket{Positives: []search.Example{search.ByID("a-00")}}
	base, err := newSearcher(t, store).Search(t.Context(), bucket, search.WithTopK(5))
	require.NoError(t, err)
	require.Len(t, base, 5)

	s := newSearcher(t, store, search.WithTopK(3), search.WithExclude(base[0].ID))
	def, err := s.Search(t.Context(), bucket)
	require.NoError(t, err)
	assert.Equal(t, ids(base)[1:4], ids(def), "New's TopK and exclusion apply")

	over, err := s.Search(t.Context(), bucket, search.WithTopK(2), search.WithExclude(base[1].ID))
	require.NoError(t, err)
	assert.Equal(t, ids(base)[2:4], ids(over), "Search's TopK overrides, its exclusion adds")

	again, err := s.Search(t.Context(), bucket)
	require.NoError(t, err)
	assert.Equal(t, ids(def), ids(again), "a call's options do not stick")
}
