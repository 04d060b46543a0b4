package memory

// int8 scalar quantisation of a graph's vectors ([WithHNSWInt8]): each
// dimension j has a range [lo_j, lo_j + 255·scale_j] learnt from the vectors
// when the graph is built, and a vector x is kept as one byte a dimension,
// c_j = round((x_j − lo_j)/scale_j) clamped to 0…255, standing for
// x̂_j = lo_j + scale_j·c_j. A graph search scores the float32 query
// against the codes (asymmetric distance: q·x̂ = Σ q_j·lo_j + Σ q_j·scale_j·c_j,
// ‖q − x̂‖² = ‖q‖² − 2q·x̂ + ‖x̂‖²), reading a quarter of the bytes; the
// candidates it finds are then scored again on the float32 vectors, so the
// scores a query returns are exact. Under Cosine the codes hold the
// normalised vectors.

import (
	"math"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// scalarQuantizer holds a graph's codes and ranges.
type scalarQuantizer struct {
	dim       int
	lo, scale []float32
	codes     []uint8   // node n is codes[n*dim : (n+1)*dim]
	norm2     []float32 // node n → ‖x̂‖²
}

// trainQuantizer learns the ranges of g's live vectors (as the graph sees
// them: normalised under Cosine).
func trainQuantizer(g *hnsw) *scalarQuantizer {
	d := g.dim
	lo := make([]float32, d)
	hi := make([]float32, d)
	for j := range lo {
		lo[j], hi[j] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	buf := make([]float32, d)
	for i, id := range g.sp.ids {
		if id == "" {
			continue
		}
		for j, x := range g.query(int32(i), buf) {
			lo[j], hi[j] = min(lo[j], x), max(hi[j], x)
		}
	}
	return newQuantizer(lo, hi)
}

// newQuantizer returns a quantizer of ranges [lo_j, hi_j].
func newQuantizer(lo, hi []float32) *scalarQuantizer {
	q := &scalarQuantizer{dim: len(lo), lo: lo, scale: make([]float32, len(lo))}
	for j := range lo {
		if !(hi[j] > lo[j]) { // one value, or no vectors
			if math.IsInf(float64(lo[j]), 0) {
				lo[j] = 0
			}
			q.scale[j] = 1
			continue
		}
		q.scale[j] = (hi[j] - lo[j]) / 255
	}
	return q
}

// add appends the code of v (as the graph sees it).
func (q *scalarQuantizer) add(v []float32) {
	var n2 float32
	for j, x := range v {
		c := math.Round(float64((x - q.lo[j]) / q.scale[j]))
		c = min(max(c, 0), 255)
		q.codes = append(q.codes, uint8(c))
		r := q.lo[j] + q.scale[j]*float32(c)
		n2 += r * r
	}
	q.norm2 = append(q.norm2, n2)
}

// prepare fills p's fields for scoring p.v against codes.
func (q *scalarQuantizer) prepare(p *gquery) {
	p.qs = p.qs[:q.dim]
	var base, n2 float32
	for j, x := range p.v {
		p.qs[j] = x * q.scale[j]
		base += x * q.lo[j]
		n2 += x * x
	}
	p.base, p.norm2 = base, n2
}

// score compares p with node n's code.
func (q *scalarQuantizer) score(p *gquery, n int32, metric index.Metric) float32 {
	i := int(n) * q.dim
	d := p.base + vecmath.DotU8(p.qs, q.codes[i:i+q.dim:i+q.dim])
	if metric == index.Euclidean {
		return -(p.norm2 - 2*d + q.norm2[n])
	}
	return d
}
