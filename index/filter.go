package index

import (
	"fmt"
	"strings"
)

// Op is a filter operator.
type Op int

// The operators. Every backend translates each of them exactly.
const (
	OpAll    Op = iota // the zero Filter: matches every record
	OpEq               // field equals Value (a list field: any element equals)
	OpNe               // field exists and does not equal Value (a list field: no element equals)
	OpIn               // field equals one of Values (a list field: any element is one of them)
	OpNotIn            // field exists and equals none of Values
	OpGt               // field is a number > Value
	OpGte              // field is a number >= Value
	OpLt               // field is a number < Value
	OpLte              // field is a number <= Value
	OpExists           // field is present
	OpAnd              // every one of Filters matches
	OpOr               // at least one of Filters matches
)

var opNames = [...]string{"all", "eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "exists", "and", "or"}

// String returns the operator's short name ("eq", "nin", ...).
func (o Op) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Filter selects records by metadata. Build one with [Eq], [Ne], [In],
// [NotIn], [Gt], [Gte], [Lt], [Lte], [Exists], [And] and [Or]; the zero
// Filter matches every record. Backends translate a Filter by switching on
// Op; [Filter.Match] is the reference semantics they must reproduce.
//
// Comparison rules: numbers compare by value whatever their Go type (int64
// 3 equals float64 3.0); a string never equals a number or a bool; a record
// without the field matches no operator but OpAll (so Ne and NotIn need the
// field to exist). On a []string field, Eq and In match when any element
// matches, Ne and NotIn when no element does, and range operators never
// match.
type Filter struct {
	Op      Op
	Field   string
	Value   any      // Eq, Ne: string, bool or number; range operators: number
	Values  []any    // In, NotIn: strings or numbers, at least one
	Filters []Filter // And, Or: at least one
}

// Eq matches records whose field equals v (string, bool or number).
func Eq(field string, v any) Filter { return Filter{Op: OpEq, Field: field, Value: canon(v)} }

// Ne matches records that have field and whose value is not v.
func Ne(field string, v any) Filter { return Filter{Op: OpNe, Field: field, Value: canon(v)} }

// In matches records whose field equals one of vs (strings or numbers).
func In(field string, vs ...any) Filter {
	return Filter{Op: OpIn, Field: field, Values: canonAll(vs)}
}

// NotIn matches records that have field and whose value is none of vs.
func NotIn(field string, vs ...any) Filter {
	return Filter{Op: OpNotIn, Field: field, Values: canonAll(vs)}
}

// Gt matches records whose field is a number greater than v.
func Gt(field string, v any) Filter { return Filter{Op: OpGt, Field: field, Value: canon(v)} }

// Gte matches records whose field is a number at least v.
func Gte(field string, v any) Filter { return Filter{Op: OpGte, Field: field, Value: canon(v)} }

// Lt matches records whose field is a number less than v.
func Lt(field string, v any) Filter { return Filter{Op: OpLt, Field: field, Value: canon(v)} }

// Lte matches records whose field is a number at most v.
func Lte(field string, v any) Filter { return Filter{Op: OpLte, Field: field, Value: canon(v)} }

// Exists matches records that have field.
func Exists(field string) Filter { return Filter{Op: OpExists, Field: field} }

// And matches records that every one of fs matches. The zero Filter
// (match everything) is its identity: zero operands are dropped, And() and
// And(Filter{}) are the zero Filter, and And(f) is f. So optional filters
// compose without a switch on their count:
//
//	f := index.And(userFilter, splitFilter) // either may be the zero Filter
func And(fs ...Filter) Filter {
	kept := make([]Filter, 0, len(fs))
	for _, f := range fs {
		if !f.IsZero() {
			kept = append(kept, f)
		}
	}
	switch len(kept) {
	case 0:
		return Filter{}
	case 1:
		return kept[0]
	}
	return Filter{Op: OpAnd, Filters: kept}
}

// Or matches records that at least one of fs matches. An operand that is
// the zero Filter matches everything, and so does the Or; Or(f) is f. Or()
// with no operands matches nothing, which no store can express: Validate
// reports it.
func Or(fs ...Filter) Filter {
	for _, f := range fs {
		if f.IsZero() {
			return Filter{}
		}
	}
	if len(fs) == 1 {
		return fs[0]
	}
	return Filter{Op: OpOr, Filters: fs}
}

func canon(v any) any {
	if n, err := normalizeValue(v); err == nil {
		if _, isList := n.([]string); !isList {
			return n
		}
	}
	return v // left as is; Validate reports it
}

func canonAll(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = canon(v)
	}
	return out
}

// IsZero reports whether f is the match-everything filter.
func (f Filter) IsZero() bool { return f.Op == OpAll }

// MaxFilterDepth bounds the nesting of And and Or.
const MaxFilterDepth = 16

// Validate reports a malformed filter with ErrInvalidFilter: an unknown
// operator, an empty field, a value of the wrong type, an empty In list or
// And/Or, nesting deeper than MaxFilterDepth.
func (f Filter) Validate() error {
	if err := f.validate(0); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidFilter, err)
	}
	return nil
}

func (f Filter) validate(depth int) error {
	if depth > MaxFilterDepth {
		return fmt.Errorf("nested deeper than %d", MaxFilterDepth)
	}
	switch f.Op {
	case OpAll:
		return nil
	case OpAnd, OpOr:
		if len(f.Filters) == 0 {
			return fmt.Errorf("%s with no operands", f.Op)
		}
		for i, c := range f.Filters {
			if c.Op == OpAll {
				return fmt.Errorf("%s operand %d is the empty filter", f.Op, i)
			}
			if err := c.validate(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	if f.Field == "" || f.Field[0] == '$' {
		return fmt.Errorf("%s: field %q must be non-empty and not start with '$'", f.Op, f.Field)
	}
	switch f.Op {
	case OpEq, OpNe:
		switch f.Value.(type) {
		case string, bool, int64, float64:
			if _, err := normalizeValue(f.Value); err != nil {
				return fmt.Errorf("%s %q: %v", f.Op, f.Field, err)
			}
			return nil
		}
		return fmt.Errorf("%s %q: value of type %T (want string, bool or number)", f.Op, f.Field, f.Value)
	case OpIn, OpNotIn:
		if len(f.Values) == 0 {
			return fmt.Errorf("%s %q: no values", f.Op, f.Field)
		}
		for i, v := range f.Values {
			switch v.(type) {
			case string, int64, float64:
				if _, err := normalizeValue(v); err != nil {
					return fmt.Errorf("%s %q: value %d: %v", f.Op, f.Field, i, err)
				}
			default:
				return fmt.Errorf("%s %q: value %d of type %T (want string or number)", f.Op, f.Field, i, v)
			}
		}
		return nil
	case OpGt, OpGte, OpLt, OpLte:
		switch f.Value.(type) {
		case int64, float64:
			if _, err := normalizeValue(f.Value); err != nil {
				return fmt.Errorf("%s %q: %v", f.Op, f.Field, err)
			}
			return nil
		}
		return fmt.Errorf("%s %q: value of type %T (want a number)", f.Op, f.Field, f.Value)
	case OpExists:
		return nil
	}
	return fmt.Errorf("unknown operator %d", int(f.Op))
}

// Match reports whether md satisfies f. It is the reference semantics of
// every operator; f should be valid (see [Filter.Validate]).
func (f Filter) Match(md Metadata) bool {
	switch f.Op {
	case OpAll:
		return true
	case OpAnd:
		for _, c := range f.Filters {
			if !c.Match(md) {
				return false
			}
		}
		return len(f.Filters) > 0
	case OpOr:
		for _, c := range f.Filters {
			if c.Match(md) {
				return true
			}
		}
		return false
	}
	v, ok := md[f.Field]
	if !ok || v == nil {
		return false
	}
	switch f.Op {
	case OpExists:
		return true
	case OpEq:
		return anyEqual(v, f.Value)
	case OpNe:
		return !anyEqual(v, f.Value)
	case OpIn, OpNotIn:
		in := false
		for _, want := range f.Values {
			if anyEqual(v, want) {
				in = true
				break
			}
		}
		return in == (f.Op == OpIn)
	case OpGt, OpGte, OpLt, OpLte:
		x, ok := number(v)
		if !ok {
			return false
		}
		y, ok := number(f.Value)
		if !ok {
			return false
		}
		switch f.Op {
		case OpGt:
			return x > y
		case OpGte:
			return x >= y
		case OpLt:
			return x < y
		default:
			return x <= y
		}
	}
	return false
}

// anyEqual compares a stored value (possibly a list) with a filter scalar.
func anyEqual(stored, want any) bool {
	if list, ok := stored.([]string); ok {
		s, ok := want.(string)
		if !ok {
			return false
		}
		for _, e := range list {
			if e == s {
				return true
			}
		}
		return false
	}
	return scalarEqual(stored, want)
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	x, ok1 := number(a)
	y, ok2 := number(b)
	return ok1 && ok2 && x == y
}

// String returns a readable form of f, for logs and errors.
func (f Filter) String() string {
	switch f.Op {
	case OpAll:
		return "all"
	case OpAnd, OpOr:
		parts := make([]string, len(f.Filters))
		for i, c := range f.Filters {
			parts[i] = c.String()
		}
		return f.Op.String() + "(" + strings.Join(parts, ", ") + ")"
	case OpExists:
		return fmt.Sprintf("exists(%q)", f.Field)
	case OpIn, OpNotIn:
		return fmt.Sprintf("%s(%q, %v)", f.Op, f.Field, f.Values)
	}
	return fmt.Sprintf("%s(%q, %#v)", f.Op, f.Field, f.Value)
}
