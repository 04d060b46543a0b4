package search

import (
	"math"
	"slices"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
)

// Option configures a [Searcher] or one search. Options given to [New] set
// the Searcher's defaults; the same options given to [Searcher.Search]
// override those defaults for that call only. [WithEncoder] and
// [WithMetric] describe the namespace and apply to New only: given to
// Search they are an error naming the option. Each option checks its value
// when it is applied and reports a bad one as an error wrapping
// [ErrInvalidOption] that names the option; a nil Option is ignored.
type Option func(*config) error

// config is what the options set: the Searcher's defaults, copied and
// overridden by each Search.
type config struct {
	inSearch bool // applying the options of one Search, not of New

	encoder     embedding.Encoder
	metric      index.Metric
	metricSet   bool
	concurrency int

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

func defaultConfig() config {
	return config{
		metric:      index.Cosine,
		concurrency: DefaultConcurrency,
		topK:        DefaultTopK,
		agg:         Mean,
		negWeight:   DefaultNegativeWeight,
		rrfK:        DefaultRRFConstant,
	}
}

// apply applies opts to c in order.
func (c *config) apply(opts []Option) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			return err
		}
	}
	return nil
}

// newOnly reports an option of New given to Search.
func (c *config) newOnly(name string) error {
	if c.inSearch {
		return errorf(ErrInvalidOption, "%s applies to New, not to Search: it describes the namespace", name)
	}
	return nil
}

// WithEncoder sets the encoder that embeds examples given by input
// ([ByInput]). It must be the encoder whose vectors the namespace holds.
// New only. Default: none; such examples are then an [ErrNoEncoder] error.
func WithEncoder(e embedding.Encoder) Option {
	return func(c *config) error {
		if err := c.newOnly("WithEncoder"); err != nil {
			return err
		}
		if e == nil {
			return errorf(ErrInvalidOption, "WithEncoder: nil encoder")
		}
		c.encoder = e
		return nil
	}
}

// WithMetric states the namespace's metric, which the Searcher uses to
// build the Mean query and to re-score candidates locally (negatives, Max
// and RRF with vectors). New only. Default: the store's own metric when the
// store reports it (it implements [index.Metricer], as every store of this
// module does), else index.Cosine. A metric that contradicts the store's is
// an error naming both, so WithMetric is needed only for a store that does
// not report its metric.
func WithMetric(m index.Metric) Option {
	return func(c *config) error {
		if err := c.newOnly("WithMetric"); err != nil {
			return err
		}
		if !m.Valid() {
			return errorf(ErrInvalidOption, "WithMetric: unknown metric %v", m)
		}
		c.metric, c.metricSet = m, true
		return nil
	}
}

// WithConcurrency sets how many store queries one search runs at once (Max
// and RRF query once per positive), n ≥ 1. Default: DefaultConcurrency (4).
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return errorf(ErrInvalidOption, "WithConcurrency: %d < 1", n)
		}
		c.concurrency = n
		return nil
	}
}

// WithTopK sets the number of results, 1 to index.MaxTopK. Default:
// DefaultTopK (10).
func WithTopK(n int) Option {
	return func(c *config) error {
		if n < 1 || n > index.MaxTopK {
			return errorf(ErrInvalidOption, "WithTopK: %d out of range [1, %d]", n, index.MaxTopK)
		}
		c.topK = n
		return nil
	}
}

// WithCandidates sets how many unseen items each store query gathers before
// they are merged and re-scored (Max and RRF; Mean does not use it), 1 to
// index.MaxTopK; values below the TopK are raised to it. More candidates
// let the negatives pull in replacements from deeper down and make RRF fuse
// deeper lists, at the cost of larger queries. Default: the TopK, or
// DefaultCandidatesFactor × TopK when the bucket has negatives.
func WithCandidates(n int) Option {
	return func(c *config) error {
		if n < 1 || n > index.MaxTopK {
			return errorf(ErrInvalidOption, "WithCandidates: %d out of range [1, %d]", n, index.MaxTopK)
		}
		c.candidates = n
		return nil
	}
}

// WithFilter restricts the results to records whose metadata f matches; the
// zero Filter matches every record. Default: every record.
func WithFilter(f index.Filter) Option {
	return func(c *config) error {
		if err := f.Validate(); err != nil {
			return errorf(ErrInvalidOption, "WithFilter: %w", err)
		}
		c.filter = f
		return nil
	}
}

// WithExclude leaves the records with these IDs out of the results, for
// example those a user has already seen. Exclusion is exact: Search asks
// the store for more until TopK unseen items are found (see the package doc
// for the one limit). Several WithExclude add up, and those given to Search
// add to those given to New. Default: none.
func WithExclude(ids ...string) Option {
	return func(c *config) error {
		for i, id := range ids {
			if err := driver.ValidateID(id); err != nil {
				return errorf(ErrInvalidOption, "WithExclude: id %d (%q): %w", i, id, err)
			}
		}
		// Clip first: a Search appends to a copy of New's list, never into
		// the array New's config shares between calls.
		c.exclude = append(slices.Clip(c.exclude), ids...)
		return nil
	}
}

// WithAggregation sets how positives are combined. Default: Mean.
func WithAggregation(a Aggregation) Option {
	return func(c *config) error {
		if !a.Valid() {
			return errorf(ErrInvalidOption, "WithAggregation: unknown aggregation %v", a)
		}
		c.agg = a
		return nil
	}
}

// WithNegativeWeight sets how strongly negatives push results away, a
// finite w ≥ 0 (w < 1 under Euclidean, where w ≥ 1 would reward being far
// from everything). 0 ignores the negatives. Default:
// DefaultNegativeWeight (0.5).
func WithNegativeWeight(w float64) Option {
	return func(c *config) error {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return errorf(ErrInvalidOption, "WithNegativeWeight: %v is not a finite number ≥ 0", w)
		}
		c.negWeight = w
		return nil
	}
}

// WithRRFConstant sets the k of reciprocal-rank fusion (score =
// Σ 1/(k+rank)), a finite k > 0. Smaller k favours the top of each list.
// Default: DefaultRRFConstant (60).
func WithRRFConstant(k float64) Option {
	return func(c *config) error {
		if math.IsNaN(k) || math.IsInf(k, 0) || k <= 0 {
			return errorf(ErrInvalidOption, "WithRRFConstant: %v is not a finite number > 0", k)
		}
		c.rrfK = k
		return nil
	}
}

// WithIncludeBucket, when true, lets records the bucket names by ID appear
// in the results. Default: false, they are left out.
func WithIncludeBucket(include bool) Option {
	return func(c *config) error { c.includeBucket = include; return nil }
}

// WithIncludeVectors, when true, returns each result's vector in
// [Result].Vector. Default: false.
func WithIncludeVectors(include bool) Option {
	return func(c *config) error { c.includeVectors = include; return nil }
}

// check reports what no single option can: a negative weight of 1 or more
// under Euclidean, where the metric may come from the store.
func (c *config) check() error {
	if c.metric == index.Euclidean && c.negWeight >= 1 {
		return errorf(ErrInvalidOption, "WithNegativeWeight: %v must be < 1 under the euclidean metric", c.negWeight)
	}
	return nil
}
