package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// searchBlock is how many rows are scored per kernel call (and per check of
// ctx): small enough for the scores to stay in L1, large enough to amortise
// the call.
const searchBlock = 256

// Query returns the q.TopK records of q.Namespace nearest to q.Vector among
// those q.Filter matches, best first, by exact (exhaustive) search. Scores
// follow [index.Metric]: cosine similarity, dot product or the negated
// squared Euclidean distance. Records with equal scores rank by ID, the
// smaller (byte-wise) first, so the same contents and query give the same
// matches whatever the order of the writes. A namespace that does not exist
// yields no matches. A large namespace is searched by several goroutines (see
// [WithParallelism] and [WithParallelThreshold]). With [WithHNSW], an
// unfiltered query of a large namespace walks its graph instead (approximate).
func (s *Store) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	return s.query(ctx, q, queryConfig{})
}

func (s *Store) query(ctx context.Context, q index.Query, qc queryConfig) ([]index.Match, error) {
	if err := s.begin(ctx, q.Namespace); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, index.ErrClosed
	}
	if err := driver.ValidateQuery(q, s.st.dimFor(q.Namespace)); err != nil {
		return nil, err
	}
	vec := q.Vector
	if s.cfg.metric == index.Cosine {
		inv, err := inverseNorm(vec)
		if err != nil {
			return nil, fmt.Errorf("query vector: %w", err)
		}
		vec = slices.Clone(vec)
		for i := range vec {
			vec[i] *= inv
		}
	}
	sp := s.st.spaces[q.Namespace]
	if sp == nil {
		return []index.Match{}, nil
	}
	best, err := s.answer(ctx, sp, vec, q, qc)
	if err != nil {
		return nil, err
	}
	out := make([]index.Match, len(best))
	for i, b := range best {
		m := index.Match{ID: sp.ids[b.Index], Score: b.Score, Metadata: sp.meta[b.Index].Clone()}
		if q.IncludeVectors {
			m.Vector = slices.Clone(sp.vector(b.Index))
		}
		out[i] = m
	}
	return out, nil
}

// answer is what Query does with a checked query whose vector (normalised
// under Cosine) is vec, on its namespace sp: it walks the graph or scans, as
// plan says. The caller holds the read lock.
func (s *Store) answer(ctx context.Context, sp *space, vec []float32, q index.Query, qc queryConfig) ([]vecmath.Scored, error) {
	if s.plan(sp, q.Filter, qc) != planGraph {
		return s.search(ctx, sp, vec, q.TopK, q.Filter)
	}
	best, err := s.searchGraph(ctx, sp, vec, q.TopK, cmp.Or(qc.efSearch, s.cfg.hnsw.efSearch), q.Filter)
	if err == nil && len(best) < min(q.TopK, sp.len()) && !q.Filter.IsZero() {
		// The graph found fewer matches than asked for: there may be
		// more, and the scan finds them all.
		return s.search(ctx, sp, vec, q.TopK, q.Filter)
	}
	return best, err
}

// exactScore is slot i's score against q as Store.scoreRange computes it.
func (s *Store) exactScore(sp *space, q []float32, i int) float32 {
	row := sp.vector(i)
	switch s.cfg.metric {
	case index.Cosine:
		return min(max(dotRow(q, row)*sp.inv[i], -1), 1)
	case index.DotProduct:
		return dotRow(q, row)
	default:
		return -l2Row(q, row)
	}
}

// search scores every record of sp against q (normalised under Cosine) and
// returns the k best that f matches. The caller holds the read lock.
func (s *Store) search(ctx context.Context, sp *space, q []float32, k int, f index.Filter) ([]vecmath.Scored, error) {
	n := sp.slotCount()
	k = min(k, sp.len())
	workers := 1
	if n >= s.cfg.parallelRows {
		workers = min(s.cfg.workers, n)
	}
	// Equal scores rank by ID, not by slot, so results do not depend on
	// where records sit (the order of writes and deletes) nor on how the
	// query is split across goroutines.
	byID := func(a, b int) bool { return sp.ids[a] < sp.ids[b] }
	if workers == 1 {
		top := vecmath.NewTopK(k, byID)
		if err := s.scoreRange(ctx, sp, q, f, 0, n, top); err != nil {
			return nil, err
		}
		return top.Sorted(), nil
	}
	tops := make([]*vecmath.TopK, workers)
	g, gctx := errgroup.WithContext(ctx)
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		tops[w] = vecmath.NewTopK(k, byID)
		g.Go(func() error { return s.scoreRange(gctx, sp, q, f, lo, hi, tops[w]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, t := range tops[1:] {
		tops[0].Merge(t)
	}
	return tops[0].Sorted(), nil
}

// scoreRange offers the records in slots [lo, hi) that f matches to top.
// The filter is evaluated only for records that score well enough to enter.
func (s *Store) scoreRange(ctx context.Context, sp *space, q []float32, f index.Filter, lo, hi int, top *vecmath.TopK) error {
	var scores [searchBlock]float32
	d := sp.dim
	filtered := !f.IsZero()
	threshold, full := top.Threshold()
	for start := lo; start < hi; start += searchBlock {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(searchBlock, hi-start)
		out := scores[:m]
		rows := sp.vecs[start*d : (start+m)*d]
		switch s.cfg.metric {
		case index.Cosine:
			vecmath.DotRows(q, rows, out)
			for i, x := range sp.inv[start : start+m] {
				// Clamped before ranking, as rounding may step just
				// outside [-1, 1], so that a clamped tie ranks by ID too.
				out[i] = min(max(out[i]*x, -1), 1)
			}
		case index.DotProduct:
			vecmath.DotRows(q, rows, out)
		default:
			vecmath.SquaredL2Rows(q, rows, out)
			for i := range out {
				out[i] = -out[i]
			}
		}
		for i, score := range out {
			// A tie with the worst kept record may still enter, by its ID.
			// NaN, from overflowing sums, never enters.
			if full && score < threshold || score != score {
				continue
			}
			if sp.ids[start+i] == "" { // a graph's tombstone
				continue
			}
			if filtered && !f.Match(sp.meta[start+i]) {
				continue
			}
			top.Push(start+i, score)
			threshold, full = top.Threshold()
		}
	}
	return nil
}

// A query plan: how [Store.Query] answers a query.
type plan int

const (
	planScan  plan = iota // score every record
	planGraph             // walk the namespace's graph
)

// graphSelectivity is the smallest share of records a filter may match for
// a filtered query to walk the graph, keeping the matches it passes: below
// it the walk would pass through too many non-matching nodes to be faster
// than scanning (measured in BenchmarkFilteredQuery), and the scan is exact.
const graphSelectivity = 0.05

// selectivitySample is how many records (evenly spaced slots) estimate the
// share a filter matches.
const selectivitySample = 512

// plan picks how to answer a query of sp with filter f: the graph when sp
// has one and is at the threshold, the query does not ask for an exact
// scan, and f is empty or matches at least graphSelectivity of a sample of
// the records; the scan otherwise.
func (s *Store) plan(sp *space, f index.Filter, qc queryConfig) plan {
	if sp.g == nil || qc.exact || sp.len() < s.cfg.hnsw.threshold {
		return planScan
	}
	if f.IsZero() {
		return planGraph
	}
	n := sp.slotCount()
	step := max(n/selectivitySample, 1)
	seen, matched := 0, 0
	for i := 0; i < n; i += step {
		if sp.ids[i] == "" {
			continue
		}
		seen++
		if f.Match(sp.meta[i]) {
			matched++
		}
	}
	if seen == 0 || float64(matched) < graphSelectivity*float64(seen) {
		return planScan
	}
	return planGraph
}
