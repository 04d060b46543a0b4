package indextest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shoalhq/shoal/index"
)

func tieCases() []testCase {
	return []testCase{
		{"QueryTiesByID", testQueryTiesByID},
	}
}

// testQueryTiesByID writes the same records, among them twelve with one
// identical vector, into three namespaces in three orders (ascending,
// descending, shuffled; one Upsert per record, so that any position a store
// keeps follows the order), and demands from each the same ranking: score
// first, then the smaller ID (compared byte by byte, so "t10" comes before
// "t2"). Exact duplicates are common in curation pools, and search promises
// that the same contents and query give the same results.
func testQueryTiesByID(t *testing.T, h *harness) {
	for _, m := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		t.Run(m.String(), func(t *testing.T) {
			cfg := Config{Dim: defaultDim, Metric: m}
			s := h.store(t, cfg)
			q := constVec(cfg.Dim, 1, 0.25)
			// Under every metric "best" scores above the twins, which score
			// above "worst": best is q itself, twin is off q's direction and
			// further away, worst is opposite.
			best := constVec(cfg.Dim, 1, 0.25)
			twin := constVec(cfg.Dim, 1, -0.5)
			worst := constVec(cfg.Dim, -1, -0.25)
			var twins []string
			for i := range 12 {
				twins = append(twins, fmt.Sprint("t", i))
			}
			recs := []index.Record{rec("best", best, nil), rec("worst", worst, nil)}
			for _, id := range twins {
				recs = append(recs, rec(id, twin, index.Metadata{"long": len(id) > 2}))
			}
			slices.SortFunc(recs, func(a, b index.Record) int { return strings.Compare(a.ID, b.ID) })
			shuffled := slices.Clone(recs)
			rand.New(rand.NewPCG(77, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			descending := slices.Clone(recs)
			slices.Reverse(descending)

			orders := map[string][]index.Record{"ascending": recs, "descending": descending, "shuffled": shuffled}
			byID := slices.Sorted(slices.Values(twins)) // t0 t1 t10 t11 t2 … t9
			for name, order := range orders {
				ns := h.ns(m.String(), name)
				for _, r := range order {
					upsert(t, s, ns, r)
				}
				for _, c := range []struct {
					topK   int
					filter index.Filter
					want   []string
				}{
					{1, index.Filter{}, []string{"best"}},
					{4, index.Filter{}, append([]string{"best"}, byID[:3]...)},
					{8, index.Filter{}, append([]string{"best"}, byID[:7]...)},
					{20, index.Filter{}, append(append([]string{"best"}, byID...), "worst")},
					// Ties among the records a filter keeps.
					{3, index.Eq("long", true), []string{"t10", "t11"}},
					{3, index.Eq("long", false), []string{"t0", "t1", "t2"}},
				} {
					got := query(t, s, index.Query{Namespace: ns, Vector: q, TopK: c.topK, Filter: c.filter})
					assert.Equal(t, c.want, matchIDs(got),
						"%s: records inserted in %s order, TopK %d, filter %v: ties must be broken by the smaller ID", m, name, c.topK, c.filter)
				}
			}
			// Deleting the first of the twins moves the next one up.
			ns := h.ns(m.String(), "descending")
			assert.NoError(t, s.Delete(t.Context(), ns, []string{"t0"}))
			got := query(t, s, index.Query{Namespace: ns, Vector: q, TopK: 4})
			assert.Equal(t, []string{"best", "t1", "t10", "t11"}, matchIDs(got), "%s: after deleting t0", m)
		})
	}
}
