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

// Dot8 returns the dot product of a and b, which must have the same length,
// as [DotRows] computes it: the same value, bit for bit, as DotRows gives
// for a row equal to b. It runs as AVX2/FMA assembly where the CPU has it
// (see kernels_amd64.go), unlike [Dot], whose order of operations stays
// that of its Go loop everywhere.
func Dot8(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("vecmath: length mismatch")
	}
	if useAsm {
		return dotAsm(a, b)
	}
	return dot8(a, b)
}

// DotRows sets out[i] to the dot product of q and row i of rows, for every
// i < len(out). rows must hold at least len(out)·len(q) elements.
func DotRows(q, rows, out []float32) {
	d := len(q)
	if len(rows) < len(out)*d {
		panic("vecmath: rows shorter than len(out)·len(q)")
	}
	if useAsm {
		dotRowsAsm(q, rows, out)
		return
	}
	for i := range out {
		out[i] = dot8(q, rows[i*d:i*d+d:i*d+d])
	}
}

// DotU8 returns Σ q[j]·float32(codes[j]), the dot product of q and a vector
// of uint8 codes, which must have the same length: with codes
// c_j = round((x_j - lo_j)/scale_j), q·x ≈ q·lo + DotU8(q∘scale, c). It
// runs as AVX2/FMA assembly where the CPU has it (see kernels_amd64.go).
func DotU8(q []float32, codes []uint8) float32 {
	if len(q) != len(codes) {
		panic("vecmath: length mismatch")
	}
	if useAsm {
		return dotU8Asm(q, codes)
	}
	return dotU8(q, codes)
}

// DotU8Rows sets out[i] to DotU8(q, row i of codes), for every
// i < len(out), bit for bit as DotU8 computes it; rows are len(q) bytes
// long, and codes must hold at least len(out)·len(q) of them.
func DotU8Rows(q []float32, codes []uint8, out []float32) {
	d := len(q)
	if len(codes) < len(out)*d {
		panic("vecmath: codes shorter than len(out)·len(q)")
	}
	if useAsm {
		dotU8RowsAsm(q, codes, out)
		return
	}
	for i := range out {
		out[i] = dotU8(q, codes[i*d:i*d+d:i*d+d])
	}
}

// dotU8 is DotU8 in Go, with eight accumulators like dot8 and no length
// check; len(c) must be at least len(q).
func dotU8(q []float32, c []uint8) float32 {
	c = c[:len(q)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(q); i += 8 {
		s0 += q[i] * float32(c[i])
		s1 += q[i+1] * float32(c[i+1])
		s2 += q[i+2] * float32(c[i+2])
		s3 += q[i+3] * float32(c[i+3])
		s4 += q[i+4] * float32(c[i+4])
		s5 += q[i+5] * float32(c[i+5])
		s6 += q[i+6] * float32(c[i+6])
		s7 += q[i+7] * float32(c[i+7])
	}
	for ; i < len(q); i++ {
		s0 += q[i] * float32(c[i])
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dot8 is Dot8 in Go: Dot with eight accumulators and no length check; len(b) must be
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
