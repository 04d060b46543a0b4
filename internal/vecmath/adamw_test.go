package vecmath

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAdamW(t *testing.T) {
	t.Parallel()
	w, g := []float32{1, -2}, []float32{0.5, -0.25}
	m, v := make([]float32, 2), make([]float32, 2)
	a := AdamW{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5, Step: 1}
	a.Update(w, g, m, v)
	// Step 1: the bias-corrected moments are g and g², so the step is
	// lr·sign(g), after a decay of w by lr·wd.
	assert.InDelta(t, 1*(1-0.05)-0.1, w[0], 1e-6)
	assert.InDelta(t, -2*(1-0.05)+0.1, w[1], 1e-6)
	assert.InDelta(t, 0.05, m[0], 1e-7)
	assert.InDelta(t, 0.001*0.25, v[0], 1e-8)
}
