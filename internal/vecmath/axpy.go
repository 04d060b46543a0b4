package vecmath

// Scaled additions (dst += s·x) and their matrix-vector forms over a
// row-major slab: dst += rowsᵀ·coef and its elementwise-squared variant.

// AddScaled adds s·x to dst in place (len(x) >= len(dst)), four elements
// a step (the image encoder's column-by-column matrix-vector products call
// it in their inner loop); each element is computed as dst[i] += s·x[i].
func AddScaled(dst []float32, s float32, x []float32) {
	x = x[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d, v := dst[i:i+4:i+4], x[i:i+4:i+4]
		d[0] += s * v[0]
		d[1] += s * v[1]
		d[2] += s * v[2]
		d[3] += s * v[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += s * x[i]
	}
}

// AddScaledRows adds Σᵢ coef[i]·rowᵢ to dst, where rowᵢ is row i of rows
// and d = len(dst): dst += rowsᵀ·coef. rows must hold at least
// len(coef)·len(dst) elements. It reads four rows per pass over dst, so dst
// is loaded and stored a quarter as often as with one AddScaled per row.
func AddScaledRows(dst, coef, rows []float32) {
	d := len(dst)
	if len(rows) < len(coef)*d {
		panic("vecmath: rows shorter than len(coef)·len(dst)")
	}
	i := 0
	for ; i+4 <= len(coef); i += 4 {
		c0, c1, c2, c3 := coef[i], coef[i+1], coef[i+2], coef[i+3]
		r0 := rows[i*d : i*d+d : i*d+d]
		r1 := rows[(i+1)*d : (i+1)*d+d : (i+1)*d+d]
		r2 := rows[(i+2)*d : (i+2)*d+d : (i+2)*d+d]
		r3 := rows[(i+3)*d : (i+3)*d+d : (i+3)*d+d]
		for j := range dst {
			dst[j] += (c0*r0[j] + c1*r1[j]) + (c2*r2[j] + c3*r3[j])
		}
	}
	for ; i < len(coef); i++ {
		c := coef[i]
		r := rows[i*d : i*d+d : i*d+d]
		for j := range dst {
			dst[j] += c * r[j]
		}
	}
}

// AddScaledSquaredRows adds Σᵢ coef[i]·rowᵢ² (elementwise square) to dst,
// where rowᵢ is row i of rows and d = len(dst): the diagonal of rowsᵀ·
// diag(coef)·rows. rows must hold at least len(coef)·len(dst) elements.
func AddScaledSquaredRows(dst, coef, rows []float32) {
	d := len(dst)
	if len(rows) < len(coef)*d {
		panic("vecmath: rows shorter than len(coef)·len(dst)")
	}
	i := 0
	for ; i+4 <= len(coef); i += 4 {
		c0, c1, c2, c3 := coef[i], coef[i+1], coef[i+2], coef[i+3]
		r0 := rows[i*d : i*d+d : i*d+d]
		r1 := rows[(i+1)*d : (i+1)*d+d : (i+1)*d+d]
		r2 := rows[(i+2)*d : (i+2)*d+d : (i+2)*d+d]
		r3 := rows[(i+3)*d : (i+3)*d+d : (i+3)*d+d]
		for j := range dst {
			a, b, c, e := r0[j], r1[j], r2[j], r3[j]
			dst[j] += (c0*a*a + c1*b*b) + (c2*c*c + c3*e*e)
		}
	}
	for ; i < len(coef); i++ {
		c := coef[i]
		r := rows[i*d : i*d+d : i*d+d]
		for j := range dst {
			dst[j] += c * r[j] * r[j]
		}
	}
}

// Lerp moves dst towards x by the fraction t, in place:
// dst += t·(x - dst).
func Lerp(dst, x []float32, t float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += t * (v - dst[i])
	}
}
