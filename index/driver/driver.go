package driver

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/batch"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// MaxVectorNorm is the largest Euclidean norm a stored or query vector may
// have. Any dot product or squared distance between two such vectors
// (‖a−b‖² ≤ (‖a‖+‖b‖)² ≤ 4·MaxVectorNorm²) stays below float32's largest
// value, so a float32 kernel never overflows to ±Inf or NaN and no record
// silently drops out of a ranking. Real embeddings have norms near 1.
const MaxVectorNorm = 9e18

// CheckCall checks what every store call takes: a context that is non-nil
// and not done, and a valid namespace. It returns the context's error
// ([ContextError]) when it has ended.
func CheckCall(ctx context.Context, namespace string) error {
	if ctx == nil {
		return fmt.Errorf("%w: nil context", index.ErrInvalidArgument)
	}
	if err := ContextError(ctx); err != nil {
		return err
	}
	return ValidateNamespace(namespace)
}

// CheckUpsert runs [CheckCall] and then checks recs as [ValidateRecords]
// does, without copying them: it returns each record's metadata in
// canonical form (see [Canonical]). A store that converts records to its
// own wire format uses it; one that keeps them uses ValidateRecords.
func CheckUpsert(ctx context.Context, namespace string, recs []index.Record, dim int) ([]index.Metadata, error) {
	if err := CheckCall(ctx, namespace); err != nil {
		return nil, err
	}
	mds := make([]index.Metadata, len(recs))
	if err := checkRecords(recs, dim, func(i int, md index.Metadata, _ bool) { mds[i] = md }); err != nil {
		return nil, err
	}
	return mds, nil
}

// CheckQuery runs [CheckCall] on q.Namespace and then [ValidateQuery].
func CheckQuery(ctx context.Context, q index.Query, dim int) error {
	if err := CheckCall(ctx, q.Namespace); err != nil {
		return err
	}
	return ValidateQuery(q, dim)
}

// ContextError returns why ctx ended: context.Cause(ctx) once it is done,
// or context.DeadlineExceeded when its deadline has passed but its timer
// has not fired yet; nil otherwise. A backend calls it first when it maps
// a failed call, so that a deadline the transport noticed a moment before
// the context did is reported as the caller's deadline, not as a service
// failure.
func ContextError(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// Temporary wraps err so that index.IsRetryable reports true; after, if
// positive, is the wait a server asked for (a Retry-After). Stores and
// encoders use it to mark transient failures; they never retry on their
// own — index.UpsertAll and embedding.EncodeAll do.
func Temporary(err error, after time.Duration) error { return batch.Temporary(err, after) }

// ValidateID checks one ID: non-empty, at most index.MaxIDLength bytes,
// valid UTF-8, no NUL byte.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", index.ErrInvalidID)
	case len(id) > index.MaxIDLength:
		return fmt.Errorf("%w: %d bytes, more than %d", index.ErrInvalidID, len(id), index.MaxIDLength)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", index.ErrInvalidID)
	case strings.IndexByte(id, 0) >= 0:
		return fmt.Errorf("%w: contains a NUL byte", index.ErrInvalidID)
	}
	return nil
}

// ValidateNamespace checks a namespace name: at most index.MaxIDLength
// bytes of UTF-8 without a NUL byte. The empty name is the default
// namespace. The error wraps index.ErrInvalidArgument and names the
// namespace.
func ValidateNamespace(ns string) error {
	reason := ""
	switch {
	case len(ns) > index.MaxIDLength:
		reason = fmt.Sprintf("%d bytes, more than %d", len(ns), index.MaxIDLength)
	case !utf8.ValidString(ns):
		reason = "not valid UTF-8"
	case strings.IndexByte(ns, 0) >= 0:
		reason = "contains a NUL byte"
	default:
		return nil
	}
	return fmt.Errorf("%w: namespace %q: %s", index.ErrInvalidArgument, ns, reason)
}

// ValidateVector checks that v is non-empty, finite, of norm at most
// [MaxVectorNorm], and — when dim > 0 — of length dim.
func ValidateVector(v []float32, dim int) error {
	if len(v) == 0 {
		return fmt.Errorf("%w: empty", index.ErrInvalidVector)
	}
	if dim > 0 && len(v) != dim {
		return fmt.Errorf("%w: got %d, want %d", index.ErrDimension, len(v), dim)
	}
	if i := vecmath.Finite(v); i >= 0 {
		return fmt.Errorf("%w: element %d is %v", index.ErrInvalidVector, i, v[i])
	}
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if n := math.Sqrt(ss); n > MaxVectorNorm {
		return fmt.Errorf("%w: norm %.3g is over %.3g, where scores would overflow float32", index.ErrInvalidVector, n, float64(MaxVectorNorm))
	}
	return nil
}

// ValidateQuery checks a query against a dimension (0: any): TopK within
// [1, index.MaxTopK], the vector, and the filter.
func ValidateQuery(q index.Query, dim int) error {
	if q.TopK < 1 || q.TopK > index.MaxTopK {
		return fmt.Errorf("%w: TopK %d out of range [1, %d]", index.ErrInvalidArgument, q.TopK, index.MaxTopK)
	}
	if err := ValidateVector(q.Vector, dim); err != nil {
		return fmt.Errorf("query vector: %w", err)
	}
	return q.Filter.Validate()
}

// ValidateRecords checks a batch for Upsert and returns the records in
// canonical form (metadata normalised, vectors and metadata copied so that
// the caller may reuse its slices). dim is the expected dimension, or 0 to
// require only that all records agree. The first bad record is reported as
// an *index.ItemError: invalid ID, an ID given twice, a bad vector or
// dimension, bad metadata.
func ValidateRecords(recs []index.Record, dim int) ([]index.Record, error) {
	out := make([]index.Record, len(recs))
	err := checkRecords(recs, dim, func(i int, md index.Metadata, same bool) {
		if same {
			md = md.Clone() // canonical already: a copy is all it needs
		}
		out[i] = index.Record{ID: recs[i].ID, Vector: slices.Clone(recs[i].Vector), Metadata: md}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkRecords checks recs in order and calls ok with each good record's
// canonical metadata (same: it is the record's own map); the first bad
// record is returned as an *index.ItemError.
func checkRecords(recs []index.Record, dim int, ok func(i int, md index.Metadata, same bool)) error {
	seen := make(map[string]int, len(recs))
	for i, r := range recs {
		if err := ValidateID(r.ID); err != nil {
			return &index.ItemError{Index: i, ID: r.ID, Err: err}
		}
		if j, dup := seen[r.ID]; dup {
			return &index.ItemError{Index: i, ID: r.ID, Err: fmt.Errorf("%w: duplicate of record %d in the same call", index.ErrInvalidID, j)}
		}
		seen[r.ID] = i
		if dim == 0 && i > 0 {
			dim = len(recs[0].Vector)
		}
		if err := ValidateVector(r.Vector, dim); err != nil {
			return &index.ItemError{Index: i, ID: r.ID, Err: err}
		}
		md, same, err := canonical(r.Metadata)
		if err != nil {
			return &index.ItemError{Index: i, ID: r.ID, Err: err}
		}
		ok(i, md, same)
	}
	return nil
}

// Canonical returns m itself when it is already in the canonical form
// index.Metadata.Normalize produces (string, bool, int64, finite float64
// and []string values under valid keys, within index.MaxMetadataBytes),
// without copying, and otherwise what Normalize returns: a normalised copy
// or the first error in key order.
func Canonical(m index.Metadata) (index.Metadata, error) {
	md, _, err := canonical(m)
	return md, err
}

// canonical is Canonical, also reporting whether it returned m itself.
func canonical(m index.Metadata) (md index.Metadata, same bool, err error) {
	if m == nil {
		return nil, true, nil
	}
	for k, v := range m {
		if k == "" || k[0] == '$' || !utf8.ValidString(k) || !canonicalValue(v) {
			md, err := m.Normalize()
			return md, false, err
		}
	}
	if sz := m.Size(); sz > index.MaxMetadataBytes {
		return nil, false, fmt.Errorf("%w: %d bytes, more than the %d allowed", index.ErrInvalidMetadata, sz, index.MaxMetadataBytes)
	}
	return m, true, nil
}

// canonicalValue reports whether v is a valid value of a canonical type.
func canonicalValue(v any) bool {
	switch x := v.(type) {
	case string:
		return utf8.ValidString(x)
	case bool, int64:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case []string:
		for _, s := range x {
			if !utf8.ValidString(s) {
				return false
			}
		}
		return true
	}
	return false
}
