package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func randomMatrix(rng *rand.Rand, rows, stride int) []float32 {
	m := make([]float32, rows*stride)
	for i := range m {
		m[i] = float32(rng.NormFloat64())
	}
	return m
}

func TestSgemm(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	dims := []int{1, 5, 6, 7, 16, 17, 33}
	for _, m := range dims {
		for _, n := range dims {
			for _, k := range []int{0, 1, 3, 16, 300, 600} {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					transA, transB := tr[0], tr[1]
					ra, ca, rb, cb := m, k, k, n
					if transA {
						ra, ca = k, m
					}
					if transB {
						rb, cb = n, k
					}
					lda, ldb, ldc := ca+m%3, cb+k%2, n+1
					a, b, c := randomMatrix(rng, max(ra, 1), lda), randomMatrix(rng, max(rb, 1), ldb), randomMatrix(rng, m, ldc)
					at := func(i, p int) float64 {
						if transA {
							return float64(a[p*lda+i])
						}
						return float64(a[i*lda+p])
					}
					bt := func(p, j int) float64 {
						if transB {
							return float64(b[j*ldb+p])
						}
						return float64(b[p*ldb+j])
					}
					for _, overwrite := range []bool{false, true} {
						for _, fast := range []bool{false, true} {
							if fast && !FastSgemm {
								continue
							}
							got := append([]float32(nil), c...)
							if fast {
								Sgemm(transA, transB, m, n, k, a, lda, b, ldb, overwrite, got, ldc)
							} else {
								sgemmGo(transA, transB, m, n, k, a, lda, b, ldb, overwrite, got, ldc)
							}
							for i := range m {
								for j := range n {
									w := 0.0
									if !overwrite {
										w = float64(c[i*ldc+j])
									}
									for p := range k {
										w += at(i, p) * bt(p, j)
									}
									require.InDelta(t, w, got[i*ldc+j], 1e-4*(math.Sqrt(float64(k))+math.Abs(w)),
										"m=%d n=%d k=%d trans=%v overwrite=%v fast=%v at (%d,%d)", m, n, k, tr, overwrite, fast, i, j)
								}
								// The padding between rows is untouched.
								for j := n; j < ldc && i*ldc+j < len(c); j++ {
									require.Equal(t, c[i*ldc+j], got[i*ldc+j])
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestSgemmKernels checks the Go micro-kernel (used off amd64) and the
// assembly one against a direct computation.
func TestSgemmKernels(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	const k, ldb, ldc = 37, tileCols + 3, tileCols + 2
	ap, b := randomMatrix(rng, k, tileRows), randomMatrix(rng, k, ldb)
	c := randomMatrix(rng, tileRows, ldc)
	for _, accumulate := range []int{0, 1} {
		got := append([]float32(nil), c...)
		sgemmKernel6x16Go(k, &ap[0], &b[0], ldb, &got[0], ldc, accumulate)
		asm := append([]float32(nil), c...)
		sgemmKernel6x16(k, &ap[0], &b[0], ldb, &asm[0], ldc, accumulate)
		for r := range tileRows {
			for j := range ldc {
				want := float64(c[r*ldc+j])
				if j < tileCols {
					if accumulate == 0 {
						want = 0
					}
					for p := range k {
						want += float64(ap[p*tileRows+r]) * float64(b[p*ldb+j])
					}
				}
				assert.InDelta(t, want, got[r*ldc+j], 1e-3)
				assert.InDelta(t, want, asm[r*ldc+j], 1e-3)
			}
		}
	}
}

func TestSgemmDeterministicSplits(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	m, n, k := 50, 70, 290
	a, b := randomMatrix(rng, m, k), randomMatrix(rng, n, k) // b transposed
	whole := make([]float32, m*n)
	Sgemm(false, true, m, n, k, a, k, b, k, true, whole, n)
	// Any split into row and column blocks gives the same bits.
	for _, split := range [][2]int{{1, 1}, {7, 13}, {25, 35}, {6, 16}} {
		parts := make([]float32, m*n)
		for i0 := 0; i0 < m; i0 += split[0] {
			for j0 := 0; j0 < n; j0 += split[1] {
				rows, cols := min(split[0], m-i0), min(split[1], n-j0)
				Sgemm(false, true, rows, cols, k, a[i0*k:], k, b[j0*k:], k, true, parts[i0*n+j0:], n)
			}
		}
		assert.Equal(t, whole, parts, "split %v", split)
	}
}

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

	m := []float32{1, 2, 3, 4, 0, 0}
	AddRowVector(m, []float32{10, 20})
	assert.Equal(t, []float32{11, 22, 13, 24, 10, 20}, m)
	sums := []float32{1, 1}
	AddColumnSums(sums, m)
	assert.Equal(t, []float32{35, 67}, sums)
	norms := make([]float32, 3)
	rows := []float32{3, 4, 0, 0, 0, 2}
	NormalizeRows(rows, 2, norms)
	assert.Equal(t, []float32{5, 0, 2}, norms)
	assert.Equal(t, []float32{0.6, 0.8, 0, 0, 0, 1}, rows)
}

func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{320, 512, 128}, {64, 10000, 64}, {64, 10000, 784}} {
		m, n, k := s[0], s[1], s[2]
		a, bm, c := randomMatrix(rng, m, k), randomMatrix(rng, k, n), make([]float32, m*n)
		for _, fast := range []bool{true, false} {
			if fast && !FastSgemm {
				continue
			}
			b.Run(fmt.Sprintf("%dx%dx%d/fast=%v", m, n, k, fast), func(b *testing.B) {
				b.SetBytes(int64(m * n * k)) // MB/s reads as millions of multiply-adds per second
				for b.Loop() {
					if fast {
						Sgemm(false, false, m, n, k, a, k, bm, n, true, c, n)
					} else {
						sgemmGo(false, false, m, n, k, a, k, bm, n, true, c, n)
					}
				}
			})
		}
	}
}
