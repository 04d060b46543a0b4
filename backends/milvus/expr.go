package milvus

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/shoalhq/shoal/index"
)

// quote returns s as a Milvus string literal. Milvus unquotes literals with
// C-style escapes (the same ones Go uses), so strconv.Quote's output — which
// escapes '"', '\\' and every control or non-printable character — cannot
// end the literal early or smuggle in expression syntax.
func quote(s string) string { return strconv.Quote(s) }

// jsonPath is the expression for metadata key k (checked by checkKey).
func jsonPath(k string) string { return fieldMetadata + "[" + quote(k) + "]" }

// unicodeEscape is what Milvus's decodeUnicode replaces in a JSON key path.
var unicodeEscape = regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)

// checkKey reports why Milvus cannot address metadata key k in an
// expression, or nil. Milvus does not unescape a key path
// (getColumnInfoFromJSONIdentifier in internal/parser/planparserv2/
// parser_visitor.go, 2.5 and master): it replaces `\uXXXX` sequences by
// their characters (decodeUnicode, utils.go), splits the path at "][", and
// looks the key up by comparing that text with the raw, escaped text of the
// stored key (simdjson's on-demand at_pointer, through Json::pointer in
// internal/core/src/common/Json.h). The key is written alike in both places
// only when its escapes are among \" \\ \n \r \t, which quote and the
// metadata encoder spell the same way; any other control character, DEL or
// non-printable character (U+00AD, U+200B, U+2028, U+FEFF, …) may be
// spelled differently and then silently matches nothing, a literal
// `\uXXXX` is decoded, and "][" cuts the key in two.
func checkKey(k string) error {
	for _, r := range k {
		if r != '\n' && r != '\r' && r != '\t' && !strconv.IsPrint(r) {
			return fmt.Errorf("key %q: Milvus cannot address a key holding the control or invisible character %U in a filter", k, r)
		}
	}
	if unicodeEscape.MatchString(k) {
		return fmt.Errorf("key %q: Milvus decodes the literal %q in a key path, so the key cannot be addressed in a filter", k, unicodeEscape.FindString(k))
	}
	if strings.Contains(k, "][") {
		return fmt.Errorf(`key %q: Milvus splits a key path at "][", so the key cannot be addressed in a filter`, k)
	}
	return nil
}

// numberLiteral spells a filter number as a float literal, so that Milvus
// compares it with an int or a float stored in JSON by value (as
// index.Filter.Match does, through float64).
func numberLiteral(v any) (string, bool) {
	if _, isBool := v.(bool); isBool {
		return "", false
	}
	f, ok := index.Metadata{"v": v}.Number("v")
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return formatFloat(f), true
}

// TranslateFilter returns the Milvus boolean expression over the metadata
// JSON field that selects exactly the records f.Match selects ("" for the
// zero filter). f is validated first (index.ErrInvalidFilter).
//
// Mapping: Eq on a string matches a scalar equal to it or a list containing
// it (json_contains); Ne and NotIn require the key to exist and negate the
// equality, as `((exists md["k"]) and not (…))` — the parentheses keep
// exists on the key alone, which Milvus 2.4 and 2.5 (before 2025-03-26)
// need, since their grammar makes exists take everything to its right; In is a disjunction of Eq; range operators compare
// numbers only (a string, bool or list never satisfies them in Milvus, as
// in Match). Numbers are written as float literals so int64 and float64
// values compare by value. Keys and strings are quoted and escaped; a key
// Milvus cannot address (see the package documentation) is refused with
// index.ErrInvalidFilter.
func TranslateFilter(f index.Filter) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	if f.IsZero() {
		return "", nil
	}
	return translate(f)
}

func translate(f index.Filter) (string, error) {
	if f.Op != index.OpAnd && f.Op != index.OpOr {
		if err := checkKey(f.Field); err != nil {
			return "", fmt.Errorf("%w: %v", index.ErrInvalidFilter, err)
		}
	}
	switch f.Op {
	case index.OpAnd, index.OpOr:
		sep := " and "
		if f.Op == index.OpOr {
			sep = " or "
		}
		parts := make([]string, len(f.Filters))
		for i, c := range f.Filters {
			if c.IsZero() {
				// The zero filter matches everything.
				parts[i] = "true"
				continue
			}
			p, err := translate(c)
			if err != nil {
				return "", err
			}
			parts[i] = p
		}
		return "(" + strings.Join(parts, sep) + ")", nil
	case index.OpExists:
		return "(exists " + jsonPath(f.Field) + ")", nil
	case index.OpEq:
		return eqExpr(f.Field, f.Value)
	case index.OpNe:
		e, err := eqExpr(f.Field, f.Value)
		if err != nil {
			return "", err
		}
		return "((exists " + jsonPath(f.Field) + ") and not " + e + ")", nil
	case index.OpIn, index.OpNotIn:
		parts := make([]string, len(f.Values))
		for i, v := range f.Values {
			e, err := eqExpr(f.Field, v)
			if err != nil {
				return "", err
			}
			parts[i] = e
		}
		in := "(" + strings.Join(parts, " or ") + ")"
		if f.Op == index.OpIn {
			return in, nil
		}
		return "((exists " + jsonPath(f.Field) + ") and not " + in + ")", nil
	case index.OpGt, index.OpGte, index.OpLt, index.OpLte:
		n, ok := numberLiteral(f.Value)
		if !ok {
			return "", fmt.Errorf("%w: %s needs a number, got %T", index.ErrInvalidFilter, f.Op, f.Value)
		}
		op := map[index.Op]string{index.OpGt: ">", index.OpGte: ">=", index.OpLt: "<", index.OpLte: "<="}[f.Op]
		return "(" + jsonPath(f.Field) + " " + op + " " + n + ")", nil
	}
	return "", fmt.Errorf("%w: operator %v", index.ErrInvalidFilter, f.Op)
}

func eqExpr(field string, v any) (string, error) {
	p := jsonPath(field)
	switch x := v.(type) {
	case string:
		q := quote(x)
		return "(" + p + " == " + q + " or json_contains(" + p + ", " + q + "))", nil
	case bool:
		return "(" + p + " == " + strconv.FormatBool(x) + ")", nil
	}
	if n, ok := numberLiteral(v); ok {
		return "(" + p + " == " + n + ")", nil
	}
	return "", fmt.Errorf("%w: field %q: unsupported value type %T", index.ErrInvalidFilter, field, v)
}
