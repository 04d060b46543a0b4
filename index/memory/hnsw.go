package memory

// Approximate search: a hierarchical navigable small world graph (HNSW,
// Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
// search using Hierarchical Navigable Small World graphs", 2016,
// arXiv:1603.09320) per namespace, turned on by [WithHNSW].
//
// First milestone of issue 14: the graph lives in memory only and is built
// again on Open (from the snapshot and the log); it keeps its own copy of the
// vectors (normalised under Cosine), so that a deleted node can still be
// passed through; filtered queries scan exactly. The candidates the graph
// finds are scored again by the exact scan's formula, so that scores and
// ties are the same as exact search's.

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// hnswParams are the settings of [WithHNSW]; the zero value is off.
type hnswParams struct {
	m, efConstruction, efSearch, threshold int
}

func (p *hnswParams) on() bool { return p != nil && p.m > 0 }

// newState returns an empty state with c's settings, graphs included.
func (c *config) newState() *state {
	st := newState(c.metric, c.dim)
	if c.hnsw.on() {
		p := c.hnsw
		st.ann = &p
	}
	return st
}

// cand is a node with its score against the vector searched for (larger is
// nearer).
type cand struct {
	node  int32
	score float32
}

// hnsw is the graph of one namespace. The store's lock guards it: inserts and
// deletes under the write lock, searches under the read lock (a search
// changes nothing in the graph).
type hnsw struct {
	p      hnswParams
	metric index.Metric
	dim    int
	mL     float64

	vecs  []float32   // node i is vecs[i*dim : (i+1)*dim], normalised under Cosine
	ids   []string    // node → record ID
	links [][][]int32 // node → level → neighbours
	dead  []bool      // node → deleted (a tombstone, still traversed)
	ndead int
	byID  map[string]int32 // ID → its live node
	entry int32            // -1 while empty
	top   int              // level of entry
	rng   *rand.Rand
	build visitSet // for inserts, which hold the write lock
}

func newHNSW(p hnswParams, metric index.Metric, dim int) *hnsw {
	return &hnsw{
		p: p, metric: metric, dim: dim,
		mL:    1 / math.Log(float64(p.m)),
		byID:  make(map[string]int32),
		entry: -1,
		rng:   rand.New(rand.NewPCG(1, 14)), // seeded: the same writes build the same graph
	}
}

// buildHNSW returns the graph of every record of sp.
func buildHNSW(p hnswParams, metric index.Metric, sp *space) *hnsw {
	g := newHNSW(p, metric, sp.dim)
	v := make([]float32, sp.dim)
	for i := range sp.len() {
		g.add(sp.ids[i], sp.graphVector(i, v))
	}
	return g
}

// graphVector returns slot i's vector as the graph keeps it (normalised
// under Cosine), in buf.
func (sp *space) graphVector(i int, buf []float32) []float32 {
	copy(buf, sp.vector(i))
	if sp.inv != nil {
		for j := range buf {
			buf[j] *= sp.inv[i]
		}
	}
	return buf
}

func (g *hnsw) vector(n int32) []float32 {
	i := int(n) * g.dim
	return g.vecs[i : i+g.dim : i+g.dim]
}

// score compares q with node n: dot product (of normalised vectors under
// Cosine) or the negated squared Euclidean distance. The one-row kernels
// have no bounds checks in their loop, which makes queries ~15% faster than
// vecmath.Dot.
func (g *hnsw) score(q []float32, n int32) float32 {
	var out [1]float32
	if g.metric == index.Euclidean {
		vecmath.SquaredL2Rows(q, g.vector(n), out[:])
		return -out[0]
	}
	vecmath.DotRows(q, g.vector(n), out[:])
	return out[0]
}

// add inserts the record id with vector v (as [space.graphVector] gives it).
// A record already in the graph with another vector is tombstoned and
// inserted again.
func (g *hnsw) add(id string, v []float32) {
	if old, ok := g.byID[id]; ok {
		if slices.Equal(g.vector(old), v) {
			return
		}
		g.kill(old)
	}
	level := int(-math.Log(1-g.rng.Float64()) * g.mL)
	n := int32(len(g.ids))
	g.ids = append(g.ids, id)
	g.vecs = append(g.vecs, v...)
	g.links = append(g.links, make([][]int32, level+1))
	g.dead = append(g.dead, false)
	g.byID[id] = n
	if g.entry < 0 {
		g.entry, g.top = n, level
		return
	}
	q := g.vector(n)
	visited := &g.build
	visited.grow(len(g.ids))
	ep := []cand{{g.entry, g.score(q, g.entry)}}
	for l := g.top; l > level; l-- {
		ep = g.searchLayer(q, ep, 1, l, visited, false)
	}
	for l := min(g.top, level); l >= 0; l-- {
		w := g.searchLayer(q, ep, g.p.efConstruction, l, visited, false)
		g.links[n][l] = g.selectNeighbours(w, g.p.m)
		maxM := g.p.m
		if l == 0 {
			maxM = 2 * g.p.m
		}
		for _, nb := range g.links[n][l] {
			g.links[nb][l] = append(g.links[nb][l], n)
			if len(g.links[nb][l]) > maxM {
				g.prune(nb, l, maxM)
			}
		}
		ep = w
	}
	if level > g.top {
		g.entry, g.top = n, level
	}
}

// prune cuts node n's neighbours at level l down to maxM by the heuristic.
func (g *hnsw) prune(n int32, l, maxM int) {
	q := g.vector(n)
	cs := make([]cand, len(g.links[n][l]))
	for i, nb := range g.links[n][l] {
		cs[i] = cand{nb, g.score(q, nb)}
	}
	sortCands(cs)
	g.links[n][l] = g.selectNeighbours(cs, maxM)
}

// selectNeighbours is the paper's heuristic (algorithm 4): of cs, sorted
// best first, it keeps up to m, each nearer to the base than to every one
// kept before it, which spreads links in every direction.
func (g *hnsw) selectNeighbours(cs []cand, m int) []int32 {
	out := make([]int32, 0, m)
	for _, c := range cs {
		if len(out) == m {
			break
		}
		keep := true
		for _, r := range out {
			if g.score(g.vector(c.node), r) > c.score {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, c.node)
		}
	}
	return out
}

// kill tombstones node n: searches pass through it but never return it.
func (g *hnsw) kill(n int32) {
	if !g.dead[n] {
		g.dead[n] = true
		g.ndead++
		delete(g.byID, g.ids[n])
	}
}

// remove tombstones the record id and reports whether the graph is now
// mostly tombstones (and should be built again).
func (g *hnsw) remove(id string) bool {
	if n, ok := g.byID[id]; ok {
		g.kill(n)
	}
	return g.ndead > 0 && 2*g.ndead > len(g.ids)
}

// searchLayer is the paper's algorithm 2: a beam search at level l from ep
// keeping the ef best nodes, returned best first. With liveOnly, tombstones
// are passed through but not kept. visited is cleared first.
func (g *hnsw) searchLayer(q []float32, ep []cand, ef, l int, visited *visitSet, liveOnly bool) []cand {
	visited.clear()
	var cands, res candHeap // cands: best on top; res: worst on top
	cands.max = true
	for _, c := range ep {
		visited.add(c.node)
		cands.push(c)
		if !liveOnly || !g.dead[c.node] {
			res.push(c)
		}
	}
	for res.len() > ef {
		res.pop()
	}
	for cands.len() > 0 {
		c := cands.pop()
		if res.len() >= ef && c.score < res.peek().score {
			break
		}
		if l >= len(g.links[c.node]) {
			continue
		}
		for _, nb := range g.links[c.node][l] {
			if visited.has(nb) {
				continue
			}
			visited.add(nb)
			s := g.score(q, nb)
			if res.len() < ef || s > res.peek().score {
				cands.push(cand{nb, s})
				if !liveOnly || !g.dead[nb] {
					res.push(cand{nb, s})
					if res.len() > ef {
						res.pop()
					}
				}
			}
		}
	}
	out := res.s
	sortCands(out)
	return out
}

// search returns up to ef live nodes near q (normalised under Cosine).
func (g *hnsw) search(ctx context.Context, q []float32, ef int) ([]cand, error) {
	if g.entry < 0 {
		return nil, nil
	}
	visited := visitPool.Get().(*visitSet)
	defer visitPool.Put(visited)
	visited.grow(len(g.ids))
	ep := []cand{{g.entry, g.score(q, g.entry)}}
	for l := g.top; l > 0; l-- {
		ep = g.searchLayer(q, ep, 1, l, visited, false)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return g.searchLayer(q, ep, ef, 0, visited, true), nil
}

// searchGraph answers an unfiltered query from sp's graph: the nodes it finds
// are scored again as [Store.scoreRange] scores them, so that scores and the
// ranking of ties by ID are those of exact search.
func (s *Store) searchGraph(ctx context.Context, sp *space, q []float32, k, ef int) ([]vecmath.Scored, error) {
	found, err := sp.g.search(ctx, q, max(ef, k))
	if err != nil {
		return nil, err
	}
	top := vecmath.NewTopK(min(k, sp.len()), func(a, b int) bool { return sp.ids[a] < sp.ids[b] })
	var out [1]float32
	for _, c := range found {
		i, ok := sp.slots[sp.g.ids[c.node]]
		if !ok {
			continue
		}
		row := sp.vector(i)
		switch s.cfg.metric {
		case index.Cosine:
			vecmath.DotRows(q, row, out[:])
			out[0] = min(max(out[0]*sp.inv[i], -1), 1)
		case index.DotProduct:
			vecmath.DotRows(q, row, out[:])
		default:
			vecmath.SquaredL2Rows(q, row, out[:])
			out[0] = -out[0]
		}
		if out[0] != out[0] {
			continue
		}
		top.Push(i, out[0])
	}
	return top.Sorted(), nil
}

func sortCands(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return int(a.node) - int(b.node)
	})
}

// candHeap is a binary heap of candidates: the best on top with max, the
// worst otherwise.
type candHeap struct {
	s   []cand
	max bool
}

func (h *candHeap) len() int   { return len(h.s) }
func (h *candHeap) peek() cand { return h.s[0] }
func (h *candHeap) above(a, b cand) bool {
	if h.max {
		return a.score > b.score
	}
	return a.score < b.score
}

func (h *candHeap) push(c cand) {
	h.s = append(h.s, c)
	i := len(h.s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.above(h.s[i], h.s[p]) {
			break
		}
		h.s[i], h.s[p] = h.s[p], h.s[i]
		i = p
	}
}

func (h *candHeap) pop() cand {
	top := h.s[0]
	last := len(h.s) - 1
	h.s[0] = h.s[last]
	h.s = h.s[:last]
	i := 0
	for {
		l, r, b := 2*i+1, 2*i+2, i
		if l < last && h.above(h.s[l], h.s[b]) {
			b = l
		}
		if r < last && h.above(h.s[r], h.s[b]) {
			b = r
		}
		if b == i {
			return top
		}
		h.s[i], h.s[b] = h.s[b], h.s[i]
		i = b
	}
}

// visitSet is a bitset of the nodes a search has seen.
type visitSet struct {
	bits    []uint64
	touched []int32 // words set since the last clear
}

var visitPool = sync.Pool{New: func() any { return new(visitSet) }}

func (v *visitSet) grow(n int) {
	if w := (n + 63) / 64; len(v.bits) < w {
		v.bits = make([]uint64, 2*w)
		v.touched = v.touched[:0]
	}
}

func (v *visitSet) has(n int32) bool { return v.bits[n>>6]&(1<<(n&63)) != 0 }

func (v *visitSet) add(n int32) {
	w := n >> 6
	if v.bits[w] == 0 {
		v.touched = append(v.touched, w)
	}
	v.bits[w] |= 1 << (n & 63)
}

func (v *visitSet) clear() {
	for _, w := range v.touched {
		v.bits[w] = 0
	}
	v.touched = v.touched[:0]
}
