package index

import (
	"context"
	"fmt"
	"iter"
	"strings"
)

// Record is one item in a store: an ID unique within its namespace, a vector
// and optional metadata.
type Record struct {
	ID       string
	Vector   []float32
	Metadata Metadata
}

// Metric is how a store compares vectors. Scores are always "larger is more
// similar", whatever the metric.
type Metric int

const (
	// Cosine scores by cosine similarity, in [-1, 1]. Stores may normalise
	// vectors on insert; Fetch and Scan then return unit vectors.
	Cosine Metric = iota
	// DotProduct scores by the raw dot product.
	DotProduct
	// Euclidean scores by the negated squared Euclidean distance, −‖a−b‖²,
	// so that 0 is identical and more negative is farther.
	Euclidean
)

// String returns "cosine", "dot" or "euclidean".
func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case DotProduct:
		return "dot"
	case Euclidean:
		return "euclidean"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// ParseMetric parses the names String returns.
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(s) {
	case "cosine":
		return Cosine, nil
	case "dot", "dotproduct", "dot_product", "ip":
		return DotProduct, nil
	case "euclidean", "l2":
		return Euclidean, nil
	}
	return 0, fmt.Errorf("%w: unknown metric %q", ErrInvalidArgument, s)
}

// Valid reports whether m is one of the defined metrics.
func (m Metric) Valid() bool { return m == Cosine || m == DotProduct || m == Euclidean }

// Query asks a store for the TopK records nearest to Vector in Namespace
// among those matching Filter.
type Query struct {
	Namespace string
	Vector    []float32
	// TopK is the number of matches wanted, 1 to MaxTopK.
	TopK int
	// Filter restricts the candidates; the zero Filter matches everything.
	Filter Filter
	// IncludeVectors asks for each match's vector.
	IncludeVectors bool
}

// MaxTopK is the largest TopK every store accepts (Pinecone's limit).
const MaxTopK = 10000

// Match is one query result. Metadata is always returned.
type Match struct {
	ID       string
	Score    float32 // larger is more similar, for every Metric
	Vector   []float32
	Metadata Metadata
}

// VectorStore stores records in namespaces and finds the nearest ones.
//
// The contract every implementation keeps (and index/indextest checks):
//   - Safe for concurrent use.
//   - Upsert is all-or-nothing for a call: it validates every record first
//     (index/driver.CheckUpsert) and writes none if one is bad, naming it in an
//     *ItemError. A record with an existing ID replaces it. When Upsert
//     returns nil the records are durable to the store's standard.
//   - The first Upsert into a namespace fixes its dimension when the store
//     has none; a vector of another length is ErrDimension.
//   - Query returns at most TopK matches, best first; equal scores in
//     ascending ID order, so the same contents give the same results.
//     A namespace that does not exist yields no matches and no error.
//   - Fetch returns the records found, in the order of ids; missing IDs are
//     left out (no error).
//   - Delete ignores missing IDs.
//   - Scan yields every record of the namespace matching the filter exactly
//     once, with vector and metadata, in no particular order. Records written
//     during a scan may or may not be seen.
//   - Every call honours ctx and returns ctx's error once it is done.
//   - After Close every call returns ErrClosed. Close is idempotent.
//   - Errors a caller may retry implement Retryable() bool (see
//     [IsRetryable]); stores do not retry on their own — UpsertAll does.
type VectorStore interface {
	Upsert(ctx context.Context, namespace string, recs []Record) error
	Query(ctx context.Context, q Query) ([]Match, error)
	Fetch(ctx context.Context, namespace string, ids []string) ([]Record, error)
	Delete(ctx context.Context, namespace string, ids []string) error
	Scan(ctx context.Context, namespace string, f Filter) iter.Seq2[Record, error]
	Close() error
}

// Namespacer is implemented by stores that can list their namespaces.
type Namespacer interface {
	Namespaces(ctx context.Context) ([]string, error)
}

// Metricer is implemented by stores that know the metric they rank by
// (every store in this module does). Packages that score vectors themselves
// — search, feedback, search/look — use it as their default metric, and
// report an explicit metric that contradicts it as an error. Use
// [StoreMetric] to ask a store for its metric.
type Metricer interface {
	Metric() Metric
}

// StoreMetric returns s's metric and true when s implements [Metricer].
func StoreMetric(s VectorStore) (Metric, bool) {
	if m, ok := s.(Metricer); ok {
		return m.Metric(), true
	}
	return 0, false
}

// Counter is implemented by stores that can count a namespace's records
// cheaply. Use [Count] for a version that falls back to Scan.
type Counter interface {
	Count(ctx context.Context, namespace string) (int, error)
}

// Count returns the number of records in namespace, using the store's
// [Counter] when it has one and a Scan otherwise.
func Count(ctx context.Context, s VectorStore, namespace string) (int, error) {
	if c, ok := s.(Counter); ok {
		return c.Count(ctx, namespace)
	}
	n := 0
	for _, err := range s.Scan(ctx, namespace, Filter{}) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Records adapts a slice to the stream [UpsertAll] reads.
func Records(recs []Record) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}
