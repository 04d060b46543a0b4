package feedback

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
	"github.com/shoalhq/shoal/search"
)

// guardFolds is the number of cross-validation folds of the guard.
const guardFolds = 5

// guardMinMarks is the number of marks of each class, outside the bucket,
// the guard needs before it compares the rankings.
const guardMinMarks = 3

// rrfConstant is the k of the reciprocal-rank fusion of a Blend round.
const rrfConstant = 60

// Results returns the next k items of the pool that the session has not
// shown yet and that are not marked (nor named by the bucket), best first,
// and records them as a new [Round]. Round 0, and any round before the
// first mark, ranks by plain similarity to the bucket (package search).
// Later rounds fit the reranker on the marks so far and rank by it, by the
// similarity, or by both blended, as the guard decides; Rounds reports
// which. Fewer than k items come back when the pool runs out.
//
// k must be 1 to index.MaxTopK. A cancelled ctx ends the call with its
// error and records no round.
func (s *Session) Results(ctx context.Context, k int) ([]Result, error) {
	if ctx == nil {
		return nil, errorf(index.ErrInvalidArgument, "Results: nil context")
	}
	if k < 1 || k > index.MaxTopK {
		return nil, errorf(ErrInvalidOption, "Results: k %d out of range [1, %d]", k, index.MaxTopK)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.run.Lock()
	defer s.run.Unlock()
	start := time.Now()
	bk, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	snap := s.snapshot()
	round := Round{Index: snap.round, ClassifierAUC: math.NaN(), SimilarityAUC: math.NaN()}
	var out []Result
	if len(snap.marks) == 0 {
		round.Strategy, round.Reason = Similarity, "no marks yet: plain similarity to the bucket"
		out, err = s.similar(ctx, snap, k)
	} else {
		var m *model
		m, err = s.fit(ctx, bk, snap)
		if err != nil {
			return nil, err
		}
		round.Strategy, round.Reason = m.strategy, m.reason
		round.TrainedRelevant, round.TrainedNotRelevant = m.nRel, m.nNotRel
		round.Checked, round.ClassifierAUC, round.SimilarityAUC = m.checked, m.clfAUC, m.simAUC
		if round.Strategy == Similarity {
			out, err = s.similar(ctx, snap, k)
		} else {
			out, err = s.reranked(ctx, bk, snap, m, k, false)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	round.IDs = make([]string, len(out))
	for i, r := range out {
		round.IDs[i] = r.ID
	}
	round.Elapsed = time.Since(start)
	s.mu.Lock()
	s.rounds = append(s.rounds, round)
	for _, id := range round.IDs {
		s.shown[id] = struct{}{}
	}
	s.mu.Unlock()
	return out, nil
}

// Suggest returns up to n unseen items whose marks would teach the
// reranker most: those it is least sure about, whose decision value is
// nearest 0 (uncertainty sampling), most uncertain first, with Score the
// decision value. Suggestions are kept apart from the rounds: they are not
// recorded as shown, do not count in any round's precision, and may come
// back in a later round's results if left unmarked; marking them trains
// the reranker like any other mark. Before any mark the reranker is fitted
// on the bucket (and the background sample) alone.
//
// The candidates are those a round would gather (the whole unseen pool
// when it is small enough to scan; otherwise the best of the reranker's and
// the similarity's rankings, see [WithCandidates]). n must be 1 to
// index.MaxTopK.
func (s *Session) Suggest(ctx context.Context, n int) ([]Result, error) {
	if ctx == nil {
		return nil, errorf(index.ErrInvalidArgument, "Suggest: nil context")
	}
	if n < 1 || n > index.MaxTopK {
		return nil, errorf(ErrInvalidOption, "Suggest: n %d out of range [1, %d]", n, index.MaxTopK)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.run.Lock()
	defer s.run.Unlock()
	bk, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	snap := s.snapshot()
	m, err := s.fit(ctx, bk, snap)
	if err != nil {
		return nil, err
	}
	return s.reranked(ctx, bk, snap, m, n, true)
}

// snapshot is the state a ranking works from.
type snapshot struct {
	version  uint64
	round    int
	marks    []markView
	excluded []string // shown or marked
}

type markView struct {
	id       string
	relevant bool
	vec      []float32
}

func (s *Session) snapshot() snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := snapshot{version: s.version, round: len(s.rounds), marks: make([]markView, len(s.order))}
	for i, id := range s.order {
		e := s.marks[id]
		snap.marks[i] = markView{id, e.relevant, e.vec}
	}
	snap.excluded = make([]string, 0, len(s.shown)+len(s.order))
	for id := range s.shown {
		snap.excluded = append(snap.excluded, id)
	}
	for _, id := range s.order {
		if _, ok := s.shown[id]; !ok {
			snap.excluded = append(snap.excluded, id)
		}
	}
	slices.Sort(snap.excluded)
	return snap
}

// resolvedBucket is the bucket turned into prepared vectors.
type resolvedBucket struct {
	pos, neg       [][]float32
	posIDs, negIDs []string // "" for an example not given by ID
	ids            map[string]struct{}
	sim            *similarity
}

// resolve fetches the bucket's examples given by ID and embeds those given
// by input, once per session.
func (s *Session) resolve(ctx context.Context) (*resolvedBucket, error) {
	s.mu.Lock()
	bk := s.bk
	s.mu.Unlock()
	if bk != nil {
		return bk, nil
	}
	vecs, err := s.searcher.Resolve(ctx, s.bucket) // errors name the example
	if err != nil {
		return nil, err
	}
	bk = &resolvedBucket{ids: make(map[string]struct{})}
	for _, e := range slices.Concat(s.bucket.Positives, s.bucket.Negatives) {
		if e.ID != "" {
			bk.ids[e.ID] = struct{}{}
		}
	}
	for i, v := range vecs.Positives {
		bk.pos, bk.posIDs = append(bk.pos, s.prepare(v)), append(bk.posIDs, s.bucket.Positives[i].ID)
	}
	for i, v := range vecs.Negatives {
		bk.neg, bk.negIDs = append(bk.neg, s.prepare(v)), append(bk.negIDs, s.bucket.Negatives[i].ID)
	}
	bk.sim = newSimilarity(s.cfg.metric, s.cfg.agg, bk.pos, bk.neg, search.DefaultNegativeWeight)
	s.mu.Lock()
	s.bk = bk
	s.mu.Unlock()
	return bk, nil
}

// similarity scores prepared vectors by the plain bucket similarity, on
// the scale and in the order of package search's aggregations (RRF, which
// has no per-item score, is scored as Max).
type similarity struct {
	metric   index.Metric
	mean     bool
	q        []float32 // Mean: the combined query (unit under Cosine)
	pos, neg [][]float32
	w        float32
}

func newSimilarity(metric index.Metric, agg search.Aggregation, pos, neg [][]float32, w float64) *similarity {
	sim := &similarity{metric: metric, mean: agg == search.Mean, pos: pos, neg: neg, w: float32(w)}
	if !sim.mean {
		return sim
	}
	dim := len(pos[0])
	sum := make([]float64, dim)
	add := func(vs [][]float32, weight float64) {
		for _, v := range vs {
			scale := weight / float64(len(vs))
			if metric != index.Euclidean {
				n := vecmath.Norm(v)
				if n == 0 {
					continue
				}
				scale /= n
			}
			for j, x := range v {
				sum[j] += scale * float64(x)
			}
		}
	}
	add(pos, 1)
	if len(neg) > 0 {
		add(neg, -w)
		if metric == index.Euclidean {
			for j := range sum {
				sum[j] /= 1 - w
			}
		}
	}
	sim.q = make([]float32, dim)
	for j, x := range sum {
		sim.q[j] = float32(x)
	}
	if metric == index.Cosine {
		vecmath.Normalize(sim.q)
	}
	return sim
}

// pair returns the similarity of two prepared vectors under the metric.
func (m *similarity) pair(a, b []float32) float32 {
	if m.metric == index.Euclidean {
		return -vecmath.SquaredL2(a, b)
	}
	return vecmath.Dot(a, b)
}

// score returns the similarity of a prepared vector to the bucket.
func (m *similarity) score(x []float32) float32 {
	if m.mean {
		return m.pair(x, m.q)
	}
	best := float32(math.Inf(-1))
	for _, p := range m.pos {
		best = max(best, m.pair(x, p))
	}
	if len(m.neg) > 0 {
		nearest := float32(math.Inf(-1))
		for _, n := range m.neg {
			nearest = max(nearest, m.pair(x, n))
		}
		best -= m.w * nearest
	}
	return best
}

// background is the sample of the pool taken as not relevant.
type background struct {
	ids  []string
	vecs [][]float32 // prepared
}

// backgroundSeed seeds the hash that draws the background sample, so a
// session's sample is reproducible.
const backgroundSeed = 0x5348_4f41_4c42_4721

// idHash is a seeded 64-bit hash of an ID (FNV-1a, finished with the
// splitmix64 mixer): the background sample is the records of smallest
// hash, which depends on the pool's IDs only, never on the order in which
// a store's Scan yields them.
func idHash(seed uint64, id string) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// hashed is a record of the background sample with its hash.
type hashed struct {
	h   uint64
	id  string
	vec []float32
}

// lessHashed orders by hash, then by ID (equal hashes are possible).
func lessHashed(a, b hashed) int {
	if c := cmp.Compare(a.h, b.h); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// loadBackground draws the background sample once per session: the
// cfg.background records of the pool of smallest seeded ID hash (a
// uniform sample that depends only on which IDs the pool holds, not on
// the scan order), sorted by ID; or, for a resumed session, the saved IDs
// (those still stored).
func (s *Session) loadBackground(ctx context.Context) (*background, error) {
	s.mu.Lock()
	bg := s.bg
	s.mu.Unlock()
	if bg != nil && bg.vecs != nil {
		return bg, nil
	}
	out := &background{vecs: [][]float32{}}
	switch {
	case bg != nil: // resumed: the saved sample
		if len(bg.ids) > 0 {
			recs, err := s.store.Fetch(ctx, s.namespace, bg.ids)
			if err != nil {
				return nil, errorf(nil, "fetch background sample from namespace %q: %w", s.namespace, err)
			}
			slices.SortFunc(recs, func(a, b index.Record) int { return cmp.Compare(a.ID, b.ID) })
			for _, r := range recs {
				out.ids = append(out.ids, r.ID)
				out.vecs = append(out.vecs, s.prepare(r.Vector))
			}
		}
	case s.cfg.background > 0:
		ids, vecs, err := sampleBackground(ctx, s.store, s.namespace, s.cfg.filter, s.cfg.background, s.prepare)
		if err != nil {
			return nil, err
		}
		out.ids = ids
		if vecs != nil {
			out.vecs = vecs
		}
	}
	s.mu.Lock()
	s.bg = out
	s.mu.Unlock()
	return out, nil
}

// SampleBackground returns the IDs of the background sample that a session
// over namespace of store with filter f and [WithBackground](n) draws: the
// n matching records whose IDs have the smallest seeded hash, sorted by ID.
// It reads the namespace with one Scan. Pass the IDs to many sessions with
// [WithBackgroundSample] to draw the sample once.
func SampleBackground(ctx context.Context, store index.VectorStore, namespace string, f index.Filter, n int) ([]string, error) {
	switch {
	case ctx == nil:
		return nil, errorf(index.ErrInvalidArgument, "SampleBackground: nil context")
	case store == nil:
		return nil, errorf(index.ErrInvalidArgument, "SampleBackground: nil store")
	case n < 0 || n > MaxBackground:
		return nil, errorf(ErrInvalidOption, "SampleBackground: n %d out of range [0, %d]", n, MaxBackground)
	}
	ids, _, err := sampleBackground(ctx, store, namespace, f, n, nil)
	return ids, err
}

// sampleBackground draws the bottom-n-by-hash sample of the pool in one
// Scan, sorted by ID; with prepare, it also returns the prepared vectors.
func sampleBackground(ctx context.Context, store index.VectorStore, namespace string, f index.Filter, n int, prepare func([]float32) []float32) ([]string, [][]float32, error) {
	if n == 0 {
		return nil, nil, nil
	}
	// A max-heap of the n smallest hashes so far.
	heap := make([]hashed, 0, n)
	for rec, err := range store.Scan(ctx, namespace, f) {
		if err != nil {
			return nil, nil, errorf(nil, "sample the background of namespace %q: %w", namespace, err)
		}
		e := hashed{h: idHash(backgroundSeed, rec.ID), id: rec.ID}
		if len(heap) == n && lessHashed(e, heap[0]) >= 0 {
			continue
		}
		if prepare != nil {
			e.vec = prepare(rec.Vector)
		}
		if len(heap) < n {
			heap = append(heap, e)
			siftUp(heap, len(heap)-1)
		} else {
			heap[0] = e
			siftDown(heap, 0)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(heap, func(a, b hashed) int { return cmp.Compare(a.id, b.id) })
	ids := make([]string, len(heap))
	var vecs [][]float32
	for i, e := range heap {
		ids[i] = e.id
		if prepare != nil {
			vecs = append(vecs, e.vec)
		}
	}
	return ids, vecs, nil
}

// model is a reranker fitted on one version of the marks, with the
// guard's verdict.
type model struct {
	version        uint64
	reranker       Reranker
	strategy       Strategy
	reason         string
	checked        bool
	clfAUC, simAUC float64
	nRel, nNotRel  int
	centroid       []float32 // mean of the relevant training vectors
	radius         float64   // largest norm of a training vector
}

// example is a training vector; fold is its cross-validation fold for a
// mark the guard evaluates on, -1 for a vector always trained on.
type example struct {
	vec        []float32
	relevant   bool
	fold       int
	background bool
}

// fit fits the reranker on the marks of snap (cached per marks version)
// and, when there are marks, runs the guard.
func (s *Session) fit(ctx context.Context, bk *resolvedBucket, snap snapshot) (*model, error) {
	s.mu.Lock()
	cached := s.cache
	s.mu.Unlock()
	if cached != nil && cached.version == snap.version {
		return cached, nil
	}
	bg, err := s.loadBackground(ctx)
	if err != nil {
		return nil, err
	}
	marked := make(map[string]struct{}, len(snap.marks))
	for _, m := range snap.marks {
		marked[m.id] = struct{}{}
	}
	var exs []example
	for c, vecs := range [2][][]float32{bk.pos, bk.neg} {
		ids := [2][]string{bk.posIDs, bk.negIDs}[c]
		for i, v := range vecs {
			if _, ok := marked[ids[i]]; ok && ids[i] != "" {
				continue // the mark overrides the bucket
			}
			exs = append(exs, example{vec: v, relevant: c == 0, fold: -1})
		}
	}
	var evalPos, evalNeg int
	for _, m := range snap.marks {
		fold := -1
		if _, inBucket := bk.ids[m.id]; !inBucket {
			fold = 0 // evaluated by the guard; the fold is set below
			if m.relevant {
				evalPos++
			} else {
				evalNeg++
			}
		}
		exs = append(exs, example{vec: m.vec, relevant: m.relevant, fold: fold})
	}
	for i, v := range bg.vecs {
		if _, ok := marked[bg.ids[i]]; ok {
			continue
		}
		if _, ok := bk.ids[bg.ids[i]]; ok {
			continue
		}
		exs = append(exs, example{vec: v, relevant: false, fold: -1, background: true})
	}

	m := &model{version: snap.version, clfAUC: math.NaN(), simAUC: math.NaN()}
	m.reranker, m.nRel, m.nNotRel, err = s.fitExamples(ctx, exs, -1)
	if err != nil {
		return nil, err
	}
	// The background is unlabeled, not judged: some of it is relevant.
	// Keep only reliable negatives (as in positive-unlabeled learning):
	// drop the background items the first fit scores as relevant, and fit
	// again.
	if kept := reliableNegatives(m.reranker, exs); len(kept) < len(exs) {
		exs = kept
		m.reranker, m.nRel, m.nNotRel, err = s.fitExamples(ctx, exs, -1)
		if err != nil {
			return nil, err
		}
	}
	m.centroid, m.radius = centroidAndRadius(exs)

	switch {
	case len(snap.marks) == 0:
		m.strategy, m.reason = Similarity, "no marks yet: plain similarity to the bucket"
	case !s.cfg.guard:
		m.strategy, m.reason = Classifier, "guard off: the reranker"
	case evalNeg < guardMinMarks && evalPos >= guardMinMarks:
		// What the similarity showed is (nearly) all relevant: nothing to
		// correct, and nothing to check the reranker on. Hedge: the two
		// rankings rarely err on the same items.
		m.strategy = Blend
		m.reason = fmt.Sprintf("%d relevant and %d not-relevant marks outside the bucket: too few not relevant (< %d) for the guard, and the similarity is doing well; blending both",
			evalPos, evalNeg, guardMinMarks)
	case evalPos < guardMinMarks || evalNeg < guardMinMarks:
		m.strategy = Classifier
		m.reason = fmt.Sprintf("%d relevant and %d not-relevant marks outside the bucket: too few of one class (< %d) for the guard; the reranker",
			evalPos, evalNeg, guardMinMarks)
	default:
		if err := s.guard(ctx, bk, exs, evalPos, evalNeg, m); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.cache = m
	s.mu.Unlock()
	return m, nil
}

// reliableNegatives returns exs without the background items that r
// scores as relevant (above 0).
func reliableNegatives(r Reranker, exs []example) []example {
	var at []int
	var vecs [][]float32
	for i, e := range exs {
		if e.background {
			at = append(at, i)
			vecs = append(vecs, e.vec)
		}
	}
	if len(vecs) == 0 {
		return exs
	}
	drop := make(map[int]bool)
	for j, sc := range r.Score(vecs) {
		if sc > 0 {
			drop[at[j]] = true
		}
	}
	if len(drop) == 0 {
		return exs
	}
	kept := make([]example, 0, len(exs)-len(drop))
	for i, e := range exs {
		if !drop[i] {
			kept = append(kept, e)
		}
	}
	return kept
}

// fitExamples fits a fresh reranker on the examples not in fold skip.
func (s *Session) fitExamples(ctx context.Context, exs []example, skip int) (Reranker, int, int, error) {
	var rel, nrel [][]float32
	for _, e := range exs {
		if skip >= 0 && e.fold == skip {
			continue
		}
		if e.relevant {
			rel = append(rel, e.vec)
		} else {
			nrel = append(nrel, e.vec)
		}
	}
	r := s.cfg.newReranker()
	if r == nil {
		return nil, 0, 0, errorf(ErrInvalidOption, "WithReranker: the constructor returned nil")
	}
	if err := r.Fit(ctx, rel, nrel); err != nil {
		return nil, 0, 0, errorf(nil, "fit reranker on %d relevant and %d not-relevant vectors: %w", len(rel), len(nrel), err)
	}
	return r, len(rel), len(nrel), nil
}

// guard compares, on the marks outside the bucket, the reranker's
// cross-validated scores with the plain similarity, and sets m's strategy.
func (s *Session) guard(ctx context.Context, bk *resolvedBucket, exs []example, nPos, nNeg int, m *model) error {
	k := min(guardFolds, nPos+nNeg)
	var eval []int
	ip, in := 0, 0
	for i := range exs {
		if exs[i].fold < 0 {
			continue
		}
		// Stratified: each class is dealt round-robin over the folds.
		if exs[i].relevant {
			exs[i].fold = ip % k
			ip++
		} else {
			exs[i].fold = (nPos + in) % k
			in++
		}
		eval = append(eval, i)
	}
	// The folds are fitted in parallel; each writes the scores of its own
	// items only.
	clf := make([]float32, len(exs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for f := range k {
		g.Go(func() error {
			r, _, _, err := s.fitExamples(gctx, exs, f)
			if err != nil {
				return err
			}
			var at []int
			var vecs [][]float32
			for _, i := range eval {
				if exs[i].fold == f {
					at = append(at, i)
					vecs = append(vecs, exs[i].vec)
				}
			}
			for j, sc := range r.Score(vecs) {
				clf[at[j]] = sc
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	labels := make([]bool, len(eval))
	cs := make([]float32, len(eval))
	ss := make([]float32, len(eval))
	for j, i := range eval {
		labels[j], cs[j], ss[j] = exs[i].relevant, clf[i], bk.sim.score(exs[i].vec)
	}
	m.checked = true
	m.clfAUC, m.simAUC = auc(cs, labels), auc(ss, labels)
	// The reranker is used when it ranks the marks better than the
	// similarity. When it is worse, the round blends both if the gap is
	// within τ, the margin or the standard error of an AUC on these counts
	// under the null hypothesis (Mann–Whitney) if larger, and falls back
	// to the similarity beyond.
	tau := max(s.cfg.margin, math.Sqrt(float64(nPos+nNeg+1)/(12*float64(nPos)*float64(nNeg))))
	verdict := fmt.Sprintf("on %d marks (%d relevant), the reranker's cross-validated AUC is %.3f, the similarity's %.3f",
		nPos+nNeg, nPos, m.clfAUC, m.simAUC)
	switch d := m.clfAUC - m.simAUC; {
	case d > 0:
		m.strategy, m.reason = Classifier, verdict+": the reranker"
	case d >= -tau:
		m.strategy, m.reason = Blend, verdict+fmt.Sprintf(": not better, within %.3f: blending both", tau)
	default:
		m.strategy, m.reason = Similarity, verdict+fmt.Sprintf(": worse by more than %.3f: falling back to the similarity", tau)
	}
	return nil
}

// auc returns the area under the ROC curve of scores for labels: the
// chance that a random positive outscores a random negative, ties counting
// half. labels must hold both classes.
func auc(scores []float32, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var rankSum float64
	var nPos int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean 1-based rank of the tie group
		for _, t := range idx[i:j] {
			if labels[t] {
				rankSum += mid
				nPos++
			}
		}
		i = j
	}
	nNeg := len(scores) - nPos
	return (rankSum - float64(nPos)*float64(nPos+1)/2) / (float64(nPos) * float64(nNeg))
}

func centroidAndRadius(exs []example) ([]float32, float64) {
	var c []float32
	var radius float64
	n := 0
	for _, e := range exs {
		radius = max(radius, vecmath.Norm(e.vec))
		if !e.relevant {
			continue
		}
		if c == nil {
			c = make([]float32, len(e.vec))
		}
		vecmath.AddScaled(c, 1, e.vec)
		n++
	}
	for j := range c {
		c[j] /= float32(n)
	}
	return c, radius
}

// similar returns the top k unseen items by plain bucket similarity.
func (s *Session) similar(ctx context.Context, snap snapshot, k int) ([]Result, error) {
	res, err := s.searcher.Search(ctx, s.bucket, search.WithTopK(k), search.WithExclude(snap.excluded...),
		search.WithAggregation(s.cfg.agg), search.WithFilter(s.cfg.filter))
	if err != nil {
		return nil, errorf(nil, "%w", err)
	}
	out := make([]Result, len(res))
	for i, r := range res {
		out[i] = Result{ID: r.ID, Score: r.Score, Metadata: r.Metadata}
	}
	return out, nil
}

// candidate is an unseen item to re-score.
type candidate struct {
	id  string
	vec []float32 // prepared
	md  index.Metadata
}

// reranked ranks the unseen pool with m: the top k by m's strategy
// (Classifier or Blend), or, for suggest, the k the reranker is least sure
// about.
func (s *Session) reranked(ctx context.Context, bk *resolvedBucket, snap snapshot, m *model, k int, suggest bool) ([]Result, error) {
	cands, full, err := s.scanPool(ctx, bk, snap)
	if err != nil {
		return nil, err
	}
	if !full {
		_, linear := m.reranker.(LinearReranker)
		withSim := suggest || m.strategy == Blend || !linear
		cands, err = s.gather(ctx, bk, snap, m, max(k, s.cfg.candidates), withSim)
		if err != nil {
			return nil, err
		}
	}
	if len(cands) == 0 {
		return []Result{}, nil
	}
	vecs := make([][]float32, len(cands))
	for i, c := range cands {
		vecs[i] = c.vec
	}
	clf := m.reranker.Score(vecs)
	if len(clf) != len(cands) {
		return nil, errorf(nil, "the reranker returned %d scores for %d vectors", len(clf), len(cands))
	}
	key := clf
	switch {
	case suggest:
		key = make([]float32, len(clf))
		for i, x := range clf {
			key[i] = -float32(math.Abs(float64(x)))
		}
	case m.strategy == Blend:
		sim := make([]float32, len(cands))
		for i, v := range vecs {
			sim[i] = bk.sim.score(v)
		}
		rc, rs := ranks(clf, cands), ranks(sim, cands)
		key = make([]float32, len(cands))
		for i := range key {
			key[i] = float32(1/float64(rrfConstant+rc[i]) + 1/float64(rrfConstant+rs[i]))
		}
	}
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	byKey := func(a, b int) int {
		if key[a] != key[b] {
			return cmp.Compare(key[b], key[a])
		}
		return cmp.Compare(cands[a].id, cands[b].id)
	}
	slices.SortFunc(order, byKey)
	out := make([]Result, 0, min(k, len(order)))
	for _, i := range order[:min(k, len(order))] {
		score := key[i]
		if suggest {
			score = clf[i]
		}
		out = append(out, Result{ID: cands[i].id, Score: score, Metadata: cands[i].md})
	}
	return out, nil
}

// ranks returns the 1-based rank of each score, best first, ties by ID.
func ranks(scores []float32, cands []candidate) []int {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if scores[a] != scores[b] {
			return cmp.Compare(scores[b], scores[a])
		}
		return cmp.Compare(cands[a].id, cands[b].id)
	})
	r := make([]int, len(scores))
	for pos, i := range order {
		r[i] = pos + 1
	}
	return r
}

// scanPool returns every unseen record of the pool when the namespace has
// at most cfg.scanThreshold records (full is then true).
func (s *Session) scanPool(ctx context.Context, bk *resolvedBucket, snap snapshot) (cands []candidate, full bool, err error) {
	limit := s.cfg.scanThreshold
	if limit == 0 {
		return nil, false, nil
	}
	if c, ok := s.store.(index.Counter); ok {
		n, err := c.Count(ctx, s.namespace)
		if err != nil {
			return nil, false, errorf(nil, "count namespace %q: %w", s.namespace, err)
		}
		if n > limit {
			return nil, false, nil
		}
	}
	seen := 0
	for rec, err := range s.store.Scan(ctx, s.namespace, s.cfg.filter) {
		if err != nil {
			return nil, false, errorf(nil, "scan namespace %q: %w", s.namespace, err)
		}
		if seen++; seen > limit {
			return nil, false, nil
		}
		if _, ex := slices.BinarySearch(snap.excluded, rec.ID); ex {
			continue
		}
		if _, ok := bk.ids[rec.ID]; ok {
			continue
		}
		cands = append(cands, candidate{id: rec.ID, vec: s.prepare(rec.Vector), md: rec.Metadata})
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return cands, true, nil
}

// gather asks the store for the need unseen items nearest to the
// reranker's direction (its weight vector for a LinearReranker, that of
// its logistic part for a Hybrid, else the centroid of the relevant
// vectors) and, with withSim, for the need
// unseen items most similar to the bucket, and merges them.
func (s *Session) gather(ctx context.Context, bk *resolvedBucket, snap snapshot, m *model, need int, withSim bool) ([]candidate, error) {
	var dir []float32
	var lw []float32
	switch r := m.reranker.(type) {
	case LinearReranker:
		lw, _ = r.Weights()
	case *Hybrid:
		lw = r.Logistic.w // its linear part's ranking
	}
	if lw != nil {
		w := lw
		dir = slices.Clone(w)
		if s.cfg.metric == index.Euclidean {
			// −‖x − c·w‖² = 2c·w·x − ‖x‖² − c²‖w‖²: with c large against
			// the vectors' norms, the store ranks by w·x (re-scored after).
			if n := vecmath.Norm(dir); n > 0 {
				scale := float32(16 * max(m.radius, 1e-6) / n)
				for j := range dir {
					dir[j] *= scale
				}
			}
		}
	} else {
		dir = slices.Clone(m.centroid)
	}
	if dir != nil && vecmath.Norm(dir) < 1e-12 {
		dir = nil // no direction: similarity candidates only
	}
	if dir == nil {
		withSim = true
	}
	var lists [2][]search.Result
	g, gctx := errgroup.WithContext(ctx)
	common := []search.Option{search.WithTopK(need), search.WithExclude(snap.excluded...),
		search.WithIncludeVectors(true), search.WithFilter(s.cfg.filter)}
	if dir != nil {
		g.Go(func() error {
			res, err := s.searcher.Search(gctx, search.Bucket{Positives: []search.Example{search.ByVector(dir)}}, common...)
			lists[0] = res
			return err
		})
	}
	if withSim {
		g.Go(func() error {
			res, err := s.searcher.Search(gctx, s.bucket, append(common, search.WithAggregation(s.cfg.agg))...)
			lists[1] = res
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, errorf(nil, "gather candidates: %w", err)
	}
	seen := make(map[string]struct{}, len(lists[0])+len(lists[1]))
	var out []candidate
	for _, l := range lists {
		for _, r := range l {
			if _, dup := seen[r.ID]; dup {
				continue
			}
			if _, ok := bk.ids[r.ID]; ok {
				continue
			}
			seen[r.ID] = struct{}{}
			out = append(out, candidate{id: r.ID, vec: s.prepare(r.Vector), md: r.Metadata})
		}
	}
	return out, nil
}

// siftUp and siftDown keep h a max-heap under lessHashed.
func siftUp(h []hashed, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if lessHashed(h[p], h[i]) >= 0 {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func siftDown(h []hashed, i int) {
	for {
		l, big := 2*i+1, i
		if l < len(h) && lessHashed(h[l], h[big]) > 0 {
			big = l
		}
		if r := l + 1; r < len(h) && lessHashed(h[r], h[big]) > 0 {
			big = r
		}
		if big == i {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}
