package index

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/shoalhq/shoal/internal/vecmath"
)

// Metadata holds a record's fields. Values are string, bool, float64, int64
// or []string: the set every backend (Pinecone, Milvus, the embedded store)
// stores exactly. Remote stores may return an int64 as a float64; compare
// numbers with [Metadata.Number]. Keys are non-empty UTF-8 strings that do
// not start with '$'.
type Metadata map[string]any

// Limits on IDs and metadata, chosen so that every backend accepts what one
// accepts.
const (
	// MaxIDLength is the longest ID in bytes (Pinecone's limit).
	MaxIDLength = 512
	// MaxMetadataBytes caps a record's metadata as measured by
	// [Metadata.Size] (Pinecone allows 40 KB per vector).
	MaxMetadataBytes = 40 * 1024
)

// Number returns the field as a float64 if it holds a number.
func (m Metadata) Number(key string) (float64, bool) {
	return number(m[key])
}

// String returns the field if it holds a string.
func (m Metadata) String(key string) (string, bool) {
	s, ok := m[key].(string)
	return s, ok
}

// Clone returns a deep copy of m (nil for nil).
func (m Metadata) Clone() Metadata {
	if m == nil {
		return nil
	}
	c := make(Metadata, len(m))
	for k, v := range m {
		if ss, ok := v.([]string); ok {
			v = slices.Clone(ss)
		}
		c[k] = v
	}
	return c
}

// Size returns an estimate of the encoded size of m in bytes (keys and
// values as JSON would spell them, roughly).
func (m Metadata) Size() int {
	n := 2
	for k, v := range m {
		n += len(k) + 4
		switch x := v.(type) {
		case string:
			n += len(x) + 2
		case []string:
			n += 2
			for _, s := range x {
				n += len(s) + 3
			}
		default:
			n += 24
		}
	}
	return n
}

// Normalize checks m and returns a copy in canonical form: int, int32,
// uint32 and int8/16 become int64, float32 becomes float64. It reports the
// first bad key (in sorted order) with ErrInvalidMetadata: an empty key, a key
// starting with '$', a NaN or infinite number, a value of another type,
// a non-UTF-8 string, or metadata larger than MaxMetadataBytes.
func (m Metadata) Normalize() (Metadata, error) {
	if m == nil {
		return nil, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(Metadata, len(m))
	for _, k := range keys {
		if k == "" || k[0] == '$' || !utf8.ValidString(k) {
			return nil, fmt.Errorf("%w: key %q: must be non-empty UTF-8 and not start with '$'", ErrInvalidMetadata, k)
		}
		v, err := normalizeValue(m[k])
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrInvalidMetadata, k, err)
		}
		out[k] = v
	}
	if sz := out.Size(); sz > MaxMetadataBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrInvalidMetadata, sz, MaxMetadataBytes)
	}
	return out, nil
}

func normalizeValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("string is not valid UTF-8")
		}
		return x, nil
	case bool:
		return x, nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("number %v is not finite", x)
		}
		return x, nil
	case float32:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %v is not finite", x)
		}
		return f, nil
	case []string:
		for i, s := range x {
			if !utf8.ValidString(s) {
				return nil, fmt.Errorf("list element %d is not valid UTF-8", i)
			}
		}
		return slices.Clone(x), nil
	case nil:
		return nil, fmt.Errorf("nil value (delete the key instead)")
	default:
		return nil, fmt.Errorf("unsupported type %T (want string, bool, int64, float64 or []string)", v)
	}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float32:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	}
	return 0, false
}

// ValidateID checks one ID: non-empty, at most MaxIDLength bytes, valid
// UTF-8, no NUL byte.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidID, len(id), MaxIDLength)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidID)
	}
	for i := 0; i < len(id); i++ {
		if id[i] == 0 {
			return fmt.Errorf("%w: contains a NUL byte", ErrInvalidID)
		}
	}
	return nil
}

// ValidateNamespace checks a namespace name: at most MaxIDLength bytes of
// UTF-8 without a NUL byte. The empty name is the default namespace. The
// error wraps ErrInvalidArgument and names the namespace.
func ValidateNamespace(ns string) error {
	reason := ""
	switch {
	case len(ns) > MaxIDLength:
		reason = fmt.Sprintf("%d bytes, more than %d", len(ns), MaxIDLength)
	case !utf8.ValidString(ns):
		reason = "not valid UTF-8"
	case strings.IndexByte(ns, 0) >= 0:
		reason = "contains a NUL byte"
	default:
		return nil
	}
	return fmt.Errorf("%w: namespace %q: %s", ErrInvalidArgument, ns, reason)
}

// ValidateVector checks that v is non-empty, finite, and — when dim > 0 —
// of length dim.
func ValidateVector(v []float32, dim int) error {
	if len(v) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidVector)
	}
	if dim > 0 && len(v) != dim {
		return fmt.Errorf("%w: got %d, want %d", ErrDimension, len(v), dim)
	}
	if i := vecmath.Finite(v); i >= 0 {
		return fmt.Errorf("%w: element %d is %v", ErrInvalidVector, i, v[i])
	}
	return nil
}

// Canonical returns m itself when it is already in the canonical form
// [Metadata.Normalize] produces (string, bool, int64, finite float64 and
// []string values under valid keys, within MaxMetadataBytes), without
// copying or allocating, and otherwise what Normalize returns: a normalised
// copy or the first error in key order. A store that encodes metadata
// straight onto the wire uses it instead of Normalize.
func (m Metadata) Canonical() (Metadata, error) {
	md, _, err := m.canonical()
	return md, err
}

// canonical is Canonical, also reporting whether it returned m itself.
func (m Metadata) canonical() (md Metadata, same bool, err error) {
	if m == nil {
		return nil, true, nil
	}
	for k, v := range m {
		if k == "" || k[0] == '$' || !utf8.ValidString(k) || !canonicalValue(v) {
			md, err := m.Normalize()
			return md, false, err
		}
	}
	if sz := m.Size(); sz > MaxMetadataBytes {
		return nil, false, fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrInvalidMetadata, sz, MaxMetadataBytes)
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

// CheckRecords checks a batch for Upsert as [ValidateRecords] does (the same
// errors, naming the same record) without copying records, and returns each
// record's metadata in canonical form: the record's own map when it already
// is (see [Metadata.Canonical]), a normalised copy otherwise. A store that
// encodes records straight onto the wire uses it, and must not keep the
// caller's slices or maps.
func CheckRecords(recs []Record, dim int) ([]Metadata, error) {
	mds := make([]Metadata, len(recs))
	err := checkRecords(recs, dim, func(i int, md Metadata, _ bool) { mds[i] = md })
	if err != nil {
		return nil, err
	}
	return mds, nil
}

// ValidateRecords checks a batch for Upsert and returns the records in
// canonical form (metadata normalised, vectors and metadata copied so that
// the caller may reuse its slices). dim is the expected dimension, or 0 to
// require only that all records agree. The first bad record is reported as an
// *ItemError: invalid ID, an ID given twice, a bad vector or dimension, bad
// metadata.
func ValidateRecords(recs []Record, dim int) ([]Record, error) {
	out := make([]Record, len(recs))
	err := checkRecords(recs, dim, func(i int, md Metadata, same bool) {
		if same {
			md = md.Clone() // canonical already: a copy is all it needs
		}
		out[i] = Record{ID: recs[i].ID, Vector: slices.Clone(recs[i].Vector), Metadata: md}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkRecords checks recs in order and calls ok with each good record's
// canonical metadata (same: it is the record's own map); the first bad
// record is returned as an *ItemError.
func checkRecords(recs []Record, dim int, ok func(i int, md Metadata, same bool)) error {
	seen := make(map[string]int, len(recs))
	for i, r := range recs {
		if err := ValidateID(r.ID); err != nil {
			return &ItemError{Index: i, ID: r.ID, Err: err}
		}
		if j, dup := seen[r.ID]; dup {
			return &ItemError{Index: i, ID: r.ID, Err: fmt.Errorf("%w: duplicate of record %d in the same call", ErrInvalidID, j)}
		}
		seen[r.ID] = i
		if dim == 0 && i > 0 {
			dim = len(recs[0].Vector)
		}
		if err := ValidateVector(r.Vector, dim); err != nil {
			return &ItemError{Index: i, ID: r.ID, Err: err}
		}
		md, same, err := r.Metadata.canonical()
		if err != nil {
			return &ItemError{Index: i, ID: r.ID, Err: err}
		}
		ok(i, md, same)
	}
	return nil
}

// ValidateQuery checks a query against a dimension (0: any).
func ValidateQuery(q Query, dim int) error {
	if q.TopK < 1 || q.TopK > MaxTopK {
		return fmt.Errorf("%w: TopK %d out of range [1, %d]", ErrInvalidArgument, q.TopK, MaxTopK)
	}
	if err := ValidateVector(q.Vector, dim); err != nil {
		return fmt.Errorf("query vector: %w", err)
	}
	return q.Filter.Validate()
}
