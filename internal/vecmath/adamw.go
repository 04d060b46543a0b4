package vecmath

// The AdamW optimiser step.

import "math"

// AdamW holds the per-step constants of an AdamW update (Loshchilov and
// Hutter, "Decoupled Weight Decay Regularization").
type AdamW struct {
	LR, Beta1, Beta2, Eps float32
	// WeightDecay is multiplied by LR and applied to the weights directly.
	WeightDecay float32
	// Step is the 1-based step number, for bias correction.
	Step int
}

// Update applies one AdamW step to the parameters w with gradient g and
// moment estimates m and v (all the same length), in place.
func (a AdamW) Update(w, g, m, v []float32) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	t := float64(a.Step)
	c1 := float32(float64(a.LR) / (1 - math.Pow(float64(a.Beta1), t)))
	c2 := float32(1 / (1 - math.Pow(float64(a.Beta2), t)))
	b1, b2 := a.Beta1, a.Beta2
	ob1, ob2 := 1-b1, 1-b2
	decay := 1 - a.LR*a.WeightDecay
	eps := a.Eps
	for i := range w {
		gi := g[i]
		mi := b1*m[i] + ob1*gi
		vi := b2*v[i] + ob2*gi*gi
		m[i], v[i] = mi, vi
		w[i] = w[i]*decay - c1*mi/(float32(math.Sqrt(float64(vi*c2)))+eps)
	}
}
