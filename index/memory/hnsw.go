package memory

// Approximate search: a hierarchical navigable small world graph (HNSW,
// Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
// search using Hierarchical Navigable Small World graphs", 2016,
// arXiv:1603.09320) per namespace, turned on by [WithHNSW].
//
// Node n of the graph is slot n of its space: the graph reads the vectors
// from the space's slab (no copy) and keeps only its links. Under a graph a
// deleted record leaves a tombstone — its slot keeps the vector, with ID ""
// — which searches pass through but never return; once tombstones
// outnumber live records the space is compacted and the graph built again.
// A re-upserted record whose vector changed is a tombstone plus a new node.
//
// Links are flat: level 0 of node n is links0[n*stride0:], a count then up
// to 2M neighbours; the few nodes above level 0 (one in M) keep their upper
// levels in upper[n], M+1 entries a level. Bulk inserts run on several goroutines,
// each locking one node's list at a time (striped mutexes), as hnswlib does.
//
// The candidates a search finds are scored again by the exact scan's formula,
// so that scores and ties are the same as exact search's.

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// hnswParams are the settings of [WithHNSW]; the zero value is off.
type hnswParams struct {
	m, efConstruction, efSearch, threshold int
	workers                                int  // goroutines of a bulk insert
	int8                                   bool // [WithHNSWInt8]
}

func (p *hnswParams) on() bool { return p != nil && p.m > 0 }

// newState returns an empty state with c's settings, graphs included.
func (c *config) newState() *state {
	st := newState(c.metric, c.dim)
	if c.hnsw.on() {
		p := c.hnsw
		p.workers = c.workers
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

// lockStripes is the number of mutexes guarding the nodes' link lists during
// a parallel insert (node n uses n % lockStripes).
const lockStripes = 4096

// hnsw is the graph of one namespace. The store's lock guards it: inserts and
// deletes under the write lock, searches under the read lock (a search
// changes nothing in the graph). While inserts run in parallel (building is
// set), each list is read and written under its stripe's mutex.
type hnsw struct {
	p       hnswParams
	metric  index.Metric
	sp      *space
	dim     int
	mL      float64
	stride0 int // 1 + 2m: count and neighbours of a node at level 0
	strideU int // 1 + m: the same at each upper level

	links0 []int32
	upper  map[int32][]int32 // nodes above level 0 only: 8 bytes a node saved
	levels []uint8           // node → its top level
	entry  int32             // -1 while empty
	top    int               // level of entry
	rng    *rand.Rand

	building bool
	gmu      sync.Mutex // entry and top, while building
	locks    *[lockStripes]sync.Mutex

	sq *scalarQuantizer // with [WithHNSWInt8]: what searches score with
}

func newHNSW(p hnswParams, metric index.Metric, sp *space) *hnsw {
	return &hnsw{
		p: p, metric: metric, sp: sp, dim: sp.dim,
		mL:      1 / math.Log(float64(p.m)),
		stride0: 1 + 2*p.m,
		strideU: 1 + p.m,
		entry:   -1,
		upper:   make(map[int32][]int32),
		rng:     rand.New(rand.NewPCG(1, 14)), // seeded: the same writes build the same graph (on one goroutine)
	}
}

// buildHNSW returns the graph of every slot of sp (which has no tombstones).
func buildHNSW(p hnswParams, metric index.Metric, sp *space) *hnsw {
	g := newHNSW(p, metric, sp)
	if p.int8 {
		g.sq = trainQuantizer(g)
	}
	g.extend()
	return g
}

func (g *hnsw) nodes() int { return len(g.levels) }

// dead reports whether node n is a tombstone.
func (g *hnsw) dead(n int32) bool { return g.sp.ids[n] == "" }

// gquery is a vector searched for in a graph, normalised under Cosine, with
// what scoring it against int8 codes needs.
type gquery struct {
	v     []float32
	qs    []float32 // v_j·scale_j
	base  float32   // Σ v_j·lo_j
	norm2 float32   // ‖v‖²
}

// prepare makes v (normalised under Cosine) the query p searches for.
func (g *hnsw) prepare(v []float32, p *gquery) *gquery {
	p.v = v
	if g.sq != nil {
		g.sq.prepare(p)
	}
	return p
}

// score compares q with node n: cosine, dot product or negated squared
// Euclidean distance, from the int8 codes with [WithHNSWInt8] and otherwise
// as exact search scores.
func (g *hnsw) score(p *gquery, n int32) float32 {
	if g.sq != nil {
		return g.sq.score(p, n, g.metric)
	}
	return g.exact(p.v, n)
}

// scoreMany returns in out (grown as needed) the scores of q against nodes
// ns, as score gives them. The gather kernels prefetch the next node's
// vector while scoring one, which hides much of the cost of reading rows
// scattered across the slab.
func (g *hnsw) scoreMany(p *gquery, ns []int32, out []float32) []float32 {
	out = slices.Grow(out[:0], len(ns))[:len(ns)]
	switch {
	case g.sq != nil:
		vecmath.DotU8Gather(p.qs, g.sq.codes, ns, out)
		for i, n := range ns {
			d := p.base + out[i]
			if g.metric == index.Euclidean {
				d = -(p.norm2 - 2*d + g.sq.norm2[n])
			}
			out[i] = d
		}
	case g.metric == index.Euclidean:
		vecmath.SquaredL2Gather(p.v, g.sp.vecs, ns, out)
		for i := range out {
			out[i] = -out[i]
		}
	default:
		vecmath.DotGather(p.v, g.sp.vecs, ns, out)
		if g.metric == index.Cosine {
			for i, n := range ns {
				out[i] *= g.sp.inv[n]
			}
		}
	}
	return out
}

// exact scores q against node n's float32 vector.
func (g *hnsw) exact(q []float32, n int32) float32 {
	i := int(n) * g.dim
	row := g.sp.vecs[i : i+g.dim : i+g.dim]
	switch g.metric {
	case index.Euclidean:
		return -l2Row(q, row)
	case index.Cosine:
		return dotRow(q, row) * g.sp.inv[n]
	}
	return dotRow(q, row)
}

// dotRow and l2Row score one row as the exact scan's kernels
// ([vecmath.DotRows], [vecmath.SquaredL2Rows]) do, bit for bit, so that a
// graph's candidates get the scan's scores.
func dotRow(q, row []float32) float32 { return vecmath.Dot8(q, row) }

func l2Row(q, row []float32) float32 { return vecmath.SquaredL2x8(q, row) }

// query returns node n's vector as a query (normalised under Cosine) in buf.
func (g *hnsw) query(n int32, buf []float32) []float32 {
	copy(buf, g.sp.vector(int(n)))
	if g.metric == index.Cosine {
		inv := g.sp.inv[n]
		for j := range buf {
			buf[j] *= inv
		}
	}
	return buf
}

// list returns node n's neighbours at level l, with their count in [0].
func (g *hnsw) list(n int32, l int) []int32 {
	if l == 0 {
		i := int(n) * g.stride0
		return g.links0[i : i+g.stride0 : i+g.stride0]
	}
	i := (l - 1) * g.strideU
	return g.upper[n][i : i+g.strideU : i+g.strideU]
}

func (g *hnsw) lock(n int32) *sync.Mutex { return &g.locks[int(n)%lockStripes] }

// neighbours returns node n's neighbours at level l: the list itself, or,
// while building, a copy in buf taken under the node's lock.
func (g *hnsw) neighbours(n int32, l int, buf []int32) []int32 {
	b := g.list(n, l)
	if !g.building {
		return b[1 : 1+b[0]]
	}
	mu := g.lock(n)
	mu.Lock()
	buf = append(buf[:0], b[1:1+b[0]]...)
	mu.Unlock()
	return buf
}

func (g *hnsw) setList(n int32, l int, nbs []int32) {
	b := g.list(n, l)
	b[0] = int32(len(nbs))
	copy(b[1:], nbs)
	clear(b[1+len(nbs):])
}

// extend adds a node for every slot of the space past the graph's last one,
// on up to p.workers goroutines when there are many.
func (g *hnsw) extend() {
	lo, hi := g.nodes(), g.sp.slotCount()
	if lo == hi {
		return
	}
	g.links0 = slices.Grow(g.links0, (hi-lo)*g.stride0)[:hi*g.stride0]
	clear(g.links0[lo*g.stride0:])
	if g.sq != nil {
		buf := make([]float32, g.dim)
		for n := lo; n < hi; n++ {
			g.sq.add(g.query(int32(n), buf))
		}
	}
	for n := lo; n < hi; n++ {
		level := min(int(-math.Log(1-g.rng.Float64())*g.mL), math.MaxUint8)
		g.levels = append(g.levels, uint8(level))
		if level > 0 {
			g.upper[int32(n)] = make([]int32, level*g.strideU)
		}
	}
	workers := min(max(g.p.workers, 1), (hi-lo)/256+1)
	if workers == 1 {
		w := newWorker(g)
		for n := lo; n < hi; n++ {
			g.insert(int32(n), w)
		}
		return
	}
	// The first nodes go in alone, so that the parallel inserts start
	// from a graph with some structure.
	w := newWorker(g)
	start := min(lo+1024, hi)
	if g.entry >= 0 {
		start = lo
	}
	for n := lo; n < start; n++ {
		g.insert(int32(n), w)
	}
	if g.locks == nil {
		g.locks = new([lockStripes]sync.Mutex)
	}
	g.building = true
	defer func() { g.building = false }()
	var next sync.Mutex
	cursor := start
	var eg errgroup.Group
	for range workers {
		eg.Go(func() error {
			w := newWorker(g)
			for {
				next.Lock()
				from := cursor
				cursor = min(cursor+64, hi)
				next.Unlock()
				if from >= hi {
					return nil
				}
				for n := from; n < min(from+64, hi); n++ {
					g.insert(int32(n), w)
				}
			}
		})
	}
	_ = eg.Wait()
}

// worker is what one goroutine needs to search the graph.
type worker struct {
	visited visitSet
	cands   candHeap // best on top
	res     candHeap // worst on top
	nbuf    []int32
	ids     []int32   // neighbours to score
	scores  []float32 // their scores
	qbuf    []float32
	q       gquery
	ep      []cand
}

func newWorker(g *hnsw) *worker {
	w := &worker{qbuf: make([]float32, g.dim)}
	w.q.qs = make([]float32, g.dim)
	w.cands.max = true
	return w
}

var workerPool sync.Pool

// insert links node n into the graph.
func (g *hnsw) insert(n int32, w *worker) {
	level := int(g.levels[n])
	q := g.prepare(g.query(n, w.qbuf), &w.q)
	w.visited.grow(g.nodes())
	if g.building {
		g.gmu.Lock()
	}
	entry, top := g.entry, g.top
	if entry < 0 {
		g.entry, g.top = n, level
		if g.building {
			g.gmu.Unlock()
		}
		return
	}
	if g.building {
		if level <= top {
			g.gmu.Unlock()
		} else { // a new top level: hold the lock till it is the entry
			defer g.gmu.Unlock()
		}
	}
	ep := append(w.ep[:0], cand{entry, g.score(q, entry)})
	for l := top; l > level; l-- {
		ep = g.searchLayer(q, ep, 1, l, w, nil)
	}
	for l := min(top, level); l >= 0; l-- {
		found := g.searchLayer(q, ep, g.p.efConstruction, l, w, nil)
		// A parallel insert may have linked n already: never to itself.
		found = slices.DeleteFunc(found, func(c cand) bool { return c.node == n })
		if g.sq != nil { // the heuristic compares exact scores
			for i := range found {
				found[i].score = g.exact(q.v, found[i].node)
			}
			sortCands(found)
		}
		nbs := g.selectNeighbours(found, g.p.m)
		if g.building {
			mu := g.lock(n)
			mu.Lock()
			g.setList(n, l, nbs)
			mu.Unlock()
		} else {
			g.setList(n, l, nbs)
		}
		for _, nb := range nbs {
			g.link(nb, n, l)
		}
		ep = append(ep[:0], found...)
	}
	w.ep = ep
	if level > top {
		g.entry, g.top = n, level
	}
}

// link adds n to nb's neighbours at level l, pruning them by the heuristic
// when full.
func (g *hnsw) link(nb, n int32, l int) {
	if g.building {
		mu := g.lock(nb)
		mu.Lock()
		defer mu.Unlock()
	}
	maxM := g.p.m
	if l == 0 {
		maxM = 2 * g.p.m
	}
	b := g.list(nb, l)
	cnt := int(b[0])
	if slices.Contains(b[1:1+cnt], n) {
		return
	}
	if cnt < maxM {
		b[1+cnt] = n
		b[0]++
		return
	}
	cs := make([]cand, 0, cnt+1)
	for _, x := range append(b[1:1+cnt:1+cnt], n) {
		cs = append(cs, cand{x, g.pair(nb, x)})
	}
	sortCands(cs)
	g.setList(nb, l, g.selectNeighbours(cs, maxM))
}

// pair scores nodes a and b against each other.
func (g *hnsw) pair(a, b int32) float32 {
	s := g.exact(g.sp.vector(int(a)), b)
	if g.metric == index.Cosine {
		s *= g.sp.inv[a]
	}
	return s
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
			if g.pair(c.node, r) > c.score {
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

// searchLayer is the paper's algorithm 2: a beam search at level l from ep
// keeping the ef best nodes that accept takes (all when nil), returned best
// first; nodes it does not take are passed through. The result is w's and
// valid until w's next search.
func (g *hnsw) searchLayer(q *gquery, ep []cand, ef, l int, w *worker, accept func(int32) bool) []cand {
	w.visited.clear()
	cands, res := &w.cands, &w.res
	cands.s, res.s = cands.s[:0], res.s[:0]
	for _, c := range ep {
		w.visited.add(c.node)
		cands.push(c)
		if accept == nil || accept(c.node) {
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
		if l > int(g.levels[c.node]) {
			continue
		}
		nbs := g.neighbours(c.node, l, w.nbuf)
		if g.building {
			w.nbuf = nbs
		}
		ids := w.ids[:0]
		for _, nb := range nbs {
			if !w.visited.has(nb) {
				w.visited.add(nb)
				ids = append(ids, nb)
			}
		}
		w.ids = ids
		scores := g.scoreMany(q, ids, w.scores)
		w.scores = scores
		for i, nb := range ids {
			s := scores[i]
			if res.len() < ef || s > res.peek().score {
				cands.push(cand{nb, s})
				if accept == nil || accept(nb) {
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

// search returns up to ef nodes near q (normalised under Cosine) that accept
// takes (live ones when accept is nil).
func (g *hnsw) search(ctx context.Context, v []float32, ef int, accept func(int32) bool) ([]cand, error) {
	if g.entry < 0 {
		return nil, nil
	}
	w, _ := workerPool.Get().(*worker)
	if w == nil || len(w.qbuf) != g.dim {
		w = newWorker(g)
	}
	defer workerPool.Put(w)
	q := g.prepare(v, &w.q)
	w.visited.grow(g.nodes())
	ep := append(w.ep[:0], cand{g.entry, g.score(q, g.entry)})
	for l := g.top; l > 0; l-- {
		ep = append(ep[:0], g.searchLayer(q, ep, 1, l, w, nil)...)
	}
	w.ep = ep
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if accept == nil {
		accept = func(n int32) bool { return !g.dead(n) }
	}
	return slices.Clone(g.searchLayer(q, ep, ef, 0, w, accept)), nil
}

// searchGraph answers a query from sp's graph: the nodes it finds (those f
// matches) are scored again as [Store.scoreRange] scores them, so that scores
// and the ranking of ties by ID are those of exact search.
func (s *Store) searchGraph(ctx context.Context, sp *space, q []float32, k, ef int, f index.Filter) ([]vecmath.Scored, error) {
	var accept func(int32) bool
	if !f.IsZero() {
		accept = func(n int32) bool { return sp.ids[n] != "" && f.Match(sp.meta[n]) }
	}
	found, err := sp.g.search(ctx, q, max(ef, k), accept)
	if err != nil {
		return nil, err
	}
	top := vecmath.NewTopK(min(k, sp.len()), func(a, b int) bool { return sp.ids[a] < sp.ids[b] })
	for _, c := range found {
		i := int(c.node)
		if score := s.exactScore(sp, q, i); score == score { // NaN never enters
			top.Push(i, score)
		}
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
