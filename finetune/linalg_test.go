package finetune

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGemmTransposes checks both paths of gemm: the AVX2 kernel (on this
// machine, if it has AVX2) and gonum.
func TestGemmTransposes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	random := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, s := range [][3]int{{1, 1, 1}, {7, 19, 5}, {64, 200, 130}, {300, 40, 70}} {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				a, b, c := random(m*k), random(k*n), random(m*n)
				at := func(i, p int) float32 {
					if ta {
						return a[p*m+i]
					}
					return a[i*k+p]
				}
				bt := func(p, j int) float32 {
					if tb {
						return b[j*k+p]
					}
					return b[p*n+j]
				}
				got := append([]float32(nil), c...)
				gemm(ta, tb, m, n, k, 0.5, a, b, 2, got)
				portable := append([]float32(nil), c...)
				gemmGonum(ta, tb, m, n, k, 0.5, a, b, 2, portable)
				for i := range m {
					for j := range n {
						want := 2 * float64(c[i*n+j])
						for p := range k {
							want += 0.5 * float64(at(i, p)) * float64(bt(p, j))
						}
						tol := 1e-4 * (math.Sqrt(float64(k)) + math.Abs(want))
						require.InDelta(t, want, got[i*n+j], tol, "%dx%dx%d ta=%v tb=%v (%d,%d)", m, n, k, ta, tb, i, j)
						require.InDelta(t, want, portable[i*n+j], tol, "gonum %dx%dx%d ta=%v tb=%v (%d,%d)", m, n, k, ta, tb, i, j)
					}
				}
			}
		}
	}
}
