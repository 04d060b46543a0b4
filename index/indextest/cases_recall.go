package indextest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func recallCases() []testCase {
	return []testCase{
		{"Recall", testRecall},
	}
}

// Shape of the Recall case's data: recallClusters gaussian clusters in
// recallDim dimensions; recallMoves records move to a new place.
const (
	recallDim      = 32
	recallClusters = 24
	recallSpread   = 0.5 // standard deviation around a centre, whose elements are N(0, 1)
	recallMoves    = 20
)

// clusteredVectors returns n vectors of length dim drawn around clusters
// gaussian centres, deterministically from seed.
func clusteredVectors(seed uint64, n, dim, clusters int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 0xc1a55e5))
	centres := make([][]float64, clusters)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for j := range centres[c] {
			centres[c][j] = rng.NormFloat64()
		}
	}
	out := make([][]float32, n)
	for i := range out {
		c := centres[rng.IntN(clusters)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(c[j] + recallSpread*rng.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// testRecall writes a clustered set (the run's recall size, 32-d) under each
// metric, queries 100 held-out vectors for their 10 nearest records, and
// compares the matches with the true ones found by brute force: first as
// written, then after deleting a third of the records (none of which may be
// returned), then after moving 20 records to a new place by upserting their
// IDs with new vectors (each must be found there). Every match must carry
// its exact score, and the mean recall@10 of each phase must reach the
// target: 1 for an exact store, the one given to [WithRecall] otherwise.
func testRecall(t *testing.T, h *harness) {
	for _, m := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			cfg := Config{Dim: recallDim, Metric: m}
			s, ns := h.store(t, cfg), h.ns(m.String())
			n := h.recallSize
			vecs := clusteredVectors(50, n+recallQueries, cfg.Dim, recallClusters)
			set := newRecallSet(m, vecs[:n], vecs[n:])
			recs := make([]index.Record, n)
			for i, v := range vecs[:n] {
				recs[i] = rec(set.ids[i], v, index.Metadata{"i": int64(i)})
			}
			written, err := index.UpsertAll(t.Context(), s, ns, index.Records(recs))
			require.NoError(t, err, "UpsertAll of %d records", n)
			require.Equal(t, n, written, "UpsertAll's count")

			var phases []string
			check := func(phase string) {
				recall := h.checkRecall(t, s, ns, set, phase)
				phases = append(phases, fmt.Sprintf("%s %.4f", phase, recall))
			}
			check("written")

			// Delete every third record.
			var deleted []string
			for i := 0; i < n; i += 3 {
				deleted = append(deleted, set.ids[i])
				set.alive[i] = false
			}
			require.NoError(t, s.Delete(t.Context(), ns, deleted), "Delete of %d records", len(deleted))
			check("after deleting a third")

			// Move records (some of those left) right onto query vectors.
			moved := make([]index.Record, recallMoves)
			for j := range moved {
				i := 3*j + 1
				moved[j] = rec(set.ids[i], movedVector(m, set.queries[j], j), index.Metadata{"i": int64(i), "moved": true})
				set.move(i, moved[j].Vector)
			}
			upsert(t, s, ns, moved...)
			found := 0
			for j, r := range moved {
				require.Contains(t, idsOf(set.nearest(j)), r.ID, "setup: moved record %q is among the nearest to query %d", r.ID, j)
				ms := query(t, s, index.Query{Namespace: ns, Vector: set.queries[j], TopK: recallK})
				if slices.Contains(matchIDs(ms), r.ID) {
					found++
				}
			}
			movedRecall := float64(found) / recallMoves
			assert.GreaterOrEqual(t, movedRecall, h.target,
				"%v: %d of %d records upserted again with a new vector are found at their new place", m, found, recallMoves)
			phases = append(phases, fmt.Sprintf("moved records found %d/%d", found, recallMoves))
			check("after moving 20 records")

			t.Logf("%v: recall@%d over %d queries into %d records (target %v): %s; %v",
				m, recallK, len(set.queries), n, h.target, phases, time.Since(start).Round(time.Millisecond))
		})
	}
}

// movedVector returns the new vector of the j-th moved record: q itself,
// nudged a little, and scaled under DotProduct so that it scores above the
// records whose direction is close to q's.
func movedVector(m index.Metric, q []float32, j int) []float32 {
	v := slices.Clone(q)
	v[j%len(v)] += 0.01
	if m == index.DotProduct {
		for i := range v {
			v[i] *= 3
		}
	}
	return v
}

// recallSet is what the Recall case wrote, with the exact score of every
// query against every record, computed once (brute force is the slow part of
// the case under -race) and again for a record that moves.
type recallSet struct {
	m       index.Metric
	ids     []string
	pos     map[string]int // index of an ID in ids
	vecs    [][]float32    // current vector of each record
	alive   []bool         // false once deleted
	queries [][]float32
	scores  [][]float64 // scores[q][i]: query q against record i
}

func newRecallSet(m index.Metric, vecs, queries [][]float32) *recallSet {
	s := &recallSet{m: m, pos: make(map[string]int, len(vecs)), vecs: slices.Clone(vecs),
		alive: make([]bool, len(vecs)), queries: queries, scores: make([][]float64, len(queries))}
	for i := range vecs {
		id := fmt.Sprintf("c%05d", i)
		s.ids = append(s.ids, id)
		s.pos[id] = i
		s.alive[i] = true
	}
	for qi, q := range queries {
		s.scores[qi] = make([]float64, len(vecs))
		for i, v := range vecs {
			s.scores[qi][i] = Score(m, q, v)
		}
	}
	return s
}

// move gives record i the vector v.
func (s *recallSet) move(i int, v []float32) {
	s.vecs[i] = v
	for qi, q := range s.queries {
		s.scores[qi][i] = Score(s.m, q, v)
	}
}

// nearest returns the 10 live records that score best against query qi,
// best first, ties by ID: the true answer, by brute force.
func (s *recallSet) nearest(qi int) []scored {
	better := func(a, b scored) bool { return a.score > b.score || a.score == b.score && a.id < b.id }
	top := make([]scored, 0, recallK+1)
	for i, sc := range s.scores[qi] {
		if !s.alive[i] {
			continue
		}
		c := scored{s.ids[i], sc}
		if len(top) == recallK && !better(c, top[recallK-1]) {
			continue
		}
		j := len(top)
		for j > 0 && better(c, top[j-1]) {
			j--
		}
		top = slices.Insert(top, j, c)
		if len(top) > recallK {
			top = top[:recallK]
		}
	}
	return top
}

// checkRecall queries s with each query of set and returns the mean
// recall@10 against brute force, failing t when it is below the target, when
// a match is deleted, unknown or repeated, when matches are not best first,
// or when a score is not the exact score of the record's current vector. A
// match that ties with the true 10th counts as a hit.
func (h *harness) checkRecall(t *testing.T, s index.VectorStore, ns string, set *recallSet, phase string) float64 {
	t.Helper()
	hits := 0
	for qi, q := range set.queries {
		ms := query(t, s, index.Query{Namespace: ns, Vector: q, TopK: recallK})
		what := fmt.Sprintf("%v, %s, query %d", set.m, phase, qi)
		if !assert.Len(t, ms, recallK, what) ||
			!assertUniqueIDs(t, matchIDs(ms), what) ||
			!assertSortedByScore(t, ms, what) {
			return 0
		}
		kth := set.nearest(qi)[recallK-1].score
		for _, mt := range ms {
			i, ok := set.pos[mt.ID]
			if !assert.True(t, ok, "%s: unknown ID %q returned", what, mt.ID) {
				return 0
			}
			if !set.alive[i] {
				assert.Fail(t, fmt.Sprintf("deleted record %q returned", mt.ID), what)
				return 0
			}
			want := set.scores[qi][i]
			if !assertScore(t, want, mt.Score, "%s: score of %q (the exact score of its current vector)", what, mt.ID) {
				return 0
			}
			if want >= kth-ScoreTolerance*math.Max(1, math.Abs(kth)) {
				hits++
			}
		}
	}
	recall := float64(hits) / float64(recallK*len(set.queries))
	assert.GreaterOrEqual(t, recall, h.target, "%v, %s: mean recall@%d against brute force", set.m, phase, recallK)
	return recall
}

func idsOf(ss []scored) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.id
	}
	return ids
}
