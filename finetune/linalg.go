package finetune

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/shoalhq/shoal/internal/vecmath"
)

// Matrix products go through the AVX2/FMA kernel of internal/vecmath where
// the CPU has it (gonum's SSE kernels take 3.2–8.1 times as long per
// product on the fine-tuner's shapes and 3.2–3.7 times as long per training
// epoch, plain Go 21–86 times: see vecmath.Sgemm and BenchmarkSgemm),
// and through gonum's float32 BLAS elsewhere. Both compute every element of
// a product in one goroutine with an order of summation fixed by the
// shapes alone, so parallel products are bit-identical whatever the number
// of cores; every other parallel loop here splits work by output rows, so
// training is reproducible.

var blas32 gonum.Implementation

// gemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices, where
// op(a) is m×k (a is k×m when ta), op(b) is k×n (b is n×k when tb) and c is
// m×n, all tightly packed. With the AVX2 kernel of internal/vecmath it
// transposes operands as needed and splits c between goroutines on 16-column
// or 6-row boundaries; otherwise it calls gonum. Either way the result does
// not depend on the number of cores.
func gemm(ta, tb bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) {
	if m == 0 || n == 0 {
		return
	}
	if !vecmath.FastSgemm {
		gemmGonum(ta, tb, m, n, k, alpha, a, b, beta, c)
		return
	}
	c = c[:m*n]
	if beta != 0 && beta != 1 {
		for i := range c {
			c[i] *= beta
		}
	}
	if alpha != 1 {
		// Scale a copy of a (the smaller operand in every use here).
		a = append([]float32(nil), a[:m*k]...)
		for i := range a {
			a[i] *= alpha
		}
	}
	parallelGemm(ta, tb, m, n, k, a, b, beta == 0, c)
}

// gemmGonum is gemm through gonum's BLAS, for CPUs without AVX2.
func gemmGonum(ta, tb bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) {
	tA, tB := blas.NoTrans, blas.NoTrans
	lda, ldb := k, n
	if ta {
		tA, lda = blas.Trans, m
	}
	if tb {
		tB, ldb = blas.Trans, k
	}
	blas32.Sgemm(tA, tB, m, n, k, alpha, a, max(lda, 1), b, max(ldb, 1), beta, c, n)
}

// gemmSerialWork is the number of multiply-adds below which gemm stays on
// one goroutine.
const gemmSerialWork = 1 << 18

// parallelGemm computes c = op(a)·op(b) (overwrite) or c += op(a)·op(b), all
// packed, on up to workers() goroutines, each owning a block of 6-row or
// 16-column panels of c.
func parallelGemm(ta, tb bool, m, n, k int, a, b []float32, overwrite bool, c []float32) {
	lda, ldb := k, n
	if ta {
		lda = m
	}
	if tb {
		ldb = k
	}
	w := workers()
	if w == 1 || m*n*k < gemmSerialWork {
		vecmath.Sgemm(ta, tb, m, n, k, a, lda, b, ldb, overwrite, c, n)
		return
	}
	// Each goroutine packs the operand it shares with the others: all of
	// op(a) when splitting columns, the panels of a transposed b when
	// splitting rows (an untransposed b is read in place). Split so as to
	// duplicate the smaller one.
	rowPanels, colPanels := (m+5)/6, (n+15)/16
	splitRows := rowPanels >= w && (!tb || n <= m || colPanels < w)
	var wg sync.WaitGroup
	if !splitRows {
		per := (colPanels + w - 1) / w * 16
		for j0 := 0; j0 < n; j0 += per {
			cols := min(per, n-j0)
			bj := b[j0:] // columns j0.. of op(b)
			if tb {
				bj = b[j0*k:]
			}
			wg.Go(func() { vecmath.Sgemm(ta, tb, m, cols, k, a, lda, bj, ldb, overwrite, c[j0:], n) })
		}
	} else {
		per := (rowPanels + w - 1) / w * 6
		for i0 := 0; i0 < m; i0 += per {
			rows := min(per, m-i0)
			ai := a[i0*k:] // rows i0.. of op(a)
			if ta {
				ai = a[i0:]
			}
			wg.Go(func() { vecmath.Sgemm(ta, tb, rows, n, k, ai, lda, b, ldb, overwrite, c[i0*n:], n) })
		}
	}
	wg.Wait()
}

// transpose returns the cols×rows transpose of the rows×cols matrix x.
func transpose(x []float32, rows, cols int) []float32 {
	t := make([]float32, rows*cols)
	const blk = 32
	for i0 := 0; i0 < rows; i0 += blk {
		for j0 := 0; j0 < cols; j0 += blk {
			for i := i0; i < min(i0+blk, rows); i++ {
				row := x[i*cols : (i+1)*cols]
				for j := j0; j < min(j0+blk, cols); j++ {
					t[j*rows+i] = row[j]
				}
			}
		}
	}
	return t
}

// workers returns how many goroutines a parallel loop uses.
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// parallelChunks calls fn(lo, hi) for consecutive chunks of [0, n) of the
// given size, on up to workers() goroutines. Chunks are fixed by n and
// size alone, so a loop whose chunks write disjoint outputs gives the same
// result on any number of cores. It stops early and returns ctx's error when
// ctx is cancelled, or the first error fn returns.
func parallelChunks(ctx context.Context, n, size int, fn func(lo, hi int) error) error {
	if n <= 0 {
		return ctx.Err()
	}
	size = max(size, 1)
	chunks := (n + size - 1) / size
	w := min(workers(), chunks)
	if w == 1 {
		for lo := 0; lo < n; lo += size {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(lo, min(lo+size, n)); err != nil {
				return err
			}
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range w {
		g.Go(func() error {
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				lo := c * size
				if err := fn(lo, min(lo+size, n)); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}
