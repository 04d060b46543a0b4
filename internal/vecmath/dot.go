package vecmath

// Dot products, norms and normalisation, of one vector or of every row of a
// row-major slab (row i of a slab with dimension d is slab[i*d : (i+1)*d]).

import "math"

// Dot returns the dot product of a and b, which must have the same length.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("vecmath: length mismatch")
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Norm returns the L2 norm of v, accumulated in float64.
func Norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// Normalize scales v in place to unit L2 norm and returns the original norm.
// A zero vector is left unchanged.
func Normalize(v []float32) float64 {
	n := Norm(v)
	if n == 0 {
		return 0
	}
	inv := float32(1 / n)
	for i := range v {
		v[i] *= inv
	}
	return n
}

// Normalized returns a unit-norm copy of v.
func Normalized(v []float32) []float32 {
	c := append([]float32(nil), v...)
	Normalize(c)
	return c
}

// NormalizeRows scales each row of the row-major matrix x (rows of d
// elements) to unit L2 norm, in place, and stores each row's original norm
// in norms (len(x)/d elements). A zero row is left unchanged.
func NormalizeRows(x []float32, d int, norms []float32) {
	for r := range norms {
		norms[r] = float32(Normalize(x[r*d : (r+1)*d]))
	}
}

// DotRows sets out[i] to the dot product of q and row i of rows, for every
// i < len(out). rows must hold at least len(out)·len(q) elements.
func DotRows(q, rows, out []float32) {
	d := len(q)
	if len(rows) < len(out)*d {
		panic("vecmath: rows shorter than len(out)·len(q)")
	}
	for i := range out {
		out[i] = dot8(q, rows[i*d:i*d+d:i*d+d])
	}
}

// dot8 is Dot with eight accumulators and no length check; len(b) must be
// at least len(a). Indexing (rather than re-slicing) after b = b[:len(a)]
// lets the compiler drop the bounds checks.
func dot8(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
		s4 += a[i+4] * b[i+4]
		s5 += a[i+5] * b[i+5]
		s6 += a[i+6] * b[i+6]
		s7 += a[i+7] * b[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
