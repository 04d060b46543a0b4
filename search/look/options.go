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

// Option configures the functions and methods of this package that take
// options. Each option says which calls read it (and its default); passing
// it to any other call is an error wrapping [ErrInvalidOption] that names
// the option and the call, so that nothing is silently ignored. A bad value
// is an error naming the option; a nil Option is ignored.
type Option func(*config) error

// call is the set of calls an option is read by.
type call uint16

const (
	callLoad call = 1 << iota
	callFromRecords
	callNeighbors
	callRarity
	callRarest
	callDuplicates
	callErrorClusters
	callMap
)

// knnCalls are the calls that build a kNN graph with the options of
// [Space.Neighbors].
const knnCalls = callNeighbors | callRarity | callRarest

var callNames = []string{"Load", "FromRecords", "Space.Neighbors", "Space.Rarity", "Space.Rarest",
	"Space.Duplicates", "Space.ErrorClusters", "Space.Map"}

func (k call) String() string {
	for i, name := range callNames {
		if k == 1<<i {
			return name
		}
	}
	return fmt.Sprintf("call(%d)", uint16(k))
}

type config struct {
	call        call // the call being configured
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

// newConfig applies opts, as given to the call k, to the defaults.
func newConfig(k call, opts []Option) (config, error) {
	c := config{
		call:        k,
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

// readBy reports option given to a call outside calls.
func (c *config) readBy(option string, calls call) error {
	if c.call&calls == 0 {
		return errorf(ErrInvalidOption, "%s does not apply to %v", option, c.call)
	}
	return nil
}

// WithFilter keeps only the records that f matches; the zero Filter
// matches every record. Read by [Load]. Default: every record.
func WithFilter(f index.Filter) Option {
	return func(c *config) error {
		if err := c.readBy("WithFilter", callLoad); err != nil {
			return err
		}
		if err := f.Validate(); err != nil {
			return errorf(ErrInvalidOption, "WithFilter: %w", err)
		}
		c.filter = f
		return nil
	}
}

// WithMaxItems caps the records [Load] keeps, n ≥ 1; a larger pool is
// sampled uniformly at random in one pass (reservoir sampling, seeded by
// [WithSeed]). Read by Load. Default [DefaultMaxItems].
func WithMaxItems(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithMaxItems", callLoad); err != nil {
			return err
		}
		if n < 1 {
			return errorf(ErrInvalidOption, "WithMaxItems: %d < 1", n)
		}
		c.maxItems = n
		return nil
	}
}

// WithSeed seeds sampling, k-means and layouts; the same seed and data give
// the same results. Read by [Load], [Space.Neighbors], [Space.Rarity],
// [Space.Rarest], [Space.Duplicates], [Space.ErrorClusters] and
// [Space.Map]. Default [DefaultSeed].
func WithSeed(seed uint64) Option {
	return func(c *config) error {
		if err := c.readBy("WithSeed", callLoad|knnCalls|callDuplicates|callErrorClusters|callMap); err != nil {
			return err
		}
		c.seed = seed
		return nil
	}
}

// WithMetric states the namespace's metric. Read by [Load] and
// [FromRecords]. Default: for Load, the store's own metric when the store
// reports it (it implements [index.Metricer], as every store of this
// module does), else index.Cosine; a metric that contradicts the store's is
// an error naming both. For FromRecords, index.Cosine.
func WithMetric(m index.Metric) Option {
	return func(c *config) error {
		if err := c.readBy("WithMetric", callLoad|callFromRecords); err != nil {
			return err
		}
		if !m.Valid() {
			return errorf(ErrInvalidOption, "WithMetric: unknown metric %v", m)
		}
		c.metric, c.metricSet = m, true
		return nil
	}
}

// WithFields keeps only these metadata fields of each record, to save
// memory on large pools; no names keeps none. Read by [Load] and
// [FromRecords]. Default: every field.
func WithFields(names ...string) Option {
	return func(c *config) error {
		if err := c.readBy("WithFields", callLoad|callFromRecords); err != nil {
			return err
		}
		c.fields, c.fieldsSet = append([]string(nil), names...), true
		return nil
	}
}

// WithK sets the number of nearest neighbours of the kNN graph and the
// rarity score, 1 to index.MaxTopK − 1. Read by [Space.Neighbors],
// [Space.Rarity] and [Space.Rarest]. Default [DefaultK].
func WithK(k int) Option {
	return func(c *config) error {
		if err := c.readBy("WithK", knnCalls); err != nil {
			return err
		}
		if k < 1 || k > index.MaxTopK-1 {
			return errorf(ErrInvalidOption, "WithK: %d out of range [1, %d]", k, index.MaxTopK-1)
		}
		c.k = k
		return nil
	}
}

// WithWeights sets the weights of the k neighbour distances in the rarity
// score, nearest first, each a finite number ≥ 0 and not all 0; its length
// sets k. Read by [Space.Neighbors] (its length only), [Space.Rarity] and
// [Space.Rarest]. Default: k equal weights (the mean distance to the k
// nearest neighbours).
func WithWeights(w ...float64) Option {
	return func(c *config) error {
		if err := c.readBy("WithWeights", knnCalls); err != nil {
			return err
		}
		if len(w) == 0 {
			return errorf(ErrInvalidOption, "WithWeights: no weights")
		}
		sum := 0.0
		for i, x := range w {
			if !(x >= 0) || x > 1e300 {
				return errorf(ErrInvalidOption, "WithWeights: weight %d is %v (want a finite number ≥ 0)", i, x)
			}
			sum += x
		}
		if sum == 0 {
			return errorf(ErrInvalidOption, "WithWeights: weights sum to 0")
		}
		c.weights = append([]float64(nil), w...)
		c.k = len(w)
		return nil
	}
}

// WithTop sets how many results [Space.Rarest] returns, n ≥ 0; 0 returns
// every item. Read by Rarest. Default [DefaultTop].
func WithTop(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithTop", callRarest); err != nil {
			return err
		}
		if n < 0 {
			return errorf(ErrInvalidOption, "WithTop: %d < 0", n)
		}
		c.top = n
		return nil
	}
}

// WithConcurrency sets how many goroutines (local kNN, k-means) or store
// queries ([WithStoreQueries]) run at once, n ≥ 1. Read by
// [Space.Neighbors], [Space.Rarity], [Space.Rarest], [Space.Duplicates],
// [Space.ErrorClusters] and [Space.Map]. Default runtime.GOMAXPROCS(0).
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithConcurrency", knnCalls|callDuplicates|callErrorClusters|callMap); err != nil {
			return err
		}
		if n < 1 {
			return errorf(ErrInvalidOption, "WithConcurrency: %d < 1", n)
		}
		c.concurrency = n
		return nil
	}
}

// WithStoreQueries finds neighbours by querying the store once per item
// (store.Query with TopK k+1 and the space's filter, [WithConcurrency] at
// once) instead of in memory. It needs a space made by [Load]. Use it when
// the store has an index that makes queries cheap; the in-memory path is
// exact and faster for the embedded store. Read by [Space.Neighbors],
// [Space.Rarity] and [Space.Rarest]. Default: in memory.
func WithStoreQueries() Option {
	return func(c *config) error {
		if err := c.readBy("WithStoreQueries", knnCalls); err != nil {
			return err
		}
		c.viaStore = true
		return nil
	}
}

// WithExactLimit sets the largest space whose kNN is computed exactly in
// memory, n ≥ 0; larger ones use the inverted-file approximation. 0 always
// uses the approximation. Read by [Space.Neighbors], [Space.Rarity],
// [Space.Rarest], [Space.Duplicates] and [Space.Map]. Default
// [DefaultExactLimit].
func WithExactLimit(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithExactLimit", knnCalls|callDuplicates|callMap); err != nil {
			return err
		}
		if n < 0 {
			return errorf(ErrInvalidOption, "WithExactLimit: %d < 0", n)
		}
		c.exactLimit = n
		return nil
	}
}

// WithApproximate tunes the approximate kNN: the vectors are split into
// lists by k-means (lists ≥ 0; 0 means about √n lists) and each item is
// compared with the items of the probes lists nearest to it (probes ≥ 1).
// More probes: better recall, proportionally slower. Read by
// [Space.Neighbors], [Space.Rarity], [Space.Rarest], [Space.Duplicates]
// and [Space.Map]. Default: 0 lists, [DefaultProbes] probes.
func WithApproximate(lists, probes int) Option {
	return func(c *config) error {
		if err := c.readBy("WithApproximate", knnCalls|callDuplicates|callMap); err != nil {
			return err
		}
		if lists < 0 || probes < 1 {
			return errorf(ErrInvalidOption, "WithApproximate: lists %d, probes %d (want lists ≥ 0, probes ≥ 1)", lists, probes)
		}
		c.lists, c.probes = lists, probes
		return nil
	}
}

// WithAcross makes [Space.Duplicates] report only pairs with one item
// whose metadata field equals a and the other's equal to b, such as
// WithAcross("split", "train", "test"): the leaks between splits. Read by
// Duplicates. Default: every pair.
func WithAcross(field string, a, b any) Option {
	return func(c *config) error {
		if err := c.readBy("WithAcross", callDuplicates); err != nil {
			return err
		}
		if field == "" {
			return errorf(ErrInvalidOption, "WithAcross: empty field")
		}
		for _, v := range []any{a, b} {
			if err := index.Eq(field, v).Validate(); err != nil {
				return errorf(ErrInvalidOption, "WithAcross: %s=%v: %w", field, v, err)
			}
		}
		c.acrossField, c.acrossA, c.acrossB, c.across = field, a, b, true
		return nil
	}
}

// WithMaxPairs caps the pairs [Space.Duplicates] returns, n ≥ 1; the
// closest are kept, and Duplicates reports that it cut the list. Read by
// Duplicates. Default [DefaultMaxPairs].
func WithMaxPairs(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithMaxPairs", callDuplicates); err != nil {
			return err
		}
		if n < 1 {
			return errorf(ErrInvalidOption, "WithMaxPairs: %d < 1", n)
		}
		c.maxPairs = n
		return nil
	}
}

// WithClusters sets the number of k-means clusters, n ≥ 1. Read by
// [Space.ErrorClusters]. Default: √(n/2) for n items, between 2 and 100.
func WithClusters(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithClusters", callErrorClusters); err != nil {
			return err
		}
		if n < 1 {
			return errorf(ErrInvalidOption, "WithClusters: %d < 1", n)
		}
		c.clusters = n
		return nil
	}
}

// WithRepresentatives sets how many IDs each error cluster lists, n ≥ 0.
// Read by [Space.ErrorClusters]. Default [DefaultRepresentatives].
func WithRepresentatives(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithRepresentatives", callErrorClusters); err != nil {
			return err
		}
		if n < 0 {
			return errorf(ErrInvalidOption, "WithRepresentatives: %d < 0", n)
		}
		c.reps = n
		return nil
	}
}

// WithMapPoints caps the points of a [Map], n ≥ 3; a larger space is
// sampled, seeded by [WithSeed]. Read by [Space.Map]. Default
// [DefaultMapPoints].
func WithMapPoints(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithMapPoints", callMap); err != nil {
			return err
		}
		if n < 3 {
			return errorf(ErrInvalidOption, "WithMapPoints: %d < 3", n)
		}
		c.mapPoints = n
		return nil
	}
}

// WithMapNeighbors sets the neighbourhood size of the neighbour layout, 2
// to 200. Read by [Space.Map]. Default [DefaultMapNeighbors].
func WithMapNeighbors(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithMapNeighbors", callMap); err != nil {
			return err
		}
		if n < 2 || n > 200 {
			return errorf(ErrInvalidOption, "WithMapNeighbors: %d out of range [2, 200]", n)
		}
		c.mapNN = n
		return nil
	}
}

// WithMinDist sets how tightly the neighbour layout packs points (UMAP's
// min_dist), in (0, 1]. Read by [Space.Map]. Default [DefaultMinDist].
func WithMinDist(d float64) Option {
	return func(c *config) error {
		if err := c.readBy("WithMinDist", callMap); err != nil {
			return err
		}
		if !(d > 0 && d <= 1) {
			return errorf(ErrInvalidOption, "WithMinDist: %v out of range (0, 1]", d)
		}
		c.minDist = d
		return nil
	}
}

// WithEpochs sets the neighbour layout's optimisation epochs, 1 to
// 100,000. Read by [Space.Map]. Default: 500 up to 2,000 points, 200
// above.
func WithEpochs(n int) Option {
	return func(c *config) error {
		if err := c.readBy("WithEpochs", callMap); err != nil {
			return err
		}
		if n < 1 || n > 100_000 {
			return errorf(ErrInvalidOption, "WithEpochs: %d out of range [1, 100000]", n)
		}
		c.epochs = n
		return nil
	}
}
