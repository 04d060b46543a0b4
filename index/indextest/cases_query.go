package indextest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func queryCases() []testCase {
	return []testCase{
		{"QueryCosineScores", testQueryCosineScores},
		{"QueryDotProductScores", testQueryDotProductScores},
		{"QueryEuclideanScores", testQueryEuclideanScores},
		{"QueryTopKTruncates", testQueryTopKTruncates},
		{"QueryTopKLargerThanNamespace", testQueryTopKLargerThanNamespace},
		{"QueryTopKInvalid", testQueryTopKInvalid},
		{"QueryIncludeVectors", testQueryIncludeVectors},
		{"QueryMissingNamespace", testQueryMissingNamespace},
		{"QueryInvalidVector", testQueryInvalidVector},
		{"QueryFilterBeforeTopK", testQueryFilterBeforeTopK},
		{"QueryMatchesBruteForce", testQueryMatchesBruteForce},
	}
}

// scoreCase is a hand-computed query: records, a query vector, and the
// expected ranking with exact scores.
type scoreCase struct {
	metric index.Metric
	recs   map[string][]float32
	q      []float32
	want   []string  // best first; no ties
	scores []float64 // of want
}

var scoreCases = map[index.Metric]scoreCase{
	index.Cosine: {
		metric: index.Cosine,
		recs: map[string][]float32{
			"a": {1, 0, 0},  // 1
			"b": {1, 1, 0},  // 1/√2
			"e": {3, 4, 0},  // 0.6 (length does not matter)
			"c": {0, 1, 0},  // 0
			"f": {-1, 1, 0}, // -1/√2
			"d": {-2, 0, 0}, // -1
		},
		q:      []float32{2, 0, 0},
		want:   []string{"a", "b", "e", "c", "f", "d"},
		scores: []float64{1, 1 / math.Sqrt2, 0.6, 0, -1 / math.Sqrt2, -1},
	},
	index.DotProduct: {
		metric: index.DotProduct,
		recs: map[string][]float32{
			"a": {1, 0, 0},     // 1
			"b": {0, 0, 2},     // 6
			"c": {-1, -1, -1},  // -6
			"d": {2, 2, 2},     // 12
			"e": {0.5, 0.5, 0}, // 1.5
			"f": {0, -0.25, 0}, // -0.5
		},
		q:      []float32{1, 2, 3},
		want:   []string{"d", "b", "e", "a", "f", "c"},
		scores: []float64{12, 6, 1.5, 1, -0.5, -6},
	},
	index.Euclidean: {
		metric: index.Euclidean,
		recs: map[string][]float32{
			"a": {1, 1, 0},       // 0
			"e": {1.5, 1.5, 0.5}, // -(0.25+0.25+0.25) = -0.75
			"b": {2, 1, 0},       // -1
			"f": {1, 1, 1.5},     // -2.25
			"c": {1, 3, 0},       // -4
			"d": {-2, 1, 4},      // -(9+0+16) = -25
		},
		q:      []float32{1, 1, 0},
		want:   []string{"a", "e", "b", "f", "c", "d"},
		scores: []float64{0, -0.75, -1, -2.25, -4, -25},
	},
}

func (c scoreCase) records() []index.Record {
	var recs []index.Record
	for _, id := range c.want {
		recs = append(recs, rec(id, c.recs[id], index.Metadata{"id": id}))
	}
	return recs
}

func (c scoreCase) run(t *testing.T, h *harness) {
	cfg := Config{Dim: len(c.q), Metric: c.metric}
	s, ns := h.store(t, cfg), h.ns()
	upsert(t, s, ns, c.records()...)
	ms := query(t, s, index.Query{Namespace: ns, Vector: c.q, TopK: len(c.want)})
	require.Equal(t, c.want, matchIDs(ms), "ranking under %v, best first", c.metric)
	for i, m := range ms {
		assertScore(t, c.scores[i], m.Score, "score of %q under %v", m.ID, c.metric)
		assert.Equal(t, index.Metadata{"id": m.ID}, m.Metadata, "metadata of match %q", m.ID)
	}
}

func testQueryCosineScores(t *testing.T, h *harness)     { scoreCases[index.Cosine].run(t, h) }
func testQueryDotProductScores(t *testing.T, h *harness) { scoreCases[index.DotProduct].run(t, h) }
func testQueryEuclideanScores(t *testing.T, h *harness)  { scoreCases[index.Euclidean].run(t, h) }

func testQueryTopKTruncates(t *testing.T, h *harness) {
	c := scoreCases[index.DotProduct]
	s, ns := h.store(t, Config{Dim: 3, Metric: index.DotProduct}), h.ns()
	upsert(t, s, ns, c.records()...)
	for k := 1; k < len(c.want); k++ {
		ms := query(t, s, index.Query{Namespace: ns, Vector: c.q, TopK: k})
		assert.Equal(t, c.want[:k], matchIDs(ms), "TopK %d", k)
	}
}

func testQueryTopKLargerThanNamespace(t *testing.T, h *harness) {
	c := scoreCases[index.Euclidean]
	s, ns := h.store(t, Config{Dim: 3, Metric: index.Euclidean}), h.ns()
	upsert(t, s, ns, c.records()...)
	for _, k := range []int{len(c.want) + 1, 100, index.MaxTopK} {
		ms := query(t, s, index.Query{Namespace: ns, Vector: c.q, TopK: k})
		assert.Equal(t, c.want, matchIDs(ms), "TopK %d over %d records", k, len(c.want))
	}
}

func testQueryTopKInvalid(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	upsert(t, s, ns, RandomRecords(20, 3, cfg.Dim)...)
	q := constVec(cfg.Dim, 1, 0)
	for _, k := range []int{0, -1, index.MaxTopK + 1} {
		ms, err := s.Query(t.Context(), index.Query{Namespace: ns, Vector: q, TopK: k})
		assert.ErrorIs(t, err, index.ErrInvalidArgument, "TopK %d", k)
		assert.Empty(t, ms, "TopK %d", k)
	}
}

func testQueryIncludeVectors(t *testing.T, h *harness) {
	cfg := Config{Dim: defaultDim, Metric: index.Cosine}
	s, ns := h.store(t, cfg), h.ns()
	recs := RandomRecords(21, 20, cfg.Dim)
	upsert(t, s, ns, recs...)
	want := byID(recs)
	q := recs[0].Vector

	with := query(t, s, index.Query{Namespace: ns, Vector: q, TopK: 5, IncludeVectors: true})
	require.Len(t, with, 5)
	for _, m := range with {
		assertVector(t, cfg.Metric, want[m.ID].Vector, m.Vector, "IncludeVectors: match %q", m.ID)
		assertMetadata(t, want[m.ID].Metadata, m.Metadata, "match %q", m.ID)
		assertScore(t, Score(cfg.Metric, q, want[m.ID].Vector), m.Score, "match %q", m.ID)
	}
	without := query(t, s, index.Query{Namespace: ns, Vector: q, TopK: 5})
	require.Equal(t, matchIDs(with), matchIDs(without), "IncludeVectors does not change the ranking")
	for _, m := range without {
		assert.Empty(t, m.Vector, "no vector without IncludeVectors: match %q", m.ID)
		assertMetadata(t, want[m.ID].Metadata, m.Metadata, "metadata is always returned: match %q", m.ID)
	}
}

func testQueryMissingNamespace(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s := h.store(t, cfg)
	upsert(t, s, h.ns("exists"), RandomRecords(22, 3, cfg.Dim)...)
	q := constVec(cfg.Dim, 1, 0)
	ms, err := s.Query(t.Context(), index.Query{Namespace: h.ns("missing"), Vector: q, TopK: 3})
	assert.NoError(t, err, "Query of a namespace that does not exist")
	assert.Empty(t, ms)
	ms, err = s.Query(t.Context(), index.Query{Namespace: h.ns("missing"), Vector: q, TopK: 3, Filter: index.Eq("group", "alpha")})
	assert.NoError(t, err, "filtered Query of a namespace that does not exist")
	assert.Empty(t, ms)
}

func testQueryInvalidVector(t *testing.T, h *harness) {
	cfg := defaultConfig()
	s, ns := h.store(t, cfg), h.ns()
	upsert(t, s, ns, RandomRecords(23, 3, cfg.Dim)...)
	nan := constVec(cfg.Dim, 1, 0)
	nan[2] = float32(math.NaN())
	inf := constVec(cfg.Dim, float32(math.Inf(-1)), 0)
	for _, c := range []struct {
		name string
		vec  []float32
		want error
	}{
		{"nil", nil, index.ErrInvalidVector},
		{"empty", []float32{}, index.ErrInvalidVector},
		{"NaN", nan, index.ErrInvalidVector},
		{"-Inf", inf, index.ErrInvalidVector},
		{"too short", constVec(cfg.Dim-1, 1, 0), index.ErrDimension},
		{"too long", constVec(cfg.Dim+1, 1, 0), index.ErrDimension},
	} {
		ms, err := s.Query(t.Context(), index.Query{Namespace: ns, Vector: c.vec, TopK: 3})
		assert.ErrorIs(t, err, c.want, "query vector %s", c.name)
		assert.Empty(t, ms, "query vector %s", c.name)
	}
}

func testQueryFilterBeforeTopK(t *testing.T, h *harness) {
	cfg := Config{Dim: 4, Metric: index.Euclidean}
	s, ns := h.store(t, cfg), h.ns()
	// 30 "near" records crowd around the query; 10 "far" ones lie away from
	// it. A store that takes the TopK first and filters after finds no far
	// record.
	vecs := RandomVectors(24, 40, cfg.Dim)
	var recs, far []index.Record
	for i, v := range vecs {
		group := "near"
		if i%4 == 0 {
			group = "far"
			v[0] += 10
		}
		rr := rec(fmt.Sprintf("%s%02d", group, i), v, index.Metadata{"group": group})
		recs = append(recs, rr)
		if group == "far" {
			far = append(far, rr)
		}
	}
	upsert(t, s, ns, recs...)
	q := make([]float32, cfg.Dim)
	ms := query(t, s, index.Query{Namespace: ns, Vector: q, TopK: 5, Filter: index.Eq("group", "far")})
	best := bruteForce(cfg.Metric, far, q)
	require.Len(t, ms, 5, "the filter is applied before TopK")
	for i, m := range ms {
		assert.Equal(t, best[i].id, m.ID, "rank %d among the filtered records", i)
		assertScore(t, best[i].score, m.Score, "match %q", m.ID)
	}
}

func testQueryMatchesBruteForce(t *testing.T, h *harness) {
	for _, m := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			const n, topK = 400, 10
			cfg := Config{Dim: 12, Metric: m}
			s, ns := h.store(t, cfg), h.ns(m.String())
			recs := RandomRecords(25, n, cfg.Dim)
			upsert(t, s, ns, recs...)
			vecs := byID(recs)
			found, total := 0, 0
			for qi, q := range RandomVectors(26, 10, cfg.Dim) {
				ms := query(t, s, index.Query{Namespace: ns, Vector: q, TopK: topK})
				require.Len(t, ms, topK, "query %d", qi)
				assertUniqueIDs(t, matchIDs(ms), "query %d", qi)
				assertSortedByScore(t, ms, "query %d", qi)
				for _, mt := range ms {
					r, ok := vecs[mt.ID]
					if assert.True(t, ok, "query %d returned unknown ID %q", qi, mt.ID) {
						assertScore(t, Score(m, q, r.Vector), mt.Score, "query %d: score of %q", qi, mt.ID)
					}
				}
				// Recall against the exact top-k, ties counted as hits.
				exact := bruteForce(m, recs, q)
				kth := exact[topK-1].score
				for _, mt := range ms {
					if r, ok := vecs[mt.ID]; ok && Score(m, q, r.Vector) >= kth-ScoreTolerance {
						found++
					}
				}
				total += topK
			}
			recall := float64(found) / float64(total)
			assert.GreaterOrEqual(t, recall, h.target, "recall@%d against brute force under %v", topK, m)
		})
	}
}
