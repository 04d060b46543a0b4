package feedback

import (
	"math"
	"slices"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/search"
)

// Defaults of the options of [NewSession] and [Resume].
const (
	// DefaultCandidates is how many items a store query gathers for exact
	// re-scoring (see [WithCandidates]).
	DefaultCandidates = 200
	// DefaultScanThreshold is the largest namespace, in records, that a
	// round re-scores in full through Scan (see [WithScanThreshold]).
	DefaultScanThreshold = 10_000
	// DefaultBackground is the size of the background sample of the pool
	// that the reranker learns as probably not relevant (see
	// [WithBackground]).
	DefaultBackground = 200
	// MaxBackground is the largest background sample [WithBackground]
	// accepts.
	MaxBackground = 50_000
	// DefaultGuardMargin is the smallest AUC gap by which the reranker must
	// trail the similarity for the guard to fall back (see
	// [WithGuardMargin]).
	DefaultGuardMargin = 0.05
)

// Option configures [NewSession] and [Resume].
type Option func(*config) error

type config struct {
	newReranker   func() Reranker
	metric        index.Metric
	metricSet     bool
	agg           search.Aggregation
	encoder       embedding.Encoder
	filter        index.Filter
	candidates    int
	scanThreshold int
	background    int
	bgSample      []string // WithBackgroundSample; nil: draw it
	guard         bool
	margin        float64
}

func defaultConfig() config {
	return config{
		newReranker:   func() Reranker { return &Logistic{} },
		metric:        index.Cosine,
		agg:           search.Mean,
		candidates:    DefaultCandidates,
		scanThreshold: DefaultScanThreshold,
		background:    DefaultBackground,
		guard:         true,
		margin:        DefaultGuardMargin,
	}
}

func buildConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithReranker sets how the session makes the classifier it fits each
// round: newReranker is called for every fit (the guard's cross-validation
// fits several, in parallel), and must return a fresh Reranker each time;
// it may be called from several goroutines at once. Default: a
// [Logistic] with the default settings.
func WithReranker(newReranker func() Reranker) Option {
	return func(c *config) error {
		if newReranker == nil {
			return errorf(ErrInvalidOption, "WithReranker: nil constructor")
		}
		c.newReranker = newReranker
		return nil
	}
}

// WithMetric states the namespace's metric. Under Cosine the session
// scales every vector to unit length before the reranker sees it, so that
// the reranker's ranking and the store's agree. Default: the store's own
// metric when the store reports it (it implements [index.Metricer], as
// every store of this module does), else index.Cosine. A metric that
// contradicts the store's is an error naming both, so WithMetric is needed
// only for a store that does not report its metric.
func WithMetric(m index.Metric) Option {
	return func(c *config) error {
		if !m.Valid() {
			return errorf(ErrInvalidOption, "WithMetric: unknown metric %v", m)
		}
		c.metric, c.metricSet = m, true
		return nil
	}
}

// WithAggregation sets how the bucket's examples combine into the plain
// similarity ranking of round 0 and of the fallback (see package search).
// Default: search.Mean.
func WithAggregation(a search.Aggregation) Option {
	return func(c *config) error {
		if !a.Valid() {
			return errorf(ErrInvalidOption, "WithAggregation: unknown aggregation %v", a)
		}
		c.agg = a
		return nil
	}
}

// WithEncoder sets the encoder that embeds the bucket's examples given by
// input (search.ByInput). It must be the encoder whose vectors the
// namespace holds. Default: none.
func WithEncoder(e embedding.Encoder) Option {
	return func(c *config) error {
		if e == nil {
			return errorf(ErrInvalidOption, "WithEncoder: nil encoder")
		}
		c.encoder = e
		return nil
	}
}

// WithFilter restricts the pool to the records whose metadata f matches:
// results, suggestions and the background sample come from them only.
// Default: every record of the namespace.
func WithFilter(f index.Filter) Option {
	return func(c *config) error {
		if err := f.Validate(); err != nil {
			return errorf(ErrInvalidOption, "WithFilter: %w", err)
		}
		c.filter = f
		return nil
	}
}

// WithCandidates sets how many unseen items each store query of a round
// gathers (1 to index.MaxTopK; raised to the number of results asked for)
// before the session re-scores them exactly and keeps the best. More
// candidates give Suggest and the blended ranking more to choose from and
// make up for approximate stores. Default: DefaultCandidates (200).
func WithCandidates(n int) Option {
	return func(c *config) error {
		if n < 1 || n > index.MaxTopK {
			return errorf(ErrInvalidOption, "WithCandidates: %d out of range [1, %d]", n, index.MaxTopK)
		}
		c.candidates = n
		return nil
	}
}

// WithScanThreshold sets the largest namespace, in records, that a round
// re-scores in full: every unseen record is read through Scan and scored,
// which is exact for every reranker and metric. Larger namespaces are
// served by store queries (see the package documentation). The size comes
// from the store's index.Counter when it has one; otherwise the scan stops
// as soon as it passes n records. 0 never scans. Default:
// DefaultScanThreshold (10,000).
func WithScanThreshold(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return errorf(ErrInvalidOption, "WithScanThreshold: %d < 0", n)
		}
		c.scanThreshold = n
		return nil
	}
}

// WithBackground sets the size of the background sample: records of the
// pool, drawn once per session, that the reranker learns as not relevant
// alongside the marks (marked and bucket records are left out of it). Most
// of a pool is not what a bucket looks for, and without this anchor a
// classifier fitted only on marks near the query can rank far-away,
// never-seen regions of the pool highest. The sample is unlabeled, though,
// and some of it is relevant; so each round keeps only reliable negatives,
// as positive-unlabeled learning does: it fits once, drops the background
// items that fit scores as relevant, and fits again. 0 turns the
// background off. Default: DefaultBackground (200).
//
// The sample is the n records of the pool (after WithFilter) whose IDs
// have the smallest seeded hash: uniform, drawn in one Scan of the
// namespace, and the same for the same IDs whatever the store and the
// order in which it holds or scans them, so the same bucket and marks give
// the same rounds on every run. A resumed session reuses the saved sample.
func WithBackground(n int) Option {
	return func(c *config) error {
		if n < 0 || n > MaxBackground {
			return errorf(ErrInvalidOption, "WithBackground: %d out of range [0, %d]", n, MaxBackground)
		}
		c.background = n
		return nil
	}
}

// WithBackgroundSample gives the session its background sample by ID, as
// [SampleBackground] returns it, instead of drawing it with a Scan of the
// pool. Services that open many sessions over one pool draw the sample
// once and pass it to each (a Scan of a 60,000-record pool per session
// dominated a page's first round under load). IDs that no longer exist are
// skipped; the IDs are saved with the session. Default: drawn by the
// session's first round (see [WithBackground]).
func WithBackgroundSample(ids []string) Option {
	return func(c *config) error {
		if len(ids) > MaxBackground {
			return errorf(ErrInvalidOption, "WithBackgroundSample: %d IDs, more than %d", len(ids), MaxBackground)
		}
		c.bgSample = slices.Clone(ids)
		if c.bgSample == nil {
			c.bgSample = []string{}
		}
		return nil
	}
}

// WithGuard turns the guard against harmful feedback on or off. On, every
// round that has marks compares the reranker with the plain bucket
// similarity on the marked items; when the reranker is not better the round
// blends both or falls back to the similarity (see the package
// documentation). Off, every round with marks ranks by the reranker alone.
// Default: on.
func WithGuard(on bool) Option {
	return func(c *config) error {
		c.guard = on
		return nil
	}
}

// WithGuardMargin sets how much worse than the plain similarity, in AUC on
// the marked items, the reranker may rank them and still be blended with
// the similarity rather than replaced by it. The guard uses the larger of m
// and the standard error of an AUC on the round's counts of marks, so that
// a gap within sampling noise never causes a fallback. Default:
// DefaultGuardMargin (0.05).
func WithGuardMargin(m float64) Option {
	return func(c *config) error {
		if math.IsNaN(m) || m < 0 || m > 1 {
			return errorf(ErrInvalidOption, "WithGuardMargin: %v not in [0, 1]", m)
		}
		c.margin = m
		return nil
	}
}
