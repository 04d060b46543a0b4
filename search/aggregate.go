package search

import (
	"cmp"
	"context"
	"math"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// gather asks the store for the need best items near vec that are not
// excluded. It over-fetches by the number of excluded IDs and, should the
// store still return a full page with fewer than need unseen items, doubles
// the request until it has enough, the namespace is exhausted or
// index.MaxTopK is reached. The matches keep the store's order.
func (s *Searcher) gather(ctx context.Context, vec []float32, need int, cfg *config,
	excluded map[string]struct{}, withVectors bool, dim int) ([]index.Match, error) {
	k := min(need+len(excluded), index.MaxTopK)
	for {
		ms, err := s.store.Query(ctx, index.Query{
			Namespace:      s.namespace,
			Vector:         vec,
			TopK:           k,
			Filter:         cfg.filter,
			IncludeVectors: withVectors,
		})
		if err != nil {
			return nil, errorf(nil, "query namespace %q: %w", s.namespace, err)
		}
		kept := make([]index.Match, 0, min(len(ms), need))
		seen := make(map[string]struct{}, min(len(ms), need))
		for _, m := range ms {
			if _, ex := excluded[m.ID]; ex {
				continue
			}
			if _, dup := seen[m.ID]; dup {
				continue
			}
			if withVectors {
				if m.Vector == nil {
					return nil, errorf(nil, "store returned match %q of namespace %q without the vector it was asked for", m.ID, s.namespace)
				}
				if len(m.Vector) != dim {
					return nil, errorf(nil, "namespace %q holds %d-dim vectors (record %q), the bucket %d-dim ones: %w",
						s.namespace, len(m.Vector), m.ID, dim, index.ErrDimension)
				}
			}
			seen[m.ID] = struct{}{}
			kept = append(kept, m)
			if len(kept) == need {
				return kept, nil
			}
		}
		if len(ms) < k || k >= index.MaxTopK {
			return kept, nil // namespace exhausted, or as deep as a query goes
		}
		k = min(2*k, index.MaxTopK)
	}
}

// searchMean runs the one combined query of the Mean aggregation.
func (s *Searcher) searchMean(ctx context.Context, b *resolved, cfg config, excluded map[string]struct{}) ([]Result, error) {
	q, err := s.meanQuery(b, cfg.negWeight)
	if err != nil {
		return nil, err
	}
	ms, err := s.gather(ctx, q, cfg.topK, &cfg, excluded, cfg.includeVectors, b.dim)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(ms))
	for i, m := range ms {
		out[i] = Result{ID: m.ID, Score: m.Score, Metadata: m.Metadata, Positive: -1}
		if cfg.includeVectors {
			out[i].Vector = m.Vector
		}
	}
	sortResults(out)
	return out, nil
}

// meanQuery builds the Mean aggregation's query vector (see [Mean]).
func (s *Searcher) meanQuery(b *resolved, w float64) ([]float32, error) {
	normalize := s.defaults.metric != index.Euclidean
	sum := make([]float64, b.dim)
	addMean(sum, b.pos, normalize, 1)
	if len(b.neg) > 0 {
		addMean(sum, b.neg, normalize, -w)
		if s.defaults.metric == index.Euclidean {
			for i := range sum {
				sum[i] /= 1 - w
			}
		}
	}
	q := make([]float32, b.dim)
	var norm float64
	for i, x := range sum {
		q[i] = float32(x)
		norm += x * x
	}
	if vecmath.Finite(q) >= 0 {
		return nil, errorf(nil, "%w: the combined query vector overflows", ErrInvalidBucket)
	}
	if normalize && math.Sqrt(norm) < 1e-6 {
		return nil, errorf(nil, "%w: under the %v metric the mean of the positives, less the weighted mean of the negatives, is the zero vector", ErrInvalidBucket, s.defaults.metric)
	}
	return q, nil
}

// addMean adds weight × the mean of vecs (each normalised first if asked)
// to sum.
func addMean(sum []float64, vecs [][]float32, normalize bool, weight float64) {
	for _, v := range vecs {
		scale := weight / float64(len(vecs))
		if normalize {
			n := vecmath.Norm(v)
			if n == 0 {
				continue
			}
			scale /= n
		}
		for i, x := range v {
			sum[i] += scale * float64(x)
		}
	}
}

// candidate is an item found by one or more per-positive queries.
type candidate struct {
	match   index.Match
	vec     []float32 // prepared for similarity (unit under Cosine); nil without vectors
	penalty float32   // negative weight × similarity to the nearest negative
}

// searchPerPositive runs the Max and RRF aggregations: one query per
// positive, then merge and re-score.
func (s *Searcher) searchPerPositive(ctx context.Context, b *resolved, cfg config, excluded map[string]struct{}) ([]Result, error) {
	hasNeg := len(b.neg) > 0
	withVectors := hasNeg || cfg.includeVectors
	need := cfg.candidates
	if need == 0 {
		need = cfg.topK
		if hasNeg {
			need = min(DefaultCandidatesFactor*cfg.topK, index.MaxTopK)
		}
	}
	need = max(need, cfg.topK)

	lists := make([][]index.Match, len(b.pos))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.concurrency)
	for i, p := range b.pos {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			ms, err := s.gather(gctx, p, need, &cfg, excluded, withVectors, b.dim)
			lists[i] = ms
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Merge the lists into unique candidates, in first-seen order.
	sim := s.similarity()
	prep := s.prepare
	var pos, neg [][]float32
	if hasNeg {
		pos = mapSlice(b.pos, prep)
		neg = mapSlice(b.neg, prep)
	}
	cands := make(map[string]*candidate)
	for _, l := range lists {
		for _, m := range l {
			if _, ok := cands[m.ID]; ok {
				continue
			}
			c := &candidate{match: m}
			if hasNeg {
				c.vec = prep(m.Vector)
				nearest := float32(math.Inf(-1))
				for _, n := range neg {
					nearest = max(nearest, sim(c.vec, n))
				}
				c.penalty = float32(cfg.negWeight) * nearest
			}
			cands[m.ID] = c
		}
	}

	var out []Result
	if cfg.agg == Max {
		out = scoreMax(lists, cands, pos, sim)
	} else {
		out = scoreRRF(lists, cands, pos, sim, cfg.rrfK)
	}
	for i := range out {
		c := cands[out[i].ID]
		out[i].Metadata = c.match.Metadata
		if cfg.includeVectors {
			out[i].Vector = c.match.Vector
		}
	}
	sortResults(out)
	if len(out) > cfg.topK {
		out = out[:cfg.topK]
	}
	return out, nil
}

// scoreMax scores each candidate by its greatest similarity to a positive,
// less its penalty. Without negatives (pos == nil) it takes the store's
// scores: an item's best positive is always one whose list holds it when the
// item can reach the top (each list holds at least TopK items), so the
// result is exact without fetching vectors.
func scoreMax(lists [][]index.Match, cands map[string]*candidate, pos [][]float32, sim func(a, b []float32) float32) []Result {
	out := make([]Result, 0, len(cands))
	if pos != nil {
		for id, c := range cands {
			r := Result{ID: id, Score: float32(math.Inf(-1)), Penalty: c.penalty}
			for i, p := range pos {
				if sc := sim(c.vec, p); sc > r.Score {
					r.Score, r.Positive = sc, i
				}
			}
			r.Score -= c.penalty
			out = append(out, r)
		}
		return out
	}
	at := make(map[string]int, len(cands))
	for i, l := range lists {
		for _, m := range l {
			j, ok := at[m.ID]
			if !ok {
				at[m.ID] = len(out)
				out = append(out, Result{ID: m.ID, Score: m.Score, Positive: i})
				continue
			}
			if m.Score > out[j].Score {
				out[j].Score, out[j].Positive = m.Score, i
			}
		}
	}
	return out
}

// scoreRRF fuses the per-positive lists by reciprocal rank. With negatives
// (pos != nil) each list is first re-ranked by similarity to its positive
// less the candidate's penalty; without, by the store's score. Ties are
// broken by ID so that ranks do not depend on the store's order.
func scoreRRF(lists [][]index.Match, cands map[string]*candidate, pos [][]float32, sim func(a, b []float32) float32, k float64) []Result {
	type entry struct {
		id  string
		key float32
	}
	fused := make(map[string]float64, len(cands))
	bestRank := make(map[string][2]int, len(cands)) // rank, positive
	for i, l := range lists {
		es := make([]entry, len(l))
		for j, m := range l {
			es[j] = entry{m.ID, m.Score}
			if pos != nil {
				c := cands[m.ID]
				es[j].key = sim(c.vec, pos[i]) - c.penalty
			}
		}
		slices.SortFunc(es, func(a, b entry) int {
			if a.key != b.key {
				return cmp.Compare(b.key, a.key)
			}
			return cmp.Compare(a.id, b.id)
		})
		for r, e := range es {
			rank := r + 1
			fused[e.id] += 1 / (k + float64(rank))
			if br, ok := bestRank[e.id]; !ok || rank < br[0] {
				bestRank[e.id] = [2]int{rank, i}
			}
		}
	}
	out := make([]Result, 0, len(fused))
	for id, f := range fused {
		out = append(out, Result{ID: id, Score: float32(f), Positive: bestRank[id][1], Penalty: cands[id].penalty})
	}
	return out
}

// similarity returns the local similarity of two prepared vectors under the
// Searcher's metric, on the store's scale: cosine (dot of unit vectors),
// dot product, or −squared L2.
func (s *Searcher) similarity() func(a, b []float32) float32 {
	if s.defaults.metric == index.Euclidean {
		return func(a, b []float32) float32 { return -vecmath.SquaredL2(a, b) }
	}
	return vecmath.Dot
}

// prepare readies a vector for similarity: a unit copy under Cosine, the
// vector itself otherwise.
func (s *Searcher) prepare(v []float32) []float32 {
	if s.defaults.metric == index.Cosine {
		return vecmath.Normalized(v)
	}
	return v
}

func mapSlice(vs [][]float32, f func([]float32) []float32) [][]float32 {
	out := make([][]float32, len(vs))
	for i, v := range vs {
		out[i] = f(v)
	}
	return out
}
