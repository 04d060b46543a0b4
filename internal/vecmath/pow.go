package vecmath

// A fast float32 power function.

import "math"

// Pow32 returns x^p for x > 0 to a relative error of about 1e-5, several
// times faster than math.Pow: 2^(p·log₂x) with short series for log₂ and
// 2^f. It returns 0 for x <= 0 and saturates beyond float32's range.
func Pow32(x, p float32) float32 {
	if !(x > 0) {
		return 0
	}
	y := p * log2f(x)
	if y > 127 {
		return float32(math.Inf(1))
	}
	if y < -126 {
		return 0
	}
	return exp2f(y)
}

// log2f returns log₂ x for a normal x > 0: the exponent plus an odd series
// in t = (m−1)/(m+1) for the mantissa m, rescaled to [√½, √2).
func log2f(x float32) float32 {
	bits := math.Float32bits(x)
	e := int32(bits>>23&0xff) - 127
	m := math.Float32frombits(bits&0x007fffff | 0x3f800000) // [1, 2)
	if m > 1.41421356 {
		m *= 0.5
		e++
	}
	t := (m - 1) / (m + 1)
	t2 := t * t
	// 2/ln 2 · (t + t³/3 + t⁵/5 + t⁷/7 + t⁹/9)
	s := t * (1 + t2*(1.0/3+t2*(1.0/5+t2*(1.0/7+t2*(1.0/9)))))
	return float32(e) + 2.8853900817779268*s
}

// exp2f returns 2^y for y in [−126, 127]: the integer part in the
// exponent, a degree-7 series of e^(f·ln 2) for the fraction.
func exp2f(y float32) float32 {
	n := int32(y)
	if float32(n) > y {
		n--
	}
	f := (y - float32(n)) * 0.6931471805599453
	p := 1 + f*(1+f*(1.0/2+f*(1.0/6+f*(1.0/24+f*(1.0/120+f*(1.0/720+f*(1.0/5040)))))))
	return math.Float32frombits(math.Float32bits(p) + uint32(n)<<23)
}
