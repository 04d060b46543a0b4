// Package vecmath holds Shoal's vector kernels: dot products, distances,
// normalisation and a bounded top-k heap. It is the one place for hot loops,
// so that every store, trainer and reranker shares the same tuned code.
package vecmath

import (
	"container/heap"
	"math"
	"sort"
)

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

// AddScaled adds s·x to dst in place.
func AddScaled(dst []float32, s float32, x []float32) {
	for i := range dst {
		dst[i] += s * x[i]
	}
}

// Scored is an item index with its score. Larger scores are better.
type Scored struct {
	Index int
	Score float32
}

// TopK keeps the k best-scored items seen so far in a bounded min-heap.
// Ties are broken by the smaller index, so results are deterministic.
// The zero value is not usable; call [NewTopK].
type TopK struct {
	k int
	h scoredHeap
}

// NewTopK returns a TopK keeping at most k items (k >= 1).
func NewTopK(k int) *TopK {
	if k < 1 {
		k = 1
	}
	return &TopK{k: k, h: make(scoredHeap, 0, min(k, 1<<16))}
}

// Push offers an item.
func (t *TopK) Push(index int, score float32) {
	if len(t.h) < t.k {
		heap.Push(&t.h, Scored{index, score})
		return
	}
	if better(Scored{index, score}, t.h[0]) {
		t.h[0] = Scored{index, score}
		heap.Fix(&t.h, 0)
	}
}

// Threshold returns the worst score kept, and whether the heap is full.
// An item scoring below it cannot enter.
func (t *TopK) Threshold() (float32, bool) {
	if len(t.h) < t.k {
		return 0, false
	}
	return t.h[0].Score, true
}

// Merge pushes every item kept by o into t.
func (t *TopK) Merge(o *TopK) {
	for _, s := range o.h {
		t.Push(s.Index, s.Score)
	}
}

// Len returns the number of items kept.
func (t *TopK) Len() int { return len(t.h) }

// Sorted returns the kept items, best first. The TopK stays usable.
func (t *TopK) Sorted() []Scored {
	out := append([]Scored(nil), t.h...)
	sort.Slice(out, func(i, j int) bool { return better(out[i], out[j]) })
	return out
}

// better reports whether a ranks before b.
func better(a, b Scored) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Index < b.Index
}

// scoredHeap is a min-heap: the worst item on top.
type scoredHeap []Scored

func (h scoredHeap) Len() int           { return len(h) }
func (h scoredHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h scoredHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *scoredHeap) Push(x any)        { *h = append(*h, x.(Scored)) }
func (h *scoredHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
