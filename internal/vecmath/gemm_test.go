package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
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

// BenchmarkSgemm runs Sgemm side by side with gonum's float32 BLAS and
// with the plain Go product (sgemmGo), on the shapes m×n×k of the products
// that package finetune computes (batches of 320 through a 128→512→512→32
// MLP and back, a 784→128 input projection, and the 64-row blocks of the
// leave-one-out evaluation over 10,000 vectors). It is the check behind
// keeping the assembly kernel (see Sgemm): run with -cpu 1, as gonum
// otherwise splits a product between goroutines and Sgemm does not.
func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var impl gonum.Implementation
	for _, s := range []struct {
		name    string
		m, n, k int
		ta, tb  bool
	}{
		{"project", 1024, 128, 784, false, true},
		{"forward_128_512", 320, 512, 128, false, true},
		{"forward_512_512", 320, 512, 512, false, true},
		{"forward_512_32", 320, 32, 512, false, true},
		{"weightgrad_128_512", 512, 128, 320, true, false},
		{"weightgrad_512_512", 512, 512, 320, true, false},
		{"weightgrad_512_32", 32, 512, 320, true, false},
		{"inputgrad_512_512", 320, 512, 512, false, false},
		{"inputgrad_512_32", 320, 512, 32, false, false},
		{"evaluate_32", 64, 10000, 32, false, false},
		{"evaluate_784", 64, 10000, 784, false, false},
	} {
		m, n, k := s.m, s.n, s.k
		a, bm, c := randomMatrix(rng, m, k), randomMatrix(rng, k, n), make([]float32, m*n)
		lda, ldb := k, n
		tA, tB := blas.NoTrans, blas.NoTrans
		if s.ta {
			lda, tA = m, blas.Trans
		}
		if s.tb {
			ldb, tB = k, blas.Trans
		}
		kernels := []struct {
			name string
			run  func()
		}{
			{"asm", func() { Sgemm(s.ta, s.tb, m, n, k, a, lda, bm, ldb, true, c, n) }},
			{"gonum", func() { impl.Sgemm(tA, tB, m, n, k, 1, a, lda, bm, ldb, 0, c, n) }},
			{"go", func() { sgemmGo(s.ta, s.tb, m, n, k, a, lda, bm, ldb, true, c, n) }},
		}
		for _, kern := range kernels {
			if kern.name == "asm" && !FastSgemm {
				continue
			}
			b.Run(fmt.Sprintf("%s_%dx%dx%d/%s", s.name, m, n, k, kern.name), func(b *testing.B) {
				b.SetBytes(int64(m * n * k)) // MB/s reads as millions of multiply-adds per second
				for b.Loop() {
					kern.run()
				}
			})
		}
	}
}
