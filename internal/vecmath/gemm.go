package vecmath

import "unsafe"

// Sgemm computes c = op(a)·op(b) (overwrite) or c += op(a)·op(b) for
// row-major float32 matrices: op(a) is m×k and op(b) is k×n, c is m×n with
// row stride ldc. a is stored m×k with row stride lda, or k×m when transA
// (op(a) is then its transpose); b is stored k×n with row stride ldb, or
// n×k when transB. Transposed operands cost nothing extra: they are read
// while packing the kernel's panels.
//
// Sgemm runs on the calling goroutine; callers split c into blocks to use
// several cores. Each element of c is the sum of its k products in an order
// that depends only on k, so the result is bit-identical however c is
// split.
//
// On amd64 with AVX2 and FMA ([FastSgemm] is true) it uses an assembly
// micro-kernel (gemm_amd64.s) that computes 6×16 blocks of c with fused
// multiply-adds; elsewhere it is plain Go (sgemmGo).
//
// Why assembly here, against "plain beats clever": it wins far more than
// the 5 % end to end that the rule asks of it. Measured side by side on one
// core of an AMD EPYC (Go 1.26, gonum v0.17.0, BenchmarkSgemm -cpu 1) on
// the shapes of package finetune's products, gonum's Sgemm takes 3.2-8.1
// times as long as this kernel (median 5.8: 5.2 on the 1024×128×784 input
// projection, 6.6 on the 320×512×512 hidden layer, 8.1 on its 512×512×320
// weight gradient, 5.9 on the 64×10000×32 evaluation blocks) and plain Go
// 21-86 times. End to end, one training epoch of finetune (20,000 vectors,
// 2 cores; vecmath.FastSgemm set false makes finetune call gonum instead)
// takes 3.7 times as long with gonum for 256-dimensional inputs and one
// hidden layer of 512 (BenchmarkTrainEpoch's setup), and 3.2 times for
// 784-dimensional inputs projected to 128 with two hidden layers of 512
// (the Fashion-MNIST preset of examples/finetunebench). Re-run
// BenchmarkSgemm before changing the kernel or dropping it.
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, overwrite bool, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(c) < (m-1)*ldc+n {
		panic("vecmath: Sgemm: c too short")
	}
	if k <= 0 {
		if overwrite {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	ra, ca := m, k
	if transA {
		ra, ca = k, m
	}
	rb, cb := k, n
	if transB {
		rb, cb = n, k
	}
	if len(a) < (ra-1)*lda+ca || len(b) < (rb-1)*ldb+cb || lda < ca || ldb < cb || ldc < n {
		panic("vecmath: Sgemm: matrix too short")
	}
	if !FastSgemm {
		sgemmGo(transA, transB, m, n, k, a, lda, b, ldb, overwrite, c, ldc)
		return
	}
	sgemmTiled(transA, transB, m, n, k, a, lda, b, ldb, overwrite, c, ldc)
}

// Tile sizes of the micro-kernel, and the depth of one pass over k.
const (
	tileRows = 6
	tileCols = 16
	depth    = 256
)

// sgemmTiled drives the micro-kernel. For each slice of depth values of k:
// pack the slice of op(a) into 6-row panels (each column of a panel is 6
// consecutive floats, zero-padded); then, for each 16-column panel of op(b)
// (read in place when b is not transposed and the panel is whole, packed
// otherwise; in L1 for the whole pass), run the kernel down every row
// panel. Partial tiles go through a 6×16 scratch tile, with the same
// arithmetic as whole ones.
func sgemmTiled(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, overwrite bool, c []float32, ldc int) {
	panels := (m + tileRows - 1) / tileRows
	kc := min(k, depth)
	packedA := make([]float32, panels*tileRows*kc)
	packedB := make([]float32, kc*tileCols)
	var tile [tileRows * tileCols]float32
	for p0 := 0; p0 < k; p0 += depth {
		kk := min(depth, k-p0)
		accumulate := 1
		if overwrite && p0 == 0 {
			accumulate = 0
		}
		for pi := range panels {
			dst := packedA[pi*tileRows*kk : (pi+1)*tileRows*kk]
			r0 := pi * tileRows
			rows := min(tileRows, m-r0)
			switch {
			case transA && rows == tileRows:
				for p := range kk {
					src := a[(p0+p)*lda+r0 : (p0+p)*lda+r0+tileRows : (p0+p)*lda+r0+tileRows]
					col := dst[p*tileRows : (p+1)*tileRows : (p+1)*tileRows]
					col[0], col[1], col[2], col[3], col[4], col[5] = src[0], src[1], src[2], src[3], src[4], src[5]
				}
			case transA:
				for p := range kk {
					col := dst[p*tileRows : (p+1)*tileRows : (p+1)*tileRows]
					copy(col, a[(p0+p)*lda+r0:(p0+p)*lda+r0+rows])
					clear(col[rows:])
				}
			default:
				// Row by row: sequential reads, writes within the panel.
				for r := range rows {
					src := a[(r0+r)*lda+p0 : (r0+r)*lda+p0+kk]
					for p, v := range src {
						dst[p*tileRows+r] = v
					}
				}
				for r := rows; r < tileRows; r++ {
					for p := range kk {
						dst[p*tileRows+r] = 0
					}
				}
			}
		}
		for j0 := 0; j0 < n; j0 += tileCols {
			cols := min(tileCols, n-j0)
			var bp []float32
			bstride := tileCols
			switch {
			case !transB && cols == tileCols:
				bp, bstride = b[p0*ldb+j0:], ldb
			case !transB:
				for p := range kk {
					row := packedB[p*tileCols : (p+1)*tileCols]
					copy(row, b[(p0+p)*ldb+j0:(p0+p)*ldb+j0+cols])
					clear(row[cols:])
				}
				bp = packedB
			default:
				for j := range cols {
					src := b[(j0+j)*ldb+p0 : (j0+j)*ldb+p0+kk]
					for p, v := range src {
						packedB[p*tileCols+j] = v
					}
				}
				if cols < tileCols {
					for p := range kk {
						clear(packedB[p*tileCols+cols : (p+1)*tileCols])
					}
				}
				bp = packedB
			}
			for pi := range panels {
				r0 := pi * tileRows
				ap := packedA[pi*tileRows*kk:]
				rows := min(tileRows, m-r0)
				if rows == tileRows && cols == tileCols {
					sgemmKernel6x16(kk, &ap[0], &bp[0], bstride, &c[r0*ldc+j0], ldc, accumulate)
					continue
				}
				sgemmKernel6x16(kk, &ap[0], &bp[0], bstride, &tile[0], tileCols, 0)
				for r := range rows {
					dst := c[(r0+r)*ldc+j0 : (r0+r)*ldc+j0+cols]
					src := tile[r*tileCols : r*tileCols+cols]
					if accumulate == 0 {
						copy(dst, src)
						continue
					}
					for j := range dst {
						dst[j] += src[j]
					}
				}
			}
		}
	}
}

// sgemmGo is the portable Sgemm: each element is its k products summed in
// order.
func sgemmGo(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, overwrite bool, c []float32, ldc int) {
	if !transA && !transB {
		// Rows of c accumulate rows of b: the same order of additions,
		// sequential memory access.
		for i := range m {
			ci := c[i*ldc : i*ldc+n]
			if overwrite {
				clear(ci)
			}
			for p, av := range a[i*lda : i*lda+k] {
				bp := b[p*ldb : p*ldb+n]
				for j, bv := range bp {
					ci[j] += av * bv
				}
			}
		}
		return
	}
	at := func(i, p int) float32 {
		if transA {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	bt := func(p, j int) float32 {
		if transB {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	for i := range m {
		ci := c[i*ldc : i*ldc+n]
		for j := range ci {
			var s float32
			for p := range k {
				s += at(i, p) * bt(p, j)
			}
			if overwrite {
				ci[j] = s
			} else {
				ci[j] += s
			}
		}
	}
}

// sgemmKernel6x16Go is the micro-kernel in Go: c[6×16] = ap·b (accumulate
// == 0) or c[6×16] += ap·b, where ap holds k columns of 6 floats and b has k
// rows of 16 floats at stride ldb. Each element sums its k products in
// order, as the assembly kernel does (which fuses each multiply-add, so
// results differ in the last bits).
func sgemmKernel6x16Go(k int, ap, b *float32, ldb int, c *float32, ldc int, accumulate int) {
	a := unsafe.Slice(ap, k*tileRows)
	bs := unsafe.Slice(b, (k-1)*ldb+tileCols)
	var acc [tileRows][tileCols]float32
	for p := range k {
		bp := bs[p*ldb : p*ldb+tileCols]
		for r := range tileRows {
			av := a[p*tileRows+r]
			for j, bv := range bp {
				acc[r][j] += av * bv
			}
		}
	}
	cs := unsafe.Slice(c, (tileRows-1)*ldc+tileCols)
	for r := range tileRows {
		for j := range tileCols {
			if accumulate == 0 {
				cs[r*ldc+j] = acc[r][j]
			} else {
				cs[r*ldc+j] += acc[r][j]
			}
		}
	}
}
