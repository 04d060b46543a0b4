package memory

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shoalhq/shoal/internal/vecmath"
)

// TestRowKernels checks the row kernels the search uses (in
// internal/vecmath/dot.go and distance.go) against the plain ones, for
// dimensions around their unrolling width.
func TestRowKernels(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for dim := 1; dim <= 19; dim++ {
		const rows = 5
		q := make([]float32, dim)
		slab := make([]float32, rows*dim+3) // longer than needed is allowed
		for i := range q {
			q[i] = rng.Float32()*2 - 1
		}
		for i := range slab {
			slab[i] = rng.Float32()*2 - 1
		}
		dots, l2s := make([]float32, rows), make([]float32, rows)
		vecmath.DotRows(q, slab, dots)
		vecmath.SquaredL2Rows(q, slab, l2s)
		for i := range rows {
			row := slab[i*dim : (i+1)*dim]
			assert.InDelta(t, vecmath.Dot(q, row), dots[i], 1e-5, "dim %d row %d", dim, i)
			assert.InDelta(t, vecmath.SquaredL2(q, row), l2s[i], 1e-5, "dim %d row %d", dim, i)
		}
	}
	assert.Panics(t, func() { vecmath.DotRows(make([]float32, 4), make([]float32, 7), make([]float32, 2)) })
	assert.Panics(t, func() { vecmath.SquaredL2Rows(make([]float32, 4), make([]float32, 7), make([]float32, 2)) })
}
