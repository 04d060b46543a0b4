package vecmath

// Sgemm computes c += a·b for row-major float32 matrices: a is m×k with row
// stride lda, b is k×n with row stride ldb, c is m×n with row stride ldc.
// It runs on the calling goroutine; callers split c into blocks to use
// several cores. The order of the additions into each element of c depends
// only on k, so the result is bit-identical however c is split.
//
// On amd64 with AVX2 and FMA ([FastSgemm] is true) it uses an assembly
// micro-kernel that computes 6×16 blocks of c with fused multiply-adds,
// several times faster than scalar Go; elsewhere it is plain Go.
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	if len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic("vecmath: Sgemm: matrix too short")
	}
	if !FastSgemm {
		sgemmGo(m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	sgemmTiled(m, n, k, a, lda, b, ldb, c, ldc)
}

// Tile sizes of the micro-kernel, and the depth of one pass over k.
const (
	tileRows = 6
	tileCols = 16
	depth    = 256
)

// sgemmTiled drives the micro-kernel: for each slice of depth values of k,
// pack the slice of a into 6-row panels (each column of a panel is 6
// consecutive floats, zero-padded), then, for each 16-column panel of b (in
// L1 for the whole pass), run the kernel down every row panel.
func sgemmTiled(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	panels := (m + tileRows - 1) / tileRows
	kc := min(k, depth)
	packed := make([]float32, panels*tileRows*kc)
	var edgeB []float32 // the last, partial column panel of b, zero-padded
	var tile [tileRows * tileCols]float32
	fullCols := n / tileCols * tileCols
	if fullCols < n {
		edgeB = make([]float32, kc*tileCols)
	}
	for p0 := 0; p0 < k; p0 += depth {
		kk := min(depth, k-p0)
		for pi := range panels {
			dst := packed[pi*tileRows*kk : (pi+1)*tileRows*kk]
			r0 := pi * tileRows
			rows := min(tileRows, m-r0)
			for p := range kk {
				col := dst[p*tileRows : (p+1)*tileRows]
				for r := range rows {
					col[r] = a[(r0+r)*lda+p0+p]
				}
				for r := rows; r < tileRows; r++ {
					col[r] = 0
				}
			}
		}
		for j0 := 0; j0 < n; j0 += tileCols {
			bp, bstride := b[p0*ldb+j0:], ldb
			cols := tileCols
			if j0 >= fullCols {
				cols = n - j0
				for p := range kk {
					row := edgeB[p*tileCols : (p+1)*tileCols]
					copy(row, b[(p0+p)*ldb+j0:(p0+p)*ldb+n])
					clear(row[cols:])
				}
				bp, bstride = edgeB, tileCols
			}
			for pi := range panels {
				r0 := pi * tileRows
				ap := packed[pi*tileRows*kk:]
				if rows := min(tileRows, m-r0); rows == tileRows && cols == tileCols {
					sgemmKernel6x16(kk, &ap[0], &bp[0], bstride, &c[r0*ldc+j0], ldc)
				} else {
					clear(tile[:])
					sgemmKernel6x16(kk, &ap[0], &bp[0], bstride, &tile[0], tileCols)
					for r := range rows {
						dst := c[(r0+r)*ldc+j0 : (r0+r)*ldc+j0+cols]
						for j := range dst {
							dst[j] += tile[r*tileCols+j]
						}
					}
				}
			}
		}
	}
}

// sgemmGo is the portable Sgemm: c += a·b, row by row, with the same
// order of additions for every element.
func sgemmGo(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := range m {
		ci := c[i*ldc : i*ldc+n]
		ai := a[i*lda : i*lda+k]
		for p, av := range ai {
			if av == 0 {
				continue
			}
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}
