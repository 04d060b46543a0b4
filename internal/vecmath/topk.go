package vecmath

// Selection of the best items: a bounded top-k heap over one stream of
// scores ([TopK]) and per-query k-nearest lists filled from blocks of
// distances ([NearestK]).

import (
	"container/heap"
	"math"
	"sort"
)

// Scored is an item index with its score. Larger scores are better.
type Scored struct {
	Index int
	Score float32
}

// TopK keeps the k best-scored items seen so far in a bounded min-heap.
// Equal scores are ranked by a tie function (by default the smaller index
// first), so results are deterministic. The zero value is not usable; call
// [NewTopK].
type TopK struct {
	k int
	h scoredHeap
}

// NewTopK returns a TopK keeping at most k items (k >= 1). tie, if not nil,
// reports whether item a ranks before item b when their scores are equal;
// it must be a strict order (index/memory ranks equal scores by record ID,
// so that results do not depend on where records sit). Without it the
// smaller index ranks first.
func NewTopK(k int, tie func(a, b int) bool) *TopK {
	if k < 1 {
		k = 1
	}
	if tie == nil {
		tie = func(a, b int) bool { return a < b }
	}
	return &TopK{k: k, h: scoredHeap{s: make([]Scored, 0, min(k, 1<<16)), tie: tie}}
}

// Push offers an item.
func (t *TopK) Push(index int, score float32) {
	if len(t.h.s) < t.k {
		heap.Push(&t.h, Scored{index, score})
		return
	}
	if t.h.better(Scored{index, score}, t.h.s[0]) {
		t.h.s[0] = Scored{index, score}
		heap.Fix(&t.h, 0)
	}
}

// Threshold returns the worst score kept, and whether the heap is full.
// An item scoring below it cannot enter.
func (t *TopK) Threshold() (float32, bool) {
	if len(t.h.s) < t.k {
		return 0, false
	}
	return t.h.s[0].Score, true
}

// Merge pushes every item kept by o into t.
func (t *TopK) Merge(o *TopK) {
	for _, s := range o.h.s {
		t.Push(s.Index, s.Score)
	}
}

// Len returns the number of items kept.
func (t *TopK) Len() int { return len(t.h.s) }

// Sorted returns the kept items, best first. The TopK stays usable.
func (t *TopK) Sorted() []Scored {
	out := append([]Scored(nil), t.h.s...)
	sort.Slice(out, func(i, j int) bool { return t.h.better(out[i], out[j]) })
	return out
}

// scoredHeap is a min-heap: the worst item on top.
type scoredHeap struct {
	s   []Scored
	tie func(a, b int) bool
}

// better reports whether a ranks before b.
func (h *scoredHeap) better(a, b Scored) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return h.tie(a.Index, b.Index)
}

func (h *scoredHeap) Len() int           { return len(h.s) }
func (h *scoredHeap) Less(i, j int) bool { return h.better(h.s[j], h.s[i]) }
func (h *scoredHeap) Swap(i, j int)      { h.s[i], h.s[j] = h.s[j], h.s[i] }
func (h *scoredHeap) Push(x any)         { h.s = append(h.s, x.(Scored)) }
func (h *scoredHeap) Pop() any {
	old := h.s
	x := old[len(old)-1]
	h.s = old[:len(old)-1]
	return x
}

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
