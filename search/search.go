package search

import (
	"cmp"
	"context"
	"slices"

	"github.com/shoalhq/shoal/index"
)

// Defaults of [New] and [Searcher.Search].
const (
	// DefaultTopK is the number of results Search returns.
	DefaultTopK = 10
	// DefaultNegativeWeight is the weight of the negatives.
	DefaultNegativeWeight = 0.5
	// DefaultRRFConstant is the k of reciprocal-rank fusion.
	DefaultRRFConstant = 60
	// DefaultConcurrency is the number of store queries in flight.
	DefaultConcurrency = 4
	// DefaultCandidatesFactor multiplies TopK into the default number of
	// candidates gathered per positive when a bucket has negatives (Max
	// and RRF), so that items pushed down by the negatives are replaced.
	DefaultCandidatesFactor = 3
)

// Searcher finds the records of one store namespace that match a [Bucket].
// It uses only the public [index.VectorStore] interface, so it works on
// every store. A Searcher is safe for concurrent use.
type Searcher struct {
	store     index.VectorStore
	namespace string
	defaults  config // the options of New; each Search starts from a copy
}

// New returns a Searcher over namespace of store. The namespace need not
// exist yet; searching an empty namespace returns no results. opts set the
// Searcher's defaults (each Search may override them); the metric is the
// store's own unless the store does not report one (see [WithMetric]).
func New(store index.VectorStore, namespace string, opts ...Option) (*Searcher, error) {
	if store == nil {
		return nil, errorf(ErrInvalidOption, "New: nil store")
	}
	c := defaultConfig()
	if err := c.apply(opts); err != nil {
		return nil, err
	}
	if m, ok := index.StoreMetric(store); ok {
		if c.metricSet && c.metric != m {
			return nil, errorf(ErrInvalidOption, "WithMetric(%v) contradicts the store's metric %v", c.metric, m)
		}
		c.metric = m
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &Searcher{store: store, namespace: namespace, defaults: c}, nil
}

// Namespace returns the namespace the Searcher searches.
func (s *Searcher) Namespace() string { return s.namespace }

// Metric returns the metric the Searcher scores with: the store's, or the
// one given by [WithMetric] (see there).
func (s *Searcher) Metric() index.Metric { return s.defaults.metric }

// Result is one item found by [Searcher.Search].
type Result struct {
	// ID is the record's ID.
	ID string
	// Score ranks the results, larger is better. Its scale depends on the
	// aggregation: Mean gives the store's score against the combined
	// query, Max a similarity under the metric less the negatives'
	// penalty, RRF a fused reciprocal rank. Compare scores within one
	// search only.
	Score float32
	// Metadata is the record's metadata.
	Metadata index.Metadata
	// Vector is the record's vector, set only with [WithIncludeVectors].
	Vector []float32
	// Positive is the index in Bucket.Positives of the positive this item
	// matched best: the most similar one (Max) or the one whose list ranked
	// it highest (RRF); -1 for Mean, which searches with one combined query.
	Positive int
	// Penalty is what the negatives took off the item's similarity: the
	// negative weight times its similarity to the nearest negative, taken
	// off its score (Max) or off its similarity to each list's positive
	// before ranking (RRF). Under Euclidean, whose similarities are ≤ 0, it
	// is ≤ 0: items far from the negatives gain. 0 without negatives and
	// for Mean, whose query already moves away from them.
	Penalty float32
}

// config returns the options of one search: the Searcher's defaults
// overridden by opts.
func (s *Searcher) config(opts []Option) (config, error) {
	c := s.defaults
	c.inSearch = true
	if err := c.apply(opts); err != nil {
		return c, err
	}
	return c, c.check()
}

// Search returns the records of the namespace that best match bucket, best
// first: at most TopK of them, unique by ID, sorted by score with ties
// broken by ID, never one excluded by [WithExclude] nor (by default) one the
// bucket names by ID. See the package documentation for the aggregations,
// the negatives and the errors.
func (s *Searcher) Search(ctx context.Context, bucket Bucket, opts ...Option) ([]Result, error) {
	if ctx == nil {
		return nil, errorf(index.ErrInvalidArgument, "Search: nil context")
	}
	cfg, err := s.config(opts)
	if err != nil {
		return nil, err
	}
	if err := bucket.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := s.resolve(ctx, bucket)
	if err != nil {
		return nil, err
	}
	if cfg.negWeight == 0 {
		b.neg = nil
	}
	excluded := make(map[string]struct{}, len(cfg.exclude)+len(b.ids))
	for _, id := range cfg.exclude {
		excluded[id] = struct{}{}
	}
	if !cfg.includeBucket {
		for _, id := range b.ids {
			excluded[id] = struct{}{}
		}
	}
	if cfg.agg == Mean {
		return s.searchMean(ctx, b, cfg, excluded)
	}
	return s.searchPerPositive(ctx, b, cfg, excluded)
}

// sortResults orders results by score, best first, ties by ID.
func sortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
