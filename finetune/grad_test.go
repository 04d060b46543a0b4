package finetune

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGradients checks backpropagation through every loss and activation
// against central differences.
func TestGradients(t *testing.T) {
	t.Parallel()
	const n, in, out = 8, 5, 3
	labels := []int32{0, 0, 1, 1, 2, 2, 0, 1}
	for _, loss := range []Loss{SupCon, Triplet, Proxy} {
		for _, act := range []Activation{ReLU, GELU} {
			for _, p := range []float64{0, 0.3} {
				t.Run(fmt.Sprintf("%v/%v/dropout=%v", loss, act, p), func(t *testing.T) {
					t.Parallel()
					rng := rand.New(rand.NewPCG(1, 2))
					h := newHead(in, nil, nil, 0, act, []int{6}, out, rng)
					for i := range h.layers {
						for j := range h.layers[i].b {
							h.layers[i].b[j] = float32(rng.NormFloat64() * 0.1)
						}
					}
					x := make([]float32, n*in)
					for i := range x {
						x[i] = float32(rng.NormFloat64())
					}
					var obj objective
					switch loss {
					case SupCon:
						obj = newSupCon(0.5)
					case Triplet:
						obj = newTriplet(1.5)
					case Proxy:
						obj = newProxy(3, out, 0.5, rng)
					}
					acts, g := h.newActivations(n), h.newGrads(n)
					if p > 0 { // fixed masks: the loss is then a smooth function
						(&dropout{p: p, rng: rng}).draw(h, acts, n)
					}
					dz := make([]float32, n*out)
					lossAt := func() float64 {
						h.forward(x, n, acts, true)
						l, err := obj.loss(context.Background(), acts.out, labels, n, out, dz)
						require.NoError(t, err)
						return l
					}
					lossAt()
					h.backward(x, dz, n, acts, g)
					params, grads := [][]float32{}, [][]float32{}
					for i, l := range h.layers {
						params = append(params, l.w, l.b)
						grads = append(grads, append([]float32(nil), g.w[i]...), append([]float32(nil), g.b[i]...))
					}
					op, og := obj.params()
					for i := range op {
						params = append(params, op[i])
						grads = append(grads, append([]float32(nil), og[i]...))
					}
					// Small enough not to cross the kinks of ReLU and of the triplet
					// loss's hardest-pair choices, large enough for float32.
					const eps = 1e-3
					checked := 0
					for pi, p := range params {
						for j := range p {
							orig := p[j]
							p[j] = orig + eps
							up := lossAt()
							p[j] = orig - eps
							down := lossAt()
							p[j] = orig
							num := (up - down) / (2 * eps)
							assert.InDelta(t, num, grads[pi][j], 2e-3+0.02*abs(num), "param %d[%d]", pi, j)
							checked++
						}
					}
					assert.Positive(t, checked)
				})
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
