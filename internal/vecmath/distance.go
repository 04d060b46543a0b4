package vecmath

// Squared Euclidean distances, between two vectors or between a query and
// every row of a row-major slab. (Cosine is the dot product of normalised
// vectors: see dot.go.)

// SquaredL2 returns the squared Euclidean distance between a and b.
func SquaredL2(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("vecmath: length mismatch")
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// SquaredL2x8 returns the squared Euclidean distance between a and b, which
// must have the same length, as [SquaredL2Rows] computes it: the same value,
// bit for bit, as SquaredL2Rows gives for a row equal to b. It runs as
// AVX2/FMA assembly where the CPU has it (see kernels_amd64.go), unlike
// [SquaredL2], whose order of operations stays that of its Go loop.
func SquaredL2x8(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("vecmath: length mismatch")
	}
	if useAsm {
		return squaredL2Asm(a, b)
	}
	return squaredL2x8(a, b)
}

// SquaredL2Rows sets out[i] to the squared Euclidean distance between q and
// row i of rows, for every i < len(out). rows must hold at least
// len(out)·len(q) elements.
func SquaredL2Rows(q, rows, out []float32) {
	d := len(q)
	if len(rows) < len(out)*d {
		panic("vecmath: rows shorter than len(out)·len(q)")
	}
	if useAsm {
		squaredL2RowsAsm(q, rows, out)
		return
	}
	for i := range out {
		out[i] = squaredL2x8(q, rows[i*d:i*d+d:i*d+d])
	}
}

// squaredL2x8 is SquaredL2x8 in Go: SquaredL2 with eight accumulators and no length check;
// len(b) must be at least len(a).
func squaredL2x8(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		d0, d1, d2, d3 := a[i]-b[i], a[i+1]-b[i+1], a[i+2]-b[i+2], a[i+3]-b[i+3]
		d4, d5, d6, d7 := a[i+4]-b[i+4], a[i+5]-b[i+5], a[i+6]-b[i+6], a[i+7]-b[i+7]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		s4 += d4 * d4
		s5 += d5 * d5
		s6 += d6 * d6
		s7 += d7 * d7
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
