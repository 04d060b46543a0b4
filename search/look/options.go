package look

import (
	"fmt"
	"runtime"

	"github.com/shoalhq/shoal/index"
)

// Defaults of the options.
const (
	// DefaultMaxItems caps how many records [Load] keeps; larger pools are
	// sampled uniformly (reservoir sampling). 2,000,000 × 128-d vectors
	// take about 1 GiB.
	DefaultMaxItems = 2_000_000
	// DefaultK is the number of neighbours of the rarity score and of the
	// kNN graph.
	DefaultK = 10
	// DefaultTop is how many items [Space.Rarest] returns.
	DefaultTop = 20
	// DefaultExactLimit is the largest space whose kNN graph is computed
	// exactly; larger spaces use the inverted-file approximation (see
	// [WithApproximate]).
	DefaultExactLimit = 50_000
	// DefaultProbes is how many inverted lists each item searches in the
	// approximate kNN.
	DefaultProbes = 6
	// DefaultMaxPairs caps the pairs [Space.Duplicates] returns.
	DefaultMaxPairs = 100_000
	// DefaultRepresentatives is how many IDs each error cluster lists.
	DefaultRepresentatives = 5
	// DefaultMapPoints caps the points of a [Map]; larger spaces are
	// sampled.
	DefaultMapPoints = 20_000
	// DefaultMapNeighbors is the neighbourhood size of the neighbour
	// layout (UMAP's n_neighbors).
	DefaultMapNeighbors = 15
	// DefaultMinDist is the neighbour layout's minimum distance between
	// embedded points (UMAP's min_dist).
	DefaultMinDist = 0.1
	// DefaultSeed seeds every random choice: sampling, k-means, layouts.
	DefaultSeed = 1
)

// Option configures the functions and methods of this package. Each option
// says which calls read it; the others ignore it.
type Option func(*config) error

type config struct {
	filter      index.Filter
	maxItems    int
	seed        uint64
	metric      index.Metric
	metricSet   bool
	fields      []string
	fieldsSet   bool
	k           int
	weights     []float64
	top         int
	concurrency int
	viaStore    bool
	exactLimit  int
	lists       int
	probes      int
	acrossField string
	acrossA     any
	acrossB     any
	across      bool
	maxPairs    int
	clusters    int
	reps        int
	mapPoints   int
	mapNN       int
	minDist     float64
	epochs      int
}

func newConfig(opts []Option) (config, error) {
	c := config{
		maxItems:    DefaultMaxItems,
		seed:        DefaultSeed,
		metric:      index.Cosine,
		k:           DefaultK,
		top:         DefaultTop,
		concurrency: runtime.GOMAXPROCS(0),
		exactLimit:  DefaultExactLimit,
		probes:      DefaultProbes,
		maxPairs:    DefaultMaxPairs,
		reps:        DefaultRepresentatives,
		mapPoints:   DefaultMapPoints,
		mapNN:       DefaultMapNeighbors,
		minDist:     DefaultMinDist,
	}
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

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}

// WithFilter keeps only the records that f matches ([Load]). Default: all.
func WithFilter(f index.Filter) Option {
	return func(c *config) error {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("%w: filter: %w", ErrInvalidOption, err)
		}
		c.filter = f
		return nil
	}
}

// WithMaxItems caps the records [Load] keeps; a larger pool is sampled
// uniformly at random in one pass (reservoir sampling, seeded by
// [WithSeed]). Default [DefaultMaxItems].
func WithMaxItems(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("max items %d < 1", n)
		}
		c.maxItems = n
		return nil
	}
}

// WithSeed seeds sampling, k-means and layouts (default [DefaultSeed]); the
// same seed and data give the same results.
func WithSeed(seed uint64) Option {
	return func(c *config) error { c.seed = seed; return nil }
}

// WithMetric tells [Load] and [FromRecords] the namespace's metric. Without
// it, Load asks the store through an optional Metric() index.Metric method
// (index/memory has one) and otherwise assumes index.Cosine.
func WithMetric(m index.Metric) Option {
	return func(c *config) error {
		if !m.Valid() {
			return invalid("metric %v", m)
		}
		c.metric, c.metricSet = m, true
		return nil
	}
}

// WithFields keeps only these metadata fields of each record ([Load]), to
// save memory on large pools. Default: every field. No names keeps none.
func WithFields(names ...string) Option {
	return func(c *config) error {
		c.fields, c.fieldsSet = append([]string(nil), names...), true
		return nil
	}
}

// WithK sets the number of nearest neighbours (default [DefaultK]) of the
// rarity score.
func WithK(k int) Option {
	return func(c *config) error {
		if k < 1 || k > index.MaxTopK-1 {
			return invalid("k %d out of [1, %d]", k, index.MaxTopK-1)
		}
		c.k = k
		return nil
	}
}

// WithWeights sets the weights of the k neighbour distances in the rarity
// score, nearest first; its length sets k. Default: k equal weights (the
// mean distance to the k nearest neighbours).
func WithWeights(w ...float64) Option {
	return func(c *config) error {
		if len(w) == 0 {
			return invalid("no weights")
		}
		sum := 0.0
		for i, x := range w {
			if !(x >= 0) || x > 1e300 {
				return invalid("weight %d is %v (want a finite number ≥ 0)", i, x)
			}
			sum += x
		}
		if sum == 0 {
			return invalid("weights sum to 0")
		}
		c.weights = append([]float64(nil), w...)
		c.k = len(w)
		return nil
	}
}

// WithTop sets how many results [Space.Rarest] returns (default
// [DefaultTop]); 0 returns every item.
func WithTop(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return invalid("top %d < 0", n)
		}
		c.top = n
		return nil
	}
}

// WithConcurrency sets how many goroutines (local kNN, k-means) or store
// queries ([WithStoreQueries]) run at once. Default runtime.GOMAXPROCS(0).
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("concurrency %d < 1", n)
		}
		c.concurrency = n
		return nil
	}
}

// WithStoreQueries finds neighbours by querying the store once per item
// (store.Query with TopK k+1 and the space's filter, [WithConcurrency] at
// once) instead of in memory. It needs a space made by [Load]. Use it when
// the store has an index that makes queries cheap; the in-memory path is
// exact and faster for the embedded store. Default: in memory.
func WithStoreQueries() Option {
	return func(c *config) error { c.viaStore = true; return nil }
}

// WithExactLimit sets the largest space whose kNN is computed exactly in
// memory (default [DefaultExactLimit]); larger ones use the inverted-file
// approximation. 0 always uses the approximation.
func WithExactLimit(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return invalid("exact limit %d < 0", n)
		}
		c.exactLimit = n
		return nil
	}
}

// WithApproximate tunes the approximate kNN: the vectors are split into
// lists by k-means (default about √n lists) and each item is compared with
// the items of the probes lists nearest to it (default [DefaultProbes]).
// More probes: better recall, proportionally slower.
func WithApproximate(lists, probes int) Option {
	return func(c *config) error {
		if lists < 0 || probes < 1 {
			return invalid("approximate lists %d, probes %d (want lists ≥ 0, probes ≥ 1)", lists, probes)
		}
		c.lists, c.probes = lists, probes
		return nil
	}
}

// WithAcross makes [Space.Duplicates] report only pairs with one item
// whose metadata field equals a and the other's equal to b, such as
// WithAcross("split", "train", "test"): the leaks between splits.
func WithAcross(field string, a, b any) Option {
	return func(c *config) error {
		if field == "" {
			return invalid("empty field for WithAcross")
		}
		if err := index.Eq(field, a).Validate(); err != nil {
			return fmt.Errorf("%w: across %s=%v: %w", ErrInvalidOption, field, a, err)
		}
		if err := index.Eq(field, b).Validate(); err != nil {
			return fmt.Errorf("%w: across %s=%v: %w", ErrInvalidOption, field, b, err)
		}
		c.acrossField, c.acrossA, c.acrossB, c.across = field, a, b, true
		return nil
	}
}

// WithMaxPairs caps the pairs [Space.Duplicates] returns (default
// [DefaultMaxPairs]); the closest are kept, and Duplicates reports that it
// cut the list.
func WithMaxPairs(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("max pairs %d < 1", n)
		}
		c.maxPairs = n
		return nil
	}
}

// WithClusters sets the number of k-means clusters of [Space.ErrorClusters]
// (default: √(n/2), between 2 and 100).
func WithClusters(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("clusters %d < 1", n)
		}
		c.clusters = n
		return nil
	}
}

// WithRepresentatives sets how many IDs each error cluster lists (default
// [DefaultRepresentatives]).
func WithRepresentatives(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return invalid("representatives %d < 0", n)
		}
		c.reps = n
		return nil
	}
}

// WithMapPoints caps the points of a [Map] (default [DefaultMapPoints]);
// a larger space is sampled, seeded by [WithSeed].
func WithMapPoints(n int) Option {
	return func(c *config) error {
		if n < 3 {
			return invalid("map points %d < 3", n)
		}
		c.mapPoints = n
		return nil
	}
}

// WithMapNeighbors sets the neighbourhood size of the neighbour layout
// (default [DefaultMapNeighbors]).
func WithMapNeighbors(n int) Option {
	return func(c *config) error {
		if n < 2 || n > 200 {
			return invalid("map neighbours %d out of [2, 200]", n)
		}
		c.mapNN = n
		return nil
	}
}

// WithMinDist sets how tightly the neighbour layout packs points (UMAP's
// min_dist, default [DefaultMinDist]), in (0, 1].
func WithMinDist(d float64) Option {
	return func(c *config) error {
		if !(d > 0 && d <= 1) {
			return invalid("min dist %v out of (0, 1]", d)
		}
		c.minDist = d
		return nil
	}
}

// WithEpochs sets the neighbour layout's optimisation epochs (default: 500
// up to 2,000 points, 200 above).
func WithEpochs(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 100_000 {
			return invalid("epochs %d out of [1, 100000]", n)
		}
		c.epochs = n
		return nil
	}
}
