package milvus

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shoalhq/shoal/index"
)

// quote returns s as a Milvus string literal. Milvus unquotes literals with
// C-style escapes (the same ones Go uses), so strconv.Quote's output — which
// escapes '"', '\\' and every control or non-printable character — cannot
// end the literal early or smuggle in expression syntax.
func quote(s string) string { return strconv.Quote(s) }

// jsonPath is the expression for metadata key k.
func jsonPath(k string) string { return fieldMetadata + "[" + quote(k) + "]" }

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
// it (json_contains); Ne and NotIn require the key to exist (exists) and
// negate the equality; In is a disjunction of Eq; range operators compare
// numbers only (a string, bool or list never satisfies them in Milvus, as
// in Match). Numbers are written as float literals so int64 and float64
// values compare by value. Keys and strings are quoted and escaped.
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
		return "(exists " + jsonPath(f.Field) + " and not " + e + ")", nil
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
		return "(exists " + jsonPath(f.Field) + " and not " + in + ")", nil
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
