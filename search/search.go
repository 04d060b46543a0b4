package search

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/shoalhq/shoal/embedding"
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
	store       index.VectorStore
	namespace   string
	encoder     embedding.Encoder
	metric      index.Metric
	concurrency int
}

// Option configures [New].
type Option func(*options) error

type options struct {
	encoder     embedding.Encoder
	metric      index.Metric
	concurrency int
}

// WithEncoder sets the encoder that embeds examples given by input
// ([ByInput]). It must be the encoder whose vectors the namespace holds.
// Default: none; such examples are then an [ErrNoEncoder] error.
func WithEncoder(e embedding.Encoder) Option {
	return func(s *options) error {
		if e == nil {
			return fmt.Errorf("%w: nil encoder", ErrInvalidOption)
		}
		s.encoder = e
		return nil
	}
}

// WithMetric tells the Searcher the namespace's metric, which it uses to
// build the Mean query and to re-score candidates locally (negatives, Max
// and RRF with vectors). It must match the store's. Default: index.Cosine.
func WithMetric(m index.Metric) Option {
	return func(s *options) error {
		if !m.Valid() {
			return fmt.Errorf("%w: metric %v", ErrInvalidOption, m)
		}
		s.metric = m
		return nil
	}
}

// WithConcurrency sets how many store queries one Search runs at once (Max
// and RRF query once per positive). Default: DefaultConcurrency (4).
func WithConcurrency(n int) Option {
	return func(s *options) error {
		if n < 1 {
			return fmt.Errorf("%w: concurrency %d < 1", ErrInvalidOption, n)
		}
		s.concurrency = n
		return nil
	}
}

// New returns a Searcher over namespace of store. The namespace need not
// exist yet; searching an empty namespace returns no results.
func New(store index.VectorStore, namespace string, opts ...Option) (*Searcher, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidOption)
	}
	o := options{metric: index.Cosine, concurrency: DefaultConcurrency}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Searcher{store: store, namespace: namespace, encoder: o.encoder, metric: o.metric, concurrency: o.concurrency}, nil
}

// Namespace returns the namespace the Searcher searches.
func (s *Searcher) Namespace() string { return s.namespace }

// Metric returns the metric the Searcher assumes (see [WithMetric]).
func (s *Searcher) Metric() index.Metric { return s.metric }

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
	// Vector is the record's vector, set only with [IncludeVectors].
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

// SearchOption configures one [Searcher.Search].
type SearchOption func(*searchConfig)

type searchConfig struct {
	topK           int
	candidates     int // 0: default
	filter         index.Filter
	exclude        []string
	agg            Aggregation
	negWeight      float64
	rrfK           float64
	includeBucket  bool
	includeVectors bool
}

// TopK sets the number of results, 1 to index.MaxTopK. Default: DefaultTopK (10).
func TopK(n int) SearchOption { return func(c *searchConfig) { c.topK = n } }

// Candidates sets how many unseen items each store query gathers before
// they are merged and re-scored (Max and RRF; Mean ignores it), 1 to
// index.MaxTopK; values below TopK are raised to TopK. More candidates let
// the negatives pull in replacements from deeper down and make RRF fuse
// deeper lists, at the cost of larger queries. Default: TopK, or
// DefaultCandidatesFactor × TopK when the bucket has negatives.
func Candidates(n int) SearchOption { return func(c *searchConfig) { c.candidates = n } }

// WithFilter restricts the results to records whose metadata f matches.
// Default: every record.
func WithFilter(f index.Filter) SearchOption { return func(c *searchConfig) { c.filter = f } }

// Exclude leaves the records with these IDs out of the results, for example
// those a user has already seen. Exclusion is exact: Search asks the store
// for more until TopK unseen items are found (see the package doc for the
// one limit). Several Exclude options add up.
func Exclude(ids ...string) SearchOption {
	return func(c *searchConfig) { c.exclude = append(c.exclude, ids...) }
}

// WithAggregation sets how positives are combined. Default: Mean.
func WithAggregation(a Aggregation) SearchOption { return func(c *searchConfig) { c.agg = a } }

// NegativeWeight sets how strongly negatives push results away, w ≥ 0
// (w < 1 under Euclidean, where w ≥ 1 would reward being far from
// everything). 0 ignores the negatives. Default: DefaultNegativeWeight (0.5).
func NegativeWeight(w float64) SearchOption { return func(c *searchConfig) { c.negWeight = w } }

// RRFConstant sets the k of reciprocal-rank fusion (score = Σ 1/(k+rank)),
// k > 0. Smaller k favours the top of each list. Default: DefaultRRFConstant (60).
func RRFConstant(k float64) SearchOption { return func(c *searchConfig) { c.rrfK = k } }

// IncludeBucket, when true, lets records the bucket names by ID appear in
// the results. Default: false, they are left out.
func IncludeBucket(include bool) SearchOption {
	return func(c *searchConfig) { c.includeBucket = include }
}

// IncludeVectors, when true, returns each result's vector in
// [Result].Vector. Default: false.
func IncludeVectors(include bool) SearchOption {
	return func(c *searchConfig) { c.includeVectors = include }
}

func (s *Searcher) config(opts []SearchOption) (searchConfig, error) {
	c := searchConfig{topK: DefaultTopK, agg: Mean, negWeight: DefaultNegativeWeight, rrfK: DefaultRRFConstant}
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	switch {
	case c.topK < 1 || c.topK > index.MaxTopK:
		return c, fmt.Errorf("%w: TopK %d out of range [1, %d]", ErrInvalidOption, c.topK, index.MaxTopK)
	case c.candidates < 0 || c.candidates > index.MaxTopK:
		return c, fmt.Errorf("%w: Candidates %d out of range [1, %d]", ErrInvalidOption, c.candidates, index.MaxTopK)
	case !c.agg.Valid():
		return c, fmt.Errorf("%w: aggregation %v", ErrInvalidOption, c.agg)
	case math.IsNaN(c.negWeight) || math.IsInf(c.negWeight, 0) || c.negWeight < 0:
		return c, fmt.Errorf("%w: negative weight %v is not a finite number ≥ 0", ErrInvalidOption, c.negWeight)
	case s.metric == index.Euclidean && c.negWeight >= 1:
		return c, fmt.Errorf("%w: negative weight %v must be < 1 under the euclidean metric", ErrInvalidOption, c.negWeight)
	case math.IsNaN(c.rrfK) || math.IsInf(c.rrfK, 0) || c.rrfK <= 0:
		return c, fmt.Errorf("%w: RRF constant %v is not a finite number > 0", ErrInvalidOption, c.rrfK)
	}
	for _, id := range c.exclude {
		if err := index.ValidateID(id); err != nil {
			return c, fmt.Errorf("%w: excluded id %q: %w", ErrInvalidOption, id, err)
		}
	}
	if err := c.filter.Validate(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	return c, nil
}

// Search returns the records of the namespace that best match bucket, best
// first: at most TopK of them, unique by ID, sorted by score with ties
// broken by ID, never one excluded by [Exclude] nor (by default) one the
// bucket names by ID. See the package documentation for the aggregations,
// the negatives and the errors.
func (s *Searcher) Search(ctx context.Context, bucket Bucket, opts ...SearchOption) ([]Result, error) {
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
