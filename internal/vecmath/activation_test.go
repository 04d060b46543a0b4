package vecmath

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestActivations(t *testing.T) {
	t.Parallel()
	x := []float32{-2, -0.5, 0, 0.5, 2}
	y := make([]float32, len(x))
	GELU(y, x)
	for i, v := range x {
		exact := 0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))
		assert.InDelta(t, exact, y[i], 2e-3, "gelu(%v)", v)
		// The derivative by central differences.
		h := 1e-3
		up, down := []float32{float32(float64(v) + h)}, []float32{float32(float64(v) - h)}
		GELU(up, up)
		GELU(down, down)
		g := []float32{1}
		GELUGrad(g, []float32{v})
		assert.InDelta(t, (float64(up[0])-float64(down[0]))/(2*h), g[0], 2e-3, "gelu'(%v)", v)
	}
	r := append([]float32(nil), x...)
	ReLU(r)
	assert.Equal(t, []float32{0, 0, 0, 0.5, 2}, r)
	g := []float32{1, 1, 1, 1, 1}
	ReLUGrad(g, r)
	assert.Equal(t, []float32{0, 0, 0, 1, 1}, g)
}
