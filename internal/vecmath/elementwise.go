package vecmath

// Elementwise passes over vectors and row-major matrices: finiteness check,
// products, row broadcasts and column sums.

import "math"

// Finite reports the index of the first NaN or ±Inf in v, or -1.
func Finite(v []float32) int {
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}

// AddRowVector adds b to each row of the row-major matrix x, whose row
// length is len(b).
func AddRowVector(x, b []float32) {
	d := len(b)
	for off := 0; off+d <= len(x); off += d {
		row := x[off : off+d]
		for j, bj := range b {
			row[j] += bj
		}
	}
}

// AddColumnSums adds the column sums of the row-major matrix x, whose rows
// have len(dst) elements, to dst. Rows are summed in order.
func AddColumnSums(dst, x []float32) {
	d := len(dst)
	for off := 0; off+d <= len(x); off += d {
		row := x[off : off+d]
		for j, v := range row {
			dst[j] += v
		}
	}
}

// Mul multiplies x by m elementwise, in place.
func Mul(x, m []float32) {
	m = m[:len(x)]
	for i, v := range m {
		x[i] *= v
	}
}
