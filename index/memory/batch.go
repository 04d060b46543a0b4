package memory

// Batched exact search: the queries of one call that scan the same
// namespace are scored together, block of queries by block of rows, each
// block one matrix product (vecmath.Sgemm, an AVX2/FMA kernel on amd64), as
// BLAS-backed libraries (faiss's IndexFlat) do for bulk kNN.
//
// A product sums each score in another order than the one-row kernels of
// Store.scoreRange, and Euclidean scores come from ‖q‖²+‖x‖²−2q·x, so its
// scores are only close to Query's. They pick, for each query, a few more
// candidates than it asks for (k + max(16, k)); the candidates are scored
// again by scoreRange's formula and the best k kept, with ties ranked by ID.
// That is Query's answer whenever no record outside the candidates can reach
// the k-th score: each query checks it against a rigorous bound on the
// rounding error of both computations (batchSlack), and a query that fails
// the check, rare outside exact ties at the k-th score, is scanned again
// alone. So QueryBatch returns, bit for bit, what QueryWith returns.
//
// The bound grows with the vectors' norms: Euclidean data far from the
// origin next to its spread (every coordinate 1000 ± 1, say) loses most of
// its digits in ‖q‖²+‖x‖²−2q·x, and its queries are all scanned again:
// still exact, but no faster than Query.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/vecmath"
)

const (
	// batchQueries is the most queries in one block (columns of one
	// product). Each block packs the rows for the kernel once more, which
	// costs ~11% of the products' time at 512 on Fashion-MNIST (784-d), so
	// larger blocks are faster as long as their queries (transposed, 4·dim
	// bytes each) stay in the shared cache.
	batchQueries = 1024
	// batchRows is how many rows one product scores (and how often ctx is
	// checked). The kernel reuses each 16-query panel across as many rows:
	// 128 or 64 rows are slower.
	batchRows = 256
	// batchChunk is how many rows one task of a worker covers.
	batchChunk = 16 * batchRows
	// batchMin is the fewest exact queries of a namespace scored together;
	// fewer are answered one by one, as the products' setup (the rows'
	// norms, one pass over the namespace) would cost more than it saves.
	batchMin = 4
)

// QueryBatch answers many queries in one call: out[i] is what
// [Store.QueryWith](ctx, qs[i], opts...) returns (the same matches, scores
// and order), but the exact scans of queries of the same namespace are
// computed together, as blocks of one matrix product, which is several
// times faster per query than scanning for each in turn. Queries that
// [WithHNSW]'s graph answers walk it, several at once. The work is shared by
// [WithParallelism] goroutines.
//
// Every query is checked first, as Query checks it; a bad one fails the call
// with an error naming its position ("query 3: …") and wrapping the same
// sentinel error. An empty qs gives an empty result. The call holds the
// store's read lock throughout, so writes wait for it to end.
func (s *Store) QueryBatch(ctx context.Context, qs []index.Query, opts ...QueryOption) ([][]index.Match, error) {
	qc, err := buildQueryConfig(opts)
	if err != nil {
		return nil, err
	}
	out, _, err := s.queryBatch(ctx, qs, qc)
	return out, err
}

// batchStats says how queryBatch answered its queries (for tests).
type batchStats struct {
	batched int // exact queries scored by the products
	rescans int // of those, scanned again alone as the bound did not settle them
}

func (s *Store) queryBatch(ctx context.Context, qs []index.Query, qc queryConfig) ([][]index.Match, batchStats, error) {
	var stats batchStats
	// The checks of begin that do not depend on a query; "" is a valid
	// namespace.
	if err := s.begin(ctx, ""); err != nil {
		return nil, stats, err
	}
	for i, q := range qs {
		if err := driver.ValidateNamespace(q.Namespace); err != nil {
			return nil, stats, fmt.Errorf("query %d: %w", i, err)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, stats, index.ErrClosed
	}
	vecs := make([][]float32, len(qs))
	for i, q := range qs {
		if err := driver.ValidateQuery(q, s.st.dimFor(q.Namespace)); err != nil {
			return nil, stats, fmt.Errorf("query %d: %w", i, err)
		}
		vecs[i] = q.Vector
		if s.cfg.metric == index.Cosine {
			inv, err := inverseNorm(q.Vector)
			if err != nil {
				return nil, stats, fmt.Errorf("query %d: query vector: %w", i, err)
			}
			v := slices.Clone(q.Vector)
			for j := range v {
				v[j] *= inv
			}
			vecs[i] = v
		}
	}

	// Exact scans go to the products, grouped by namespace; the rest
	// (graph walks, and namespaces with few queries) are answered one by
	// one, as Query answers them.
	best := make([][]vecmath.Scored, len(qs))
	groups := make(map[*space][]int)
	var order []*space // the groups in the order of their first query
	var single []int
	for i, q := range qs {
		sp := s.st.spaces[q.Namespace]
		switch {
		case sp == nil:
		case s.plan(sp, q.Filter, qc) == planGraph:
			single = append(single, i)
		default:
			if groups[sp] == nil {
				order = append(order, sp)
			}
			groups[sp] = append(groups[sp], i)
		}
	}
	for _, sp := range order {
		if len(groups[sp]) < batchMin {
			single = append(single, groups[sp]...)
			delete(groups, sp)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.workers)
	for _, i := range single {
		sp := s.st.spaces[qs[i].Namespace]
		g.Go(func() error {
			var err error
			best[i], err = s.answer(gctx, sp, vecs[i], qs[i], qc)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, stats, err
	}
	for _, sp := range order {
		idx := groups[sp]
		if idx == nil {
			continue
		}
		res, rescan, err := s.searchBatch(ctx, sp, idx, vecs, qs)
		if err != nil {
			return nil, stats, err
		}
		stats.batched += len(idx)
		stats.rescans += len(rescan)
		for j, i := range idx {
			best[i] = res[j]
		}
		for _, i := range rescan {
			if best[i], err = s.search(ctx, sp, vecs[i], qs[i].TopK, qs[i].Filter); err != nil {
				return nil, stats, err
			}
		}
	}

	out := make([][]index.Match, len(qs))
	for i, q := range qs {
		sp := s.st.spaces[q.Namespace]
		out[i] = make([]index.Match, len(best[i]))
		for j, b := range best[i] {
			m := index.Match{ID: sp.ids[b.Index], Score: b.Score, Metadata: sp.meta[b.Index].Clone()}
			if q.IncludeVectors {
				m.Vector = slices.Clone(sp.vector(b.Index))
			}
			out[i][j] = m
		}
	}
	return out, stats, nil
}

// batchSlack returns a bound on |approximate − exact| for every score of
// the query q (normalised under Cosine) in a namespace of dimension d whose
// largest vector norm is xmax: the approximate score is the product's (see
// searchBatch; under Euclidean shifted by ‖q‖², which the caller
// subtracts), the exact one scoreRange's.
//
// With u = 2⁻²⁴ and γ(m) = m·u/(1−m·u), a float32 sum of d products in any
// order, fused or not, is within γ(d)·Σ|qᵢxᵢ| ≤ γ(d)·‖q‖‖x‖ of the true dot
// product: the product's and the one-row kernel's alike, whatever order
// their SIMD lanes sum in (Σ(qᵢ−xᵢ)² likewise, within γ(d+2)·‖q−x‖²).
// Adding up both errors and the roundings of the few operations after the
// sums:
//
//   - DotProduct: ≤ 2·γ(d+8)·‖q‖·xmax;
//   - Cosine: the same with ‖x‖·inv ≤ 1+u in place of xmax: ≤ 2.1·γ(d+8)·‖q‖;
//   - Euclidean: 2q·x − ‖x‖² (‖x‖² by the one-row kernel) against −‖q−x‖²,
//     with 2‖q‖‖x‖, ‖x‖² and ‖q−x‖² each at most (‖q‖+xmax)²:
//     ≤ 2.6·γ(d+8)·(‖q‖+xmax)².
//
// The bound returned is 4·γ(d+8) times that scale, which also covers the
// float64 arithmetic of the check. Records' norms are at most
// driver.MaxVectorNorm, so no score overflows.
func (s *Store) batchSlack(q []float32, d int, xmax float64) float64 {
	gamma := roundoff(d + 8)
	qn := vecmath.Norm(q)
	var scale float64
	switch s.cfg.metric {
	case index.Cosine:
		scale = qn * (1 + 1e-6)
	case index.DotProduct:
		scale = qn * xmax
	default:
		scale = (qn + xmax) * (qn + xmax)
	}
	return 4 * gamma * scale
}

// roundoff is γ(m) = m·u/(1−m·u) for float32 (u = 2⁻²⁴): a float32 sum of
// m terms is within γ(m) times the sum of their magnitudes of the true sum.
func roundoff(m int) float64 {
	const u = 1.0 / (1 << 24)
	return float64(m) * u / (1 - float64(m)*u)
}

// searchBatch answers the exact queries idx of qs (vectors vecs, normalised
// under Cosine) on sp: res[j] is qs[idx[j]]'s answer, unless idx[j] is in
// rescan, the queries the error bound did not settle, which the caller
// scans again alone. The caller holds the read lock.
//
// Queries go in blocks of at most batchQueries, rows in chunks of at most
// batchChunk; the workers take (block, chunk) tasks in turn, each keeping
// its own candidates per query, merged at the end. Splitting both ways
// keeps both cores busy whether a call has many queries or a namespace many
// rows.
func (s *Store) searchBatch(ctx context.Context, sp *space, idx []int, vecs [][]float32, qs []index.Query) (res [][]vecmath.Scored, rescan []int, err error) {
	n, d, nq := sp.slotCount(), sp.dim, len(idx)
	metric := s.cfg.metric

	// The rows' squared norms (Euclidean) and the largest norm (for the
	// bound), by the one-row kernel.
	var sq []float32
	if metric == index.Euclidean {
		sq = make([]float32, n)
	}
	xmax := 1.0
	if metric != index.Cosine {
		xmax = 0
		parts := make([]float32, s.cfg.workers)
		g, gctx := errgroup.WithContext(ctx)
		for w := range parts {
			lo, hi := n*w/len(parts), n*(w+1)/len(parts)
			g.Go(func() error {
				var out [1]float32
				for i := lo; i < hi; i++ {
					if (i-lo)%batchChunk == 0 {
						if err := gctx.Err(); err != nil {
							return err
						}
					}
					row := sp.vector(i)
					vecmath.DotRows(row, row, out[:])
					if sq != nil {
						sq[i] = out[0]
					}
					parts[w] = max(parts[w], out[0])
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, nil, err
		}
		// The kernel's ‖x‖² is within a relative γ(d) of the true one.
		xmax = math.Sqrt(float64(slices.Max(parts)) * (1 + 2*roundoff(d)))
	}

	kc := make([]int, nq) // candidates per query
	for j, i := range idx {
		k := min(qs[i].TopK, sp.len())
		kc[j] = min(k+max(16, k), n)
	}
	// Rows in chunks, at least one per worker where there are rows enough;
	// queries in blocks, as many at a time (a wave) as keep every worker
	// busy, so that memory for candidates and transposed queries is that of
	// one wave.
	workers := s.cfg.workers
	chunks := max((n+batchChunk-1)/batchChunk, min(workers, (n+batchRows-1)/batchRows))
	if chunks >= workers { // a multiple of the workers, who then end together
		chunks = (chunks + workers - 1) / workers * workers
	}
	nb := (nq + batchQueries - 1) / batchQueries
	perWave := max(1, (workers+chunks-1)/chunks)
	res = make([][]vecmath.Scored, nq)
	for b0 := 0; b0 < nb; b0 += perWave {
		lo, hi := nq*b0/nb, nq*min(b0+perWave, nb)/nb
		w := batchWave{
			sp: sp, d: d, metric: metric, sq: sq, xmax: xmax, chunks: chunks,
			idx: idx[lo:hi], kc: kc[lo:hi], vecs: vecs, qs: qs,
		}
		for b := b0; b < min(b0+perWave, nb); b++ {
			w.addBlock(nq*b/nb-lo, nq*(b+1)/nb-lo)
		}
		again, err := s.scoreWave(ctx, &w, res[lo:hi])
		if err != nil {
			return nil, nil, err
		}
		rescan = append(rescan, again...)
	}
	return res, rescan, nil
}

// batchWave is the state of one wave of searchBatch: some blocks of its
// queries, scored over every chunk of rows.
type batchWave struct {
	sp     *space
	d      int
	metric index.Metric
	sq     []float32 // rows' squared norms, under Euclidean
	xmax   float64   // the largest row norm
	chunks int

	idx  []int // the wave's queries (indices into qs and vecs)
	kc   []int // candidates per query
	vecs [][]float32
	qs   []index.Query

	blocks []batchBlock
}

// batchBlock is queries lo..hi-1 of a wave, transposed (dim × width,
// zero-padded to a multiple of 16 columns, the kernel's tile) for the
// product to read in place.
type batchBlock struct {
	lo, hi, width int
	qt            []float32
}

func (w *batchWave) addBlock(lo, hi int) {
	width := (hi - lo + 15) &^ 15
	qt := make([]float32, w.d*width)
	for j := lo; j < hi; j++ {
		for p, x := range w.vecs[w.idx[j]] {
			qt[p*width+j-lo] = x
		}
	}
	w.blocks = append(w.blocks, batchBlock{lo, hi, width, qt})
}

// scoreWave scores w's queries on every row, into res (one per query), and
// returns the queries (indices into qs) that the bound did not settle.
func (s *Store) scoreWave(ctx context.Context, w *batchWave, res [][]vecmath.Scored) ([]int, error) {
	sp, d, nq, n := w.sp, w.d, len(w.idx), w.sp.slotCount()
	nb := len(w.blocks)
	tasks := nb * w.chunks
	workers := min(s.cfg.workers, tasks)

	// Each worker's candidates per query (nil until it first sees it),
	// with the score a row must reach to enter (the worst kept, or -Inf
	// while there is room), and a NaN flag per query.
	type cands struct {
		top []*vecmath.TopK
		thr []float32
	}
	perWorker := make([]cands, workers)
	nan := make([]atomic.Bool, nq)
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for wk := range perWorker {
		c := cands{top: make([]*vecmath.TopK, nq), thr: make([]float32, nq)}
		for j := range c.thr {
			c.thr[j] = float32(math.Inf(-1))
		}
		perWorker[wk] = c
		g.Go(func() error {
			var scores []float32
			for {
				t := int(next.Add(1) - 1)
				if t >= tasks {
					return nil
				}
				bl := w.blocks[t%nb]
				if len(scores) < batchRows*bl.width {
					scores = make([]float32, batchRows*bl.width)
				}
				for j := bl.lo; j < bl.hi; j++ {
					if c.top[j] == nil {
						c.top[j] = vecmath.NewTopK(w.kc[j], nil)
					}
				}
				thr := c.thr[bl.lo:bl.hi]
				lo, hi := n*(t/nb)/w.chunks, n*(t/nb+1)/w.chunks
				for start := lo; start < hi; start += batchRows {
					if err := gctx.Err(); err != nil {
						return err
					}
					m := min(batchRows, hi-start)
					// scores[r][j] = row start+r · query bl.lo+j
					vecmath.Sgemm(false, false, m, bl.width, d, sp.vecs[start*d:(start+m)*d], d, bl.qt, bl.width, true, scores, bl.width)
					for r := range m {
						slot := start + r
						row := scores[r*bl.width : r*bl.width+len(thr)]
						th := thr[:len(row)] // no bounds checks in the loop
						var scale, shift float32 = 1, 0
						switch w.metric {
						case index.Cosine:
							scale = sp.inv[slot]
						case index.Euclidean:
							scale, shift = 2, w.sq[slot]
						}
						for jj, x := range row {
							a := x*scale - shift
							if a < th[jj] {
								continue
							}
							j := bl.lo + jj
							if a != a {
								nan[j].Store(true)
								continue
							}
							if sp.ids[slot] == "" { // a graph's tombstone
								continue
							}
							if f := w.qs[w.idx[j]].Filter; !f.IsZero() && !f.Match(sp.meta[slot]) {
								continue
							}
							c.top[j].Push(slot, a)
							if worst, full := c.top[j].Threshold(); full {
								th[jj] = worst
							}
						}
					}
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	// Merge each query's candidates, score them exactly, keep the best k
	// and check that no record left out can reach the k-th.
	byID := func(a, b int) bool { return sp.ids[a] < sp.ids[b] }
	var (
		mu     sync.Mutex
		rescan []int
	)
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.workers)
	for j, i := range w.idx {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			all := vecmath.NewTopK(w.kc[j], nil)
			for _, c := range perWorker {
				if c.top[j] != nil {
					all.Merge(c.top[j])
				}
			}
			k := min(w.qs[i].TopK, sp.len())
			top := vecmath.NewTopK(k, byID)
			vec := w.vecs[i]
			for _, c := range all.Sorted() {
				if e := s.exactScore(sp, vec, c.Index); e == e {
					top.Push(c.Index, e)
				}
			}
			res[j] = top.Sorted()
			worst, full := all.Threshold()
			settled := !nan[j].Load()
			if settled && full {
				kth := math.Inf(-1)
				if len(res[j]) == k {
					kth = float64(res[j][k-1].Score)
				}
				bound := float64(worst)
				if w.metric == index.Euclidean {
					qn := vecmath.Norm(vec)
					bound -= qn * qn
				}
				settled = bound+s.batchSlack(vec, d, w.xmax) < kth
			}
			if !settled {
				mu.Lock()
				rescan = append(rescan, i)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.Sort(rescan)
	return rescan, nil
}
