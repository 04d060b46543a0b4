package look

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Space is a set of embeddings held in memory for analysis: the records of
// a namespace (or a uniform sample of them) scanned by [Load], or given by
// [FromRecords]. Under index.Cosine the vectors are kept normalised. A
// Space is read-only once built and safe for concurrent use; it caches its
// kNN graphs.
type Space struct {
	ids    []string
	vecs   []float32 // n × dim, row i is item i
	meta   []index.Metadata
	dim    int
	metric index.Metric
	total  int // records scanned (≥ len(ids) when sampled)

	store     index.VectorStore // nil unless made by Load
	namespace string
	filter    index.Filter

	mu     sync.Mutex
	graphs map[graphKey]*Graph
}

type graphKey struct {
	k        int
	viaStore bool
	approx   bool
}

// Load scans namespace of store (only the records [WithFilter] matches)
// into a Space. When the pool holds more than [WithMaxItems] records, it
// keeps a uniform sample of them in one pass (reservoir sampling, seeded by
// [WithSeed]), so memory stays bounded whatever the pool's size; Total
// reports how many were scanned. It uses only the VectorStore interface
// (Scan), so it works on every store.
//
// Options: WithFilter, WithMaxItems, WithSeed, WithMetric (default: the
// store's), WithFields; any other is an error.
func Load(ctx context.Context, store index.VectorStore, namespace string, opts ...Option) (*Space, error) {
	switch {
	case ctx == nil:
		return nil, errorf(index.ErrInvalidArgument, "Load: nil context")
	case store == nil:
		return nil, errorf(ErrInvalidOption, "Load: nil store")
	}
	c, err := newConfig(callLoad, opts)
	if err != nil {
		return nil, err
	}
	if m, ok := index.StoreMetric(store); ok {
		if c.metricSet && c.metric != m {
			return nil, errorf(ErrInvalidOption, "WithMetric(%v) contradicts the store's metric %v", c.metric, m)
		}
		c.metric = m
	}
	sp := newSpace(c.metric)
	sp.store, sp.namespace, sp.filter = store, namespace, c.filter
	r := rand.New(rand.NewPCG(c.seed, 0x5a3e7))
	for rec, err := range store.Scan(ctx, namespace, c.filter) {
		if err != nil {
			return nil, errorf(nil, "scanning %q: %w", namespace, err)
		}
		slot := -1
		if sp.total < c.maxItems {
			slot = len(sp.ids)
		} else if j := r.IntN(sp.total + 1); j < c.maxItems {
			slot = j
		}
		sp.total++
		if slot < 0 {
			continue
		}
		if err := sp.put(slot, rec, &c); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return sp, nil
}

// FromRecords builds a Space from records held by the caller (their
// vectors are copied). Options: WithMetric (default index.Cosine),
// WithFields; any other is an error.
func FromRecords(recs []index.Record, opts ...Option) (*Space, error) {
	c, err := newConfig(callFromRecords, opts)
	if err != nil {
		return nil, err
	}
	sp := newSpace(c.metric)
	seen := make(map[string]bool, len(recs))
	for _, rec := range recs {
		if seen[rec.ID] {
			return nil, &index.ItemError{Index: sp.total, ID: rec.ID, Err: fmt.Errorf("%w: given twice", index.ErrInvalidID)}
		}
		seen[rec.ID] = true
		if err := sp.put(len(sp.ids), rec, &c); err != nil {
			return nil, err
		}
		sp.total++
	}
	return sp, nil
}

func newSpace(m index.Metric) *Space {
	return &Space{metric: m, graphs: map[graphKey]*Graph{}}
}

// put stores rec in slot (== len to append).
func (sp *Space) put(slot int, rec index.Record, c *config) error {
	item := func(err error) error {
		return &index.ItemError{Index: sp.total, ID: rec.ID, Err: err}
	}
	if sp.dim == 0 {
		if len(rec.Vector) == 0 {
			return item(fmt.Errorf("%w: empty vector", index.ErrInvalidVector))
		}
		sp.dim = len(rec.Vector)
	}
	if len(rec.Vector) != sp.dim {
		return item(fmt.Errorf("%w: length %d, want %d", index.ErrDimension, len(rec.Vector), sp.dim))
	}
	if i := vecmath.Finite(rec.Vector); i >= 0 {
		return item(fmt.Errorf("%w: element %d is %v", index.ErrInvalidVector, i, rec.Vector[i]))
	}
	md := rec.Metadata
	if c.fieldsSet {
		var kept index.Metadata
		for _, f := range c.fields {
			if v, ok := md[f]; ok {
				if kept == nil {
					kept = index.Metadata{}
				}
				kept[f] = v
			}
		}
		md = kept
	}
	if slot == len(sp.ids) {
		sp.ids = append(sp.ids, rec.ID)
		sp.vecs = append(sp.vecs, rec.Vector...)
		sp.meta = append(sp.meta, md)
	} else {
		sp.ids[slot] = rec.ID
		copy(sp.vecs[slot*sp.dim:(slot+1)*sp.dim], rec.Vector)
		sp.meta[slot] = md
	}
	if sp.metric == index.Cosine {
		if vecmath.Normalize(sp.vecs[slot*sp.dim:(slot+1)*sp.dim]) == 0 {
			return item(fmt.Errorf("%w: zero vector under cosine", index.ErrInvalidVector))
		}
	}
	return nil
}

// Len returns the number of items in the space.
func (sp *Space) Len() int { return len(sp.ids) }

// Total returns the number of records scanned: Len, or more when Load
// sampled the pool.
func (sp *Space) Total() int { return sp.total }

// Dim returns the vectors' dimension (0 for an empty space).
func (sp *Space) Dim() int { return sp.dim }

// Metric returns the metric distances are measured with.
func (sp *Space) Metric() index.Metric { return sp.metric }

// Item is one item of a [Space].
type Item struct {
	// Index is the item's position in the space, 0 to Len − 1.
	Index int
	// ID is the record's ID.
	ID string
	// Vector is the vector as the space keeps it (unit length under
	// cosine); shared, do not modify it.
	Vector []float32
	// Metadata is the record's metadata (only the [WithFields] kept);
	// shared, do not modify it.
	Metadata index.Metadata
}

// Item returns item i, 0 ≤ i < Len. Another i is an error wrapping
// index.ErrInvalidArgument.
func (sp *Space) Item(i int) (Item, error) {
	if err := sp.checkIndex("Space.Item", i); err != nil {
		return Item{}, err
	}
	return Item{Index: i, ID: sp.ids[i], Vector: sp.vec(i), Metadata: sp.meta[i]}, nil
}

// checkIndex reports an item index out of range.
func (sp *Space) checkIndex(call string, i int) error {
	if i < 0 || i >= len(sp.ids) {
		return errorf(index.ErrInvalidArgument, "%s: item %d out of range [0, %d)", call, i, len(sp.ids))
	}
	return nil
}

// vec returns item i's vector, shared.
func (sp *Space) vec(i int) []float32 { return sp.vecs[i*sp.dim : (i+1)*sp.dim : (i+1)*sp.dim] }

// Distance returns the distance between items i and j: 1 − cosine
// similarity under index.Cosine, the Euclidean distance under
// index.Euclidean, and the negated dot product under index.DotProduct
// (not a true distance, but ordered the same way as the store's scores).
// An index out of range is an error wrapping index.ErrInvalidArgument.
func (sp *Space) Distance(i, j int) (float64, error) {
	for _, k := range []int{i, j} {
		if err := sp.checkIndex("Space.Distance", k); err != nil {
			return 0, err
		}
	}
	return sp.distance(i, j), nil
}

// distance is Distance for indexes known to be in range.
func (sp *Space) distance(i, j int) float64 {
	return sp.distanceFromScore(sp.score(sp.vec(i), sp.vec(j)))
}

// score returns the store's score between two vectors of the space.
func (sp *Space) score(a, b []float32) float32 {
	if sp.metric == index.Euclidean {
		return -vecmath.SquaredL2(a, b)
	}
	return vecmath.Dot(a, b)
}

// distanceFromScore converts a store score (index.Match.Score) into the
// package's distance.
func (sp *Space) distanceFromScore(s float32) float64 {
	switch sp.metric {
	case index.Cosine:
		return max(0, 1-float64(s))
	case index.Euclidean:
		return sqrt(max(0, -float64(s)))
	}
	return -float64(s)
}
