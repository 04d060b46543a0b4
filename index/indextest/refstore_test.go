package indextest_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/shoalhq/shoal/index/driver"
	"iter"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/shoalhq/shoal/index"
)

// refStore is a small map-based index.VectorStore used only to test the
// suite: the reference the suite must pass, and, with deliberate bugs
// switched on, the broken stores it must fail. It implements index.Counter
// and index.Namespacer too.
type refStore struct {
	metric index.Metric
	bug    bug

	mu     sync.RWMutex
	closed bool
	spaces map[string]*refSpace
}

type refSpace struct {
	dim      int
	recs     map[string]index.Record
	inserted int // records ever inserted (for bugCountStale)

	ghosts map[string]index.Record // deleted but still queried (bugGhostDeletes)
	stale  map[string][]float32    // old vectors Query still scores (bugStaleMove)
}

// large reports whether the namespace is large enough for the bugs of an
// approximate index (bugLossy, bugDropBest, bugGhostDeletes, bugStaleMove),
// which leave the small namespaces of most cases exact.
func (sp *refSpace) large() bool { return len(sp.recs) > 300 }

// bug names a deliberate defect of refStore.
type bug string

const (
	bugNone              bug = "none"
	bugIgnoreFilter      bug = "ignore-filter"       // Query and Scan match everything
	bugPostFilter        bug = "post-filter"         // Query takes the TopK, then filters
	bugEuclideanSign     bug = "euclidean-sign"      // Euclidean scores +‖a−b‖², best = farthest
	bugUnsortedQuery     bug = "unsorted-query"      // Query returns the TopK worst first
	bugTopKOffByOne      bug = "topk-off-by-one"     // Query returns TopK+1 matches
	bugTopKUnchecked     bug = "topk-unchecked"      // TopK 0 or > MaxTopK accepted
	bugDropVectors       bug = "drop-vectors"        // IncludeVectors ignored
	bugFetchMissing      bug = "fetch-missing"       // Fetch returns empty records for missing IDs
	bugPartialWrite      bug = "partial-write"       // Upsert writes the records before a bad one
	bugMergeMetadata     bug = "merge-metadata"      // an overwrite merges old metadata in
	bugAliasing          bug = "aliasing"            // the store keeps the caller's slices and maps
	bugNoMetadataCheck   bug = "no-metadata-check"   // metadata stored unvalidated
	bugNoDimCheck        bug = "no-dim-check"        // a namespace takes any dimension
	bugAcceptsZeroCosine bug = "accepts-zero-cosine" // zero vectors under Cosine accepted
	bugStrictTypes       bug = "strict-types"        // int64 3 does not equal float64 3 in filters
	bugNeMatchesMissing  bug = "ne-matches-missing"  // Ne and NotIn match records without the field
	bugDeleteNoop        bug = "delete-noop"         // Delete does nothing
	bugSharedNamespace   bug = "shared-namespace"    // every namespace is the same
	bugScanDuplicates    bug = "scan-duplicates"     // Scan yields one record twice
	bugScanIgnoresBreak  bug = "scan-ignores-break"  // Scan keeps yielding after the loop breaks
	bugIgnoreContext     bug = "ignore-context"      // cancelled contexts are ignored
	bugNoClose           bug = "no-close"            // Close does nothing
	bugCloseTwiceErrors  bug = "close-twice-errors"  // a second Close fails
	bugCountStale        bug = "count-stale"         // Count ignores deletes
	bugNilContext        bug = "nil-context"         // a nil context panics
	bugNoLock            bug = "no-lock"             // no synchronisation (caught under -race)
	bugNamespacesTwice   bug = "namespaces-twice"    // Namespaces lists a namespace twice

	// Large namespaces (over 300 records) only, as an approximate index errs:
	bugLossy        bug = "lossy"         // Query returns the TopK+1-th best instead of the TopK-th: recall@10 0.9
	bugDropBest     bug = "drop-best"     // Query drops the best match (and returns the TopK+1-th)
	bugGhostDeletes bug = "ghost-deletes" // deleted records stay visible to Query
	bugStaleMove    bug = "stale-move"    // Query scores an overwritten record by its old vector
)

func newRefStore(m index.Metric, b bug) *refStore {
	return &refStore{metric: m, bug: b, spaces: make(map[string]*refSpace)}
}

func (s *refStore) rlock() func() {
	if s.bug == bugNoLock {
		return func() {}
	}
	s.mu.RLock()
	return s.mu.RUnlock
}

func (s *refStore) lock() func() {
	if s.bug == bugNoLock {
		return func() {}
	}
	s.mu.Lock()
	return s.mu.Unlock
}

// check reports a closed store or a done context; call with a lock held.
func (s *refStore) check(ctx context.Context) error {
	if s.closed {
		return index.ErrClosed
	}
	if ctx == nil && s.bug != bugNilContext {
		return fmt.Errorf("%w: nil context", index.ErrInvalidArgument)
	}
	if s.bug != bugIgnoreContext {
		return ctx.Err()
	}
	return nil
}

func (s *refStore) space(ns string) *refSpace {
	if s.bug == bugSharedNamespace {
		ns = ""
	}
	return s.spaces[ns]
}

func (s *refStore) Upsert(ctx context.Context, ns string, recs []index.Record) error {
	defer s.lock()()
	if err := s.check(ctx); err != nil {
		return err
	}
	sp := s.space(ns)
	dim := 0
	if sp != nil && s.bug != bugNoDimCheck {
		dim = sp.dim
	}
	var valid []index.Record
	switch s.bug {
	case bugPartialWrite:
		for i, r := range recs {
			v, err := driver.ValidateRecords([]index.Record{r}, dim)
			if err != nil {
				return &index.ItemError{Index: i, ID: r.ID, Err: errors.Unwrap(err)}
			}
			s.write(ns, v[0])
			dim = len(r.Vector)
		}
		return nil
	case bugAliasing:
		if _, err := driver.ValidateRecords(recs, dim); err != nil {
			return err
		}
		valid = recs
	case bugNoMetadataCheck:
		stripped := make([]index.Record, len(recs))
		for i, r := range recs {
			stripped[i] = index.Record{ID: r.ID, Vector: r.Vector}
		}
		v, err := driver.ValidateRecords(stripped, dim)
		if err != nil {
			return err
		}
		for i := range v {
			v[i].Metadata = recs[i].Metadata
		}
		valid = v
	default:
		v, err := driver.ValidateRecords(recs, dim)
		if err != nil {
			return err
		}
		valid = v
	}
	if s.metric == index.Cosine && s.bug != bugAcceptsZeroCosine {
		for i, r := range valid {
			if !slices.ContainsFunc(r.Vector, func(x float32) bool { return x != 0 }) {
				return &index.ItemError{Index: i, ID: r.ID, Err: fmt.Errorf("%w: zero vector under cosine", index.ErrInvalidVector)}
			}
		}
	}
	for _, r := range valid {
		s.write(ns, r)
	}
	return nil
}

func (s *refStore) write(ns string, r index.Record) {
	if s.bug == bugSharedNamespace {
		ns = ""
	}
	sp := s.spaces[ns]
	if sp == nil {
		sp = &refSpace{dim: len(r.Vector), recs: make(map[string]index.Record)}
		s.spaces[ns] = sp
	}
	old, exists := sp.recs[r.ID]
	if !exists {
		sp.inserted++
	}
	delete(sp.ghosts, r.ID)
	if exists && s.bug == bugStaleMove && sp.large() {
		if sp.stale == nil {
			sp.stale = make(map[string][]float32)
		}
		if _, ok := sp.stale[r.ID]; !ok {
			sp.stale[r.ID] = old.Vector
		}
	}
	if exists && s.bug == bugMergeMetadata {
		md := old.Metadata.Clone()
		if md == nil {
			md = index.Metadata{}
		}
		maps.Copy(md, r.Metadata)
		r.Metadata = md
	}
	sp.recs[r.ID] = r
}

func (s *refStore) score(a, b []float32) float64 {
	var dot, na, nb, l2 float64
	for i := range min(len(a), len(b)) {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
		l2 += (x - y) * (x - y)
	}
	switch s.metric {
	case index.Cosine:
		return dot / math.Sqrt(na*nb)
	case index.Euclidean:
		if s.bug == bugEuclideanSign {
			return l2
		}
		return -l2
	}
	return dot
}

func (s *refStore) match(f index.Filter, md index.Metadata) bool {
	switch s.bug {
	case bugIgnoreFilter:
		return true
	case bugStrictTypes:
		return matchWith(f, md, func(f index.Filter, md index.Metadata) bool {
			v, ok := md[f.Field]
			switch f.Op {
			case index.OpEq:
				return ok && v == f.Value
			case index.OpIn:
				return ok && slices.Contains(f.Values, v)
			}
			return f.Match(md)
		})
	case bugNeMatchesMissing:
		return matchWith(f, md, func(f index.Filter, md index.Metadata) bool {
			if _, ok := md[f.Field]; !ok && (f.Op == index.OpNe || f.Op == index.OpNotIn) {
				return true
			}
			return f.Match(md)
		})
	}
	return f.Match(md)
}

// matchWith evaluates And and Or itself and leaves the rest to leaf.
func matchWith(f index.Filter, md index.Metadata, leaf func(index.Filter, index.Metadata) bool) bool {
	switch f.Op {
	case index.OpAnd:
		for _, c := range f.Filters {
			if !matchWith(c, md, leaf) {
				return false
			}
		}
		return true
	case index.OpOr:
		for _, c := range f.Filters {
			if matchWith(c, md, leaf) {
				return true
			}
		}
		return false
	}
	return leaf(f, md)
}

func copyRecord(r index.Record) index.Record {
	return index.Record{ID: r.ID, Vector: slices.Clone(r.Vector), Metadata: r.Metadata.Clone()}
}

func (s *refStore) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	defer s.rlock()()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	sp := s.space(q.Namespace)
	dim := 0
	if sp != nil && s.bug != bugNoDimCheck {
		dim = sp.dim
	}
	if s.bug == bugTopKUnchecked {
		q.TopK = max(q.TopK, 1)
	}
	if err := driver.ValidateQuery(q, dim); err != nil {
		return nil, err
	}
	if sp == nil {
		return nil, nil
	}
	type cand struct {
		r     *index.Record // not a copy: sorting records is slow under -race
		score float64
	}
	var cands []cand
	for _, r := range sp.recs {
		if s.bug == bugPostFilter || s.match(q.Filter, r.Metadata) {
			v := r.Vector
			if old, ok := sp.stale[r.ID]; ok {
				v = old
			}
			cands = append(cands, cand{&r, s.score(q.Vector, v)})
		}
	}
	for _, r := range sp.ghosts {
		if s.match(q.Filter, r.Metadata) {
			cands = append(cands, cand{&r, s.score(q.Vector, r.Vector)})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.r.ID, b.r.ID))
	})
	k := q.TopK
	if s.bug == bugTopKOffByOne {
		k++
	}
	if sp.large() && k >= 2 && len(cands) > k {
		switch s.bug {
		case bugLossy:
			cands = slices.Delete(cands, k-1, k)
		case bugDropBest:
			cands = cands[1:]
		}
	}
	cands = cands[:min(k, len(cands))]
	if s.bug == bugPostFilter {
		cands = slices.DeleteFunc(cands, func(c cand) bool { return !s.match(q.Filter, c.r.Metadata) })
	}
	if s.bug == bugUnsortedQuery {
		slices.Reverse(cands)
	}
	out := make([]index.Match, len(cands))
	for i, c := range cands {
		r := copyRecord(*c.r)
		out[i] = index.Match{ID: r.ID, Score: float32(c.score), Metadata: r.Metadata}
		if q.IncludeVectors && s.bug != bugDropVectors {
			out[i].Vector = r.Vector
		}
	}
	return out, nil
}

func (s *refStore) Fetch(ctx context.Context, ns string, ids []string) ([]index.Record, error) {
	defer s.rlock()()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	sp := s.space(ns)
	var out []index.Record
	for _, id := range ids {
		var r index.Record
		ok := false
		if sp != nil {
			r, ok = sp.recs[id]
		}
		switch {
		case ok:
			out = append(out, copyRecord(r))
		case s.bug == bugFetchMissing:
			out = append(out, index.Record{ID: id})
		}
	}
	return out, nil
}

func (s *refStore) Delete(ctx context.Context, ns string, ids []string) error {
	defer s.lock()()
	if err := s.check(ctx); err != nil {
		return err
	}
	if sp := s.space(ns); sp != nil && s.bug != bugDeleteNoop {
		ghosts := s.bug == bugGhostDeletes && sp.large()
		for _, id := range ids {
			if r, ok := sp.recs[id]; ok && ghosts {
				if sp.ghosts == nil {
					sp.ghosts = make(map[string]index.Record)
				}
				sp.ghosts[id] = r
			}
			delete(sp.recs, id)
		}
	}
	return nil
}

func (s *refStore) Scan(ctx context.Context, ns string, f index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		recs, err := s.snapshot(ctx, ns, f)
		if err != nil {
			yield(index.Record{}, err)
			return
		}
		if s.bug == bugScanDuplicates && len(recs) > 1 {
			recs = append(recs, recs[0])
		}
		for _, r := range recs {
			if err := ctx.Err(); err != nil && s.bug != bugIgnoreContext {
				yield(index.Record{}, err)
				return
			}
			if !yield(r, nil) && s.bug != bugScanIgnoresBreak {
				return
			}
		}
	}
}

func (s *refStore) snapshot(ctx context.Context, ns string, f index.Filter) ([]index.Record, error) {
	defer s.rlock()()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	sp := s.space(ns)
	if sp == nil {
		return nil, nil
	}
	var out []index.Record
	for _, r := range sp.recs {
		if s.match(f, r.Metadata) {
			out = append(out, copyRecord(r))
		}
	}
	return out, nil
}

// Count implements index.Counter.
func (s *refStore) Count(ctx context.Context, ns string) (int, error) {
	defer s.rlock()()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	sp := s.space(ns)
	switch {
	case sp == nil:
		return 0, nil
	case s.bug == bugCountStale:
		return sp.inserted, nil
	}
	return len(sp.recs), nil
}

// Namespaces implements index.Namespacer.
func (s *refStore) Namespaces(ctx context.Context) ([]string, error) {
	defer s.rlock()()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(s.spaces))
	if s.bug == bugNamespacesTwice && len(names) > 0 {
		names = append(names, names[0])
	}
	return names, nil
}

func (s *refStore) Close() error {
	defer s.lock()()
	switch {
	case s.bug == bugNoClose:
		return nil
	case s.closed && s.bug == bugCloseTwiceErrors:
		return errors.New("refstore: already closed")
	}
	s.closed = true
	return nil
}

var (
	_ index.VectorStore = (*refStore)(nil)
	_ index.Counter     = (*refStore)(nil)
	_ index.Namespacer  = (*refStore)(nil)
)
