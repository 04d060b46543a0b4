package milvus

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shoalhq/shoal/index"
)

// Field names of the collections the Store creates.
const (
	fieldPK        = "pk"
	fieldNamespace = "ns"
	fieldID        = "id"
	fieldVector    = "vector"
	fieldMetadata  = "md"

	// maxVarChar is the max_length of the VarChar fields. An ID is at
	// most index.MaxIDLength bytes; the primary key is the base64 of the
	// namespace and the ID, so namespaces are bounded by what is left.
	maxVarChar = 65535
)

// primaryKey encodes (namespace, id) as the collection's primary key:
// base64url(namespace) "." base64url(id). Milvus primary keys are unique
// across the collection, so the namespace must be part of the key for the
// same ID to live in two namespaces. The alphabet [A-Za-z0-9_-.] never needs
// escaping in an expression, so the SDK's query iterator (which splices the
// last key into its expression unquoted) stays safe.
func primaryKey(namespace, id string) string {
	enc := base64.RawURLEncoding
	n := enc.EncodedLen(len(namespace))
	b := make([]byte, n+1+enc.EncodedLen(len(id)))
	enc.Encode(b, []byte(namespace))
	b[n] = '.'
	enc.Encode(b[n+1:], []byte(id))
	return string(b)
}

// encodeMetadata writes md as a JSON object whose numbers keep their Go
// type: an int64 is written without a fraction or exponent, a float64
// always with one ("3.0"), so decodeMetadata restores the same type.
func encodeMetadata(md index.Metadata) ([]byte, error) {
	return appendMetadata(nil, md)
}

// appendMetadata appends encodeMetadata's encoding of md to b, keys in
// sorted order.
func appendMetadata(b []byte, md index.Metadata) ([]byte, error) {
	var kbuf [16]string
	keys := kbuf[:0]
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		if !utf8.ValidString(k) {
			return nil, fmt.Errorf("%w: key %q is not valid UTF-8", index.ErrInvalidMetadata, k)
		}
		if err := checkKey(k); err != nil {
			return nil, fmt.Errorf("%w: %v", index.ErrInvalidMetadata, err)
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		switch v := md[k].(type) {
		case string:
			if !utf8.ValidString(v) {
				return nil, fmt.Errorf("%w: key %q: string is not valid UTF-8", index.ErrInvalidMetadata, k)
			}
			b = appendJSONString(b, v)
		case bool:
			b = strconv.AppendBool(b, v)
		case []string:
			b = append(b, '[')
			for j, e := range v {
				if !utf8.ValidString(e) {
					return nil, fmt.Errorf("%w: key %q: list element %d is not valid UTF-8", index.ErrInvalidMetadata, k, j)
				}
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, e)
			}
			b = append(b, ']')
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: key %q: %v is not finite", index.ErrInvalidMetadata, k, v)
			}
			b = appendFloat(b, v)
		default:
			return nil, fmt.Errorf("%w: key %q: unsupported type %T", index.ErrInvalidMetadata, k, v)
		}
	}
	return append(b, '}'), nil
}

// appendJSONString appends s (valid UTF-8) as a JSON string: '"', '\\' and
// control characters escaped, everything else as is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, `\u00`...)
			b = append(b, hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat appends formatFloat's spelling of f.
func appendFloat(b []byte, f float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if !bytes.ContainsAny(b[start:], ".eEn") { // "n": NaN/Inf never reach here
		b = append(b, ".0"...)
	}
	return b
}

// formatFloat spells f so that it reads back as a float: the shortest
// representation, with ".0" added when it would otherwise look like an
// integer.
func formatFloat(f float64) string { return string(appendFloat(nil, f)) }

// decodeMetadata parses what encodeMetadata wrote (or any JSON object of
// strings, bools, numbers and string arrays). An empty object decodes to nil.
func decodeMetadata(raw []byte) (index.Metadata, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: metadata is not a JSON object: %v", index.ErrCorrupt, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(index.Metadata, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string, bool:
			out[k] = x
		case json.Number:
			s := string(x)
			if !strings.ContainsAny(s, ".eE") {
				if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					out[k] = n
					continue
				}
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: metadata %q: number %s: %v", index.ErrCorrupt, k, s, err)
			}
			out[k] = f
		case []any:
			list := make([]string, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("%w: metadata %q: list element %d is %T, not a string", index.ErrCorrupt, k, i, e)
				}
				list[i] = s
			}
			out[k] = list
		default:
			return nil, fmt.Errorf("%w: metadata %q: unsupported JSON value %T", index.ErrCorrupt, k, v)
		}
	}
	return out, nil
}
