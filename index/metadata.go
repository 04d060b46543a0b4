package index

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"unicode/utf8"
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
