package look

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func TestExactKNNMatchesBruteForce(t *testing.T) {
	t.Parallel()
	recs := blobs(3, 700, 37, 5, 0.6)
	for _, m := range []index.Metric{index.Cosine, index.Euclidean, index.DotProduct} {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			sp, err := FromRecords(recs, WithMetric(m))
			require.NoError(t, err)
			g, err := sp.Neighbors(context.Background(), WithK(7))
			require.NoError(t, err)
			assert.Equal(t, "exact", g.Method)
			for i := 0; i < len(recs); i += 37 {
				type nd struct {
					j int
					d float64
				}
				var all []nd
				for j := range recs {
					if j != i {
						all = append(all, nd{j, bruteDistance(m, recs[i].Vector, recs[j].Vector)})
					}
				}
				slices.SortFunc(all, func(a, b nd) int { return cmp.Compare(a.d, b.d) })
				got := g.neighbors(i)
				require.Len(t, got, 7)
				for r, nb := range got {
					assert.InDelta(t, all[r].d, nb.Distance, 1e-3*max(1, abs(all[r].d)), "item %d rank %d", i, r)
				}
			}
		})
	}
}

func abs(x float64) float64 { return max(x, -x) }
