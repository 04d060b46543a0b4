package look

import (
	"context"
	"math"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Graph holds each item's K nearest neighbours in a [Space], nearest
// first.
type Graph struct {
	// K is the number of neighbours per item.
	K int
	// Method says how the graph was computed: "exact" (blocked GEMM over
	// every pair), "ivf" (the inverted-file approximation) or "store"
	// (one store query per item).
	Method string

	space *Space
	index []int32   // n × K: the neighbour's item, -1 if none or outside the space
	dist  []float32 // n × K, ascending; +Inf when there is no neighbour
	ids   []string  // n × K neighbour IDs, "store" graphs only
}

// Neighbor is one neighbour of an item.
type Neighbor struct {
	ID string
	// Index is the neighbour's item in the space, or -1 when it is not in
	// the space (a store query on a sampled space can return such items).
	Index int
	// Distance is as [Space.Distance] measures it.
	Distance float64
}

// Neighbors returns item i's neighbours, nearest first. An i out of the
// space's range is an error wrapping index.ErrInvalidArgument.
func (g *Graph) Neighbors(i int) ([]Neighbor, error) {
	if err := g.space.checkIndex("Graph.Neighbors", i); err != nil {
		return nil, err
	}
	return g.neighbors(i), nil
}

// neighbors is Neighbors for an i known to be in range.
func (g *Graph) neighbors(i int) []Neighbor {
	out := make([]Neighbor, 0, g.K)
	for j := i * g.K; j < (i+1)*g.K; j++ {
		if math.IsInf(float64(g.dist[j]), 1) {
			break
		}
		nb := Neighbor{Index: int(g.index[j]), Distance: float64(g.dist[j])}
		switch {
		case g.ids != nil:
			nb.ID = g.ids[j]
		case nb.Index >= 0:
			nb.ID = g.space.ids[nb.Index]
		}
		out = append(out, nb)
	}
	return out
}

// Neighbors returns the kNN graph of the space with k = [WithK] neighbours
// per item (an item is not its own neighbour), computing it once per
// method and k and caching it. How:
//
//   - In memory, exact (the default up to [WithExactLimit] items): blocked
//     matrix products on every pair, one block of queries per goroutine.
//   - In memory, approximate (larger spaces): an inverted file. k-means
//     splits the items into about √(probes·n) lists; each item is compared,
//     with the same blocked products, with the items of the probes lists
//     whose centroids are nearest to it ([WithApproximate]). A neighbour
//     missed is one in a list the item did not probe; recall is measured
//     in the package's benchmark.
//   - [WithStoreQueries]: one store.Query per item through the public
//     interface, [WithConcurrency] at once; on a sampled space the
//     neighbours come from the whole pool.
//
// Options: WithK, WithWeights (its length), WithConcurrency,
// WithStoreQueries, WithExactLimit, WithApproximate, WithSeed; any other is
// an error.
func (sp *Space) Neighbors(ctx context.Context, opts ...Option) (*Graph, error) {
	if ctx == nil {
		return nil, errorf(index.ErrInvalidArgument, "Space.Neighbors: nil context")
	}
	c, err := newConfig(callNeighbors, opts)
	if err != nil {
		return nil, err
	}
	return sp.neighbors(ctx, &c)
}

func (sp *Space) neighbors(ctx context.Context, c *config) (*Graph, error) {
	n := sp.Len()
	if c.viaStore && sp.store == nil {
		return nil, ErrNoStore
	}
	if !c.viaStore && n <= c.k {
		return nil, errorf(nil, "%w: %d items, need more than k = %d for a kNN graph", ErrTooFew, n, c.k)
	}
	approx := !c.viaStore && n > c.exactLimit
	key := graphKey{k: c.k, viaStore: c.viaStore, approx: approx}
	sp.mu.Lock()
	g := sp.graphs[key]
	sp.mu.Unlock()
	if g != nil {
		return g, nil
	}
	var err error
	switch {
	case c.viaStore:
		g, err = sp.storeKNN(ctx, c)
	case approx:
		g, err = sp.ivfKNN(ctx, c)
	default:
		g, err = sp.exactKNN(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	sp.mu.Lock()
	sp.graphs[key] = g
	sp.mu.Unlock()
	return g, nil
}

// norms returns each item's squared norm under Euclidean, nil otherwise.
func (sp *Space) norms() []float32 {
	if sp.metric != index.Euclidean {
		return nil
	}
	return squaredNorms(sp.vecs, sp.Len(), sp.dim)
}

func (sp *Space) finishGraph(nk *vecmath.NearestK, method string, xn []float32, remap []int32) *Graph {
	n := sp.Len()
	g := &Graph{K: nk.K, Method: method, space: sp, index: nk.Index, dist: nk.Key}
	for i := range n {
		var qn float32
		if xn != nil {
			qn = xn[i]
		}
		keys, idx := nk.Row(i)
		for j := range keys {
			if idx[j] < 0 {
				keys[j] = float32(math.Inf(1))
				continue
			}
			if remap != nil {
				idx[j] = remap[idx[j]]
			}
			keys[j] = float32(keyToDistance(sp.metric, keys[j], qn))
		}
	}
	return g
}

// exactKNN computes the exact graph: every query block against every
// target block.
func (sp *Space) exactKNN(ctx context.Context, c *config) (*Graph, error) {
	n, d := sp.Len(), sp.dim
	nk := vecmath.NewNearestK(n, c.k)
	xn := sp.norms()
	err := joinRows(ctx, c.concurrency, sp.metric, sp.vecs, d, nil, n, sp.vecs, n, xn, func(q int, keys []float32, t0 int) {
		nk.Offer(q, keys, t0, q)
	})
	if err != nil {
		return nil, err
	}
	return sp.finishGraph(nk, "exact", xn, nil), nil
}

// ivf is an inverted file over the space: items permuted so that each
// list is contiguous.
type ivf struct {
	lists  int
	start  []int     // list l holds permuted rows start[l] .. start[l+1]-1
	perm   []int32   // permuted row → item
	pos    []int32   // item → permuted row
	slab   []float32 // permuted vectors
	norms  []float32 // permuted squared norms (Euclidean only)
	probes [][]int32 // list → the items that probe it
}

func (sp *Space) buildIVF(ctx context.Context, c *config) (*ivf, error) {
	n, d := sp.Len(), sp.dim
	lists := c.lists
	if lists == 0 {
		lists = int(math.Round(math.Sqrt(float64(c.probes) * float64(n))))
	}
	lists = max(1, min(lists, n))
	probes := min(c.probes, lists)
	// Train the centroids on a sample of 16 items per list.
	sample := min(n, 16*lists)
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	r := newRand(c.seed, 0x1f)
	r.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	train := scaledRows(make([]float32, 0, sample*d), sp.vecs, d, idx[:sample], 0, 0, 1)
	cent, _, err := kmeans(ctx, c.concurrency, train, sample, d, lists, 8, c.seed, false)
	if err != nil {
		return nil, err
	}
	lists = len(cent) / d
	probes = min(probes, lists)
	// Under cosine and dot product the nearest centroid is taken by the
	// metric's own keys; the Euclidean keys equal them for unit vectors.
	nk, err := nearestRows(ctx, c.concurrency, sp.vecs, d, nil, n, cent, lists, probes)
	if err != nil {
		return nil, err
	}
	iv := &ivf{lists: lists, start: make([]int, lists+1), perm: make([]int32, n), pos: make([]int32, n), probes: make([][]int32, lists)}
	counts := make([]int, lists)
	probeCounts := make([]int, lists)
	for i := range n {
		_, near := nk.Row(i)
		counts[near[0]]++
		for _, l := range near {
			if l >= 0 {
				probeCounts[l]++
			}
		}
	}
	for l := range lists {
		iv.start[l+1] = iv.start[l] + counts[l]
		iv.probes[l] = make([]int32, 0, probeCounts[l])
	}
	fill := slices.Clone(iv.start[:lists])
	for i := range n {
		_, near := nk.Row(i)
		p := fill[near[0]]
		fill[near[0]]++
		iv.perm[p] = int32(i)
		iv.pos[i] = int32(p)
		for _, l := range near {
			if l >= 0 {
				iv.probes[l] = append(iv.probes[l], int32(i))
			}
		}
	}
	iv.slab = scaledRows(make([]float32, 0, n*d), sp.vecs, d, iv.perm, 0, 0, 1)
	if sp.metric == index.Euclidean {
		iv.norms = squaredNorms(iv.slab, n, d)
	}
	return iv, nil
}

// join calls emit(item, keys, targetBase) for every item against every
// list it probes; targets are permuted rows (map them with perm).
func (iv *ivf) join(ctx context.Context, conc int, sp *Space, emit func(q int, keys []float32, t0 int)) error {
	d := sp.dim
	for l := range iv.lists {
		lo, hi := iv.start[l], iv.start[l+1]
		if hi == lo || len(iv.probes[l]) == 0 {
			continue
		}
		var tadd []float32
		if iv.norms != nil {
			tadd = iv.norms[lo:hi]
		}
		err := joinRows(ctx, conc, sp.metric, sp.vecs, d, iv.probes[l], len(iv.probes[l]), iv.slab[lo*d:hi*d], hi-lo, tadd, func(q int, keys []float32, t0 int) {
			emit(q, keys, lo+t0)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (sp *Space) ivfKNN(ctx context.Context, c *config) (*Graph, error) {
	iv, err := sp.buildIVF(ctx, c)
	if err != nil {
		return nil, err
	}
	nk := vecmath.NewNearestK(sp.Len(), c.k)
	err = iv.join(ctx, c.concurrency, sp, func(q int, keys []float32, t0 int) {
		nk.Offer(q, keys, t0, int(iv.pos[q]))
	})
	if err != nil {
		return nil, err
	}
	return sp.finishGraph(nk, "ivf", sp.norms(), iv.perm), nil
}

// storeKNN queries the store once per item.
func (sp *Space) storeKNN(ctx context.Context, c *config) (*Graph, error) {
	n, k := sp.Len(), c.k
	g := &Graph{K: k, Method: "store", space: sp, index: make([]int32, n*k), dist: make([]float32, n*k), ids: make([]string, n*k)}
	pos := make(map[string]int32, n)
	for i, id := range sp.ids {
		pos[id] = int32(i)
	}
	inf := float32(math.Inf(1))
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(c.concurrency)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		eg.Go(func() error {
			ms, err := sp.store.Query(gctx, index.Query{Namespace: sp.namespace, Vector: sp.vec(i), TopK: k + 1, Filter: sp.filter})
			if err != nil {
				return errorf(nil, "neighbours of %q: %w", sp.ids[i], err)
			}
			row := i * k
			j := 0
			for _, m := range ms {
				if m.ID == sp.ids[i] || j == k {
					continue
				}
				g.ids[row+j] = m.ID
				g.dist[row+j] = float32(sp.distanceFromScore(m.Score))
				if p, ok := pos[m.ID]; ok {
					g.index[row+j] = p
				} else {
					g.index[row+j] = -1
				}
				j++
			}
			for ; j < k; j++ {
				g.index[row+j], g.dist[row+j] = -1, inf
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return g, nil
}
