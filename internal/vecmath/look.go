package vecmath

import "math"

// Kernels of the embedding-space analyses (package search/look): selecting
// each query's k nearest targets from blocks of distances that a GEMM
// computes, and the small 2-D updates of a neighbour-preserving layout.

// NearestK keeps, for each of m queries, the k smallest keys offered so
// far with their target indices, sorted ascending. Keys are any
// distance-like number (smaller is nearer). Ties keep the target offered
// first. It is not safe for concurrent use on the same query; different
// queries may be updated concurrently.
type NearestK struct {
	K     int
	Key   []float32 // m·k, row q holds query q's keys ascending (+Inf when unfilled)
	Index []int32   // m·k, the targets of Key (-1 when unfilled)
}

// NewNearestK returns a NearestK for m queries keeping k (≥ 1) each.
func NewNearestK(m, k int) *NearestK {
	if k < 1 {
		k = 1
	}
	nk := &NearestK{K: k, Key: make([]float32, m*k), Index: make([]int32, m*k)}
	inf := float32(math.Inf(1))
	for i := range nk.Key {
		nk.Key[i] = inf
		nk.Index[i] = -1
	}
	return nk
}

// Offer offers query q the keys of targets base, base+1, …,
// base+len(keys)-1, leaving out target skip (pass -1 to keep all). Most
// keys fail the comparison with the current k-th key and cost one compare.
func (nk *NearestK) Offer(q int, keys []float32, base, skip int) {
	k := nk.K
	key := nk.Key[q*k : (q+1)*k : (q+1)*k]
	idx := nk.Index[q*k : (q+1)*k : (q+1)*k]
	worst := key[k-1]
	for j, v := range keys {
		if v >= worst || v != v { // NaN never enters
			continue
		}
		t := base + j
		if t == skip {
			continue
		}
		p := k - 1
		for p > 0 && key[p-1] > v {
			key[p] = key[p-1]
			idx[p] = idx[p-1]
			p--
		}
		key[p] = v
		idx[p] = int32(t)
		worst = key[k-1]
	}
}

// OfferOne offers query q one target t with key v.
func (nk *NearestK) OfferOne(q int, v float32, t int) {
	k := nk.K
	key := nk.Key[q*k : (q+1)*k : (q+1)*k]
	if !(v < key[k-1]) {
		return
	}
	idx := nk.Index[q*k : (q+1)*k : (q+1)*k]
	p := k - 1
	for p > 0 && key[p-1] > v {
		key[p] = key[p-1]
		idx[p] = idx[p-1]
		p--
	}
	key[p] = v
	idx[p] = int32(t)
}

// Row returns query q's keys and indices (views into nk).
func (nk *NearestK) Row(q int) ([]float32, []int32) {
	k := nk.K
	return nk.Key[q*k : (q+1)*k], nk.Index[q*k : (q+1)*k]
}

// AttractRepel2D applies one stochastic-gradient step of a UMAP-style
// layout to the 2-D points y (x0, y0, x1, y1, …) for the edge (i, j): it
// pulls i and j together with the attractive gradient of
// 1/(1+a·d^(2b)) and moves i by rate times the clipped gradient (j too when
// moveJ). It returns nothing; callers loop over edges.
func AttractRepel2D(y []float32, i, j int, a, b, rate float32, attract, moveJ bool) {
	xi, yi := y[2*i], y[2*i+1]
	xj, yj := y[2*j], y[2*j+1]
	dx, dy := xi-xj, yi-yj
	d2 := dx*dx + dy*dy
	var g float32
	if attract {
		if d2 <= 0 {
			return
		}
		pw := Pow32(d2, b-1)
		g = -2 * a * b * pw / (a*pw*d2 + 1)
	} else {
		if d2 <= 0 {
			d2 = 0
		}
		g = 2 * b / ((0.001 + d2) * (a*Pow32(d2, b) + 1))
	}
	gx := clip4(g * dx)
	gy := clip4(g * dy)
	y[2*i] += rate * gx
	y[2*i+1] += rate * gy
	if moveJ {
		y[2*j] -= rate * gx
		y[2*j+1] -= rate * gy
	}
}

func clip4(v float32) float32 {
	if v > 4 {
		return 4
	}
	if v < -4 {
		return -4
	}
	return v
}

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
