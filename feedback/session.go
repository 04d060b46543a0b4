package feedback

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/vecmath"
	"github.com/shoalhq/shoal/search"
)

// Strategy is how a round ranked its results.
type Strategy int

const (
	// Similarity ranks by the plain similarity to the bucket, as package
	// search does: round 0, rounds with no marks yet, and rounds where the
	// guard found the reranker worse than the similarity on the marks.
	Similarity Strategy = iota
	// Classifier ranks by the reranker fitted on the marks.
	Classifier
	// Blend fuses the reranker's ranking and the similarity ranking by
	// reciprocal rank (1/(60 + rank) summed over both), when the guard found
	// them about as good on the marks.
	Blend
)

// String returns "similarity", "classifier" or "blend".
func (s Strategy) String() string {
	switch s {
	case Similarity:
		return "similarity"
	case Classifier:
		return "classifier"
	case Blend:
		return "blend"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// MarshalText encodes the strategy by its name.
func (s Strategy) MarshalText() ([]byte, error) {
	if s < Similarity || s > Blend {
		return nil, errorf(nil, "unknown strategy %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a strategy name.
func (s *Strategy) UnmarshalText(b []byte) error {
	for _, c := range []Strategy{Similarity, Classifier, Blend} {
		if string(b) == c.String() {
			*s = c
			return nil
		}
	}
	return errorf(nil, "unknown strategy %q", b)
}

// Mark is a user's judgement of one item.
type Mark struct {
	ID       string
	Relevant bool
}

// Result is one item of a round or a suggestion.
type Result struct {
	// ID is the record's ID.
	ID string
	// Score ranks the results of one call, larger first: the reranker's
	// decision value (Classifier, and every suggestion), the search score
	// (Similarity) or the fused reciprocal rank (Blend). Compare scores
	// within one call only.
	Score float32
	// Metadata is the record's metadata.
	Metadata index.Metadata
}

// Round is what one call of [Session.Results] showed and how the user
// judged it. The counts follow the marks: a later mark on a shown item
// updates them.
type Round struct {
	// Index is the round's number, from 0.
	Index int
	// Strategy is how the round ranked its results.
	Strategy Strategy
	// Reason says why the strategy was chosen, for people.
	Reason string
	// IDs are the items shown, best first.
	IDs []string
	// Marked and Relevant count the shown items marked, and marked
	// relevant, so far.
	Marked, Relevant int
	// TrainedRelevant and TrainedNotRelevant count the vectors the
	// reranker was fitted on (bucket examples and background sample
	// included); 0 for a round without marks.
	TrainedRelevant, TrainedNotRelevant int
	// Checked reports whether the guard compared the two rankings; when it
	// did, ClassifierAUC is the cross-validated AUC of the reranker on the
	// marked items and SimilarityAUC that of the plain similarity (each the
	// chance that a random relevant mark outranks a random not-relevant
	// one). Both are NaN when Checked is false.
	Checked                      bool
	ClassifierAUC, SimilarityAUC float64
	// Elapsed is the wall time of the Results call: fitting, the guard,
	// store queries and re-scoring.
	Elapsed time.Duration
}

// Shown returns the number of items the round showed.
func (r Round) Shown() int { return len(r.IDs) }

// Precision returns the fresh precision of the round: the share of its
// marked items that were marked relevant, or NaN when none is marked yet.
func (r Round) Precision() float64 {
	if r.Marked == 0 {
		return math.NaN()
	}
	return float64(r.Relevant) / float64(r.Marked)
}

// Session is a relevance-feedback session over one namespace of a store:
// it holds a bucket of examples, the user's marks and the rounds shown so
// far, and ranks the pool anew each round. It uses only the public
// [index.VectorStore] interface, so it works on every store. A Session is
// safe for concurrent use; calls of Results and Suggest run one at a time.
type Session struct {
	store     index.VectorStore
	namespace string
	bucket    search.Bucket
	searcher  *search.Searcher
	cfg       config

	run sync.Mutex // held by Results and Suggest for their whole run

	mu      sync.Mutex // guards the fields below
	marks   map[string]*markEntry
	order   []string // marked IDs, in order of their first mark
	version uint64   // bumped by every mark that changes something
	rounds  []Round
	shown   map[string]struct{}
	bk      *resolvedBucket // set on first use
	bg      *background     // set on first use
	cache   *model          // the last fit, for its marks' version
}

type markEntry struct {
	relevant bool
	vec      []float32 // prepared (unit length under Cosine)
}

// NewSession starts a session that looks for items like the bucket's in
// namespace of store. The bucket is checked (see search.Bucket.Validate)
// but not resolved: its IDs are fetched and its inputs embedded by the
// first Results or Suggest. Options configure the reranker, the metric (the
// store's by default, see [WithMetric]), the retrieval and the guard; see
// their defaults.
func NewSession(store index.VectorStore, namespace string, bucket search.Bucket, opts ...Option) (*Session, error) {
	if store == nil {
		return nil, errorf(ErrInvalidOption, "NewSession: nil store")
	}
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if m, ok := index.StoreMetric(store); ok {
		if cfg.metricSet && cfg.metric != m {
			return nil, errorf(ErrInvalidOption, "WithMetric(%v) contradicts the store's metric %v", cfg.metric, m)
		}
		cfg.metric = m
	}
	if err := bucket.Validate(); err != nil {
		return nil, err
	}
	sopts := []search.Option{search.WithMetric(cfg.metric)}
	if cfg.encoder != nil {
		sopts = append(sopts, search.WithEncoder(cfg.encoder))
	}
	searcher, err := search.New(store, namespace, sopts...)
	if err != nil {
		return nil, err
	}
	sess := &Session{
		store: store, namespace: namespace, bucket: cloneBucket(bucket), searcher: searcher, cfg: cfg,
		marks: make(map[string]*markEntry), shown: make(map[string]struct{}),
	}
	if cfg.bgSample != nil {
		sess.bg = &background{ids: cfg.bgSample}
	}
	return sess, nil
}

// Namespace returns the namespace the session searches.
func (s *Session) Namespace() string { return s.namespace }

// Bucket returns a copy of the session's bucket.
func (s *Session) Bucket() search.Bucket { return cloneBucket(s.bucket) }

// Mark records that the item with this ID is relevant or not. Marking an
// item again replaces its mark (the last mark wins). The ID must name a
// record of the namespace; its vector is fetched now. An unknown ID is an
// error wrapping [ErrUnknownID] (and index.ErrNotFound) that names it.
func (s *Session) Mark(ctx context.Context, id string, relevant bool) error {
	if ctx == nil {
		return errorf(index.ErrInvalidArgument, "Mark: nil context")
	}
	return s.MarkAll(ctx, Mark{ID: id, Relevant: relevant})
}

// MarkAll records several marks with one Fetch. It is all or nothing: if
// an ID is invalid or unknown, no mark is recorded and the error names
// every such ID. Within one call, the last mark of an ID wins.
func (s *Session) MarkAll(ctx context.Context, marks ...Mark) error {
	if ctx == nil {
		return errorf(index.ErrInvalidArgument, "MarkAll: nil context")
	}
	if len(marks) == 0 {
		return ctx.Err()
	}
	final := make(map[string]bool, len(marks))
	var ids []string
	for i, m := range marks {
		if err := driver.ValidateID(m.ID); err != nil {
			return errorf(nil, "mark %d (id %q): %w", i, m.ID, err)
		}
		if _, dup := final[m.ID]; !dup {
			ids = append(ids, m.ID)
		}
		final[m.ID] = m.Relevant
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Fetch the vectors of the IDs not marked before (a marked ID keeps
	// its vector: the mark refers to the item as it was judged).
	s.mu.Lock()
	var fetch []string
	for _, id := range ids {
		if _, ok := s.marks[id]; !ok {
			fetch = append(fetch, id)
		}
	}
	s.mu.Unlock()
	vecs := make(map[string][]float32, len(fetch))
	if len(fetch) > 0 {
		recs, err := s.store.Fetch(ctx, s.namespace, fetch)
		if err != nil {
			return errorf(nil, "fetch marked items from namespace %q: %w", s.namespace, err)
		}
		for _, r := range recs {
			vecs[r.ID] = s.prepare(r.Vector)
		}
		var missing []string
		for _, id := range fetch {
			if _, ok := vecs[id]; !ok {
				missing = append(missing, fmt.Sprintf("%q", id))
			}
		}
		if len(missing) > 0 {
			return errorf(nil, "%w: namespace %q has no record %s", ErrUnknownID, s.namespace, strings.Join(missing, ", "))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, id := range ids {
		rel := final[id]
		e, ok := s.marks[id]
		if !ok {
			// Not marked when we looked (there is no unmarking), so fetched.
			e = &markEntry{relevant: rel, vec: vecs[id]}
			s.marks[id] = e
			s.order = append(s.order, id)
			changed = true
		}
		if e.relevant != rel {
			e.relevant, changed = rel, true
		}
	}
	if changed {
		s.version++
	}
	return nil
}

// Marks returns the current marks, in the order the items were first
// marked.
func (s *Session) Marks() []Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Mark, len(s.order))
	for i, id := range s.order {
		out[i] = Mark{ID: id, Relevant: s.marks[id].relevant}
	}
	return out
}

// Rounds returns the rounds so far, oldest first, with their counts
// brought up to date with the marks.
func (s *Session) Rounds() []Round {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Round, len(s.rounds))
	for i, r := range s.rounds {
		r.IDs = slices.Clone(r.IDs)
		r.Marked, r.Relevant = 0, 0
		for _, id := range r.IDs {
			if e, ok := s.marks[id]; ok {
				r.Marked++
				if e.relevant {
					r.Relevant++
				}
			}
		}
		out[i] = r
	}
	return out
}

// prepare returns the vector the reranker sees: a unit-length copy under
// Cosine, the vector itself otherwise.
func (s *Session) prepare(v []float32) []float32 {
	if s.cfg.metric == index.Cosine {
		return vecmath.Normalized(v)
	}
	return v
}

func cloneBucket(b search.Bucket) search.Bucket {
	c := search.Bucket{}
	clone := func(es []search.Example) []search.Example {
		if es == nil {
			return nil
		}
		out := make([]search.Example, len(es))
		for i, e := range es {
			out[i] = search.Example{ID: e.ID, Vector: slices.Clone(e.Vector)}
			if e.Input != nil {
				in := *e.Input
				in.Image = slices.Clone(in.Image)
				out[i].Input = &in
			}
		}
		return out
	}
	c.Positives = clone(b.Positives)
	c.Negatives = clone(b.Negatives)
	return c
}
