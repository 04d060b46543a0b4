package index_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// nest wraps f in depth levels of And.
func nest(f index.Filter, depth int) index.Filter {
	for range depth {
		f = index.Filter{Op: index.OpAnd, Filters: []index.Filter{f}}
	}
	return f
}

func TestFilterValidate(t *testing.T) {
	t.Parallel()
	valid := []index.Filter{
		{},
		index.Eq("s", "x"),
		index.Eq("s", ""),
		index.Eq("b", false),
		index.Eq("n", 3),
		index.Eq("n", int32(3)),
		index.Eq("n", uint8(3)),
		index.Eq("n", float32(2.5)),
		index.Eq("n", math.Copysign(0, -1)),
		index.Ne("n", int64(math.MaxInt64)),
		index.In("s", "x"),
		index.In("s", "x", 1, 2.5),
		index.NotIn("n", 1),
		index.Gt("n", 0),
		index.Gte("n", -1.5),
		index.Lt("n", math.MaxFloat64),
		index.Lte("n", int16(-3)),
		index.Exists("anything goes here"),
		index.And(index.Eq("a", 1)),
		index.Or(index.Eq("a", 1), index.Exists("b")),
		index.And(index.Or(index.Eq("a", 1), index.Ne("b", "x")), index.Exists("c")),
		nest(index.Eq("a", 1), index.MaxFilterDepth),
		{Op: index.OpEq, Field: "raw", Value: int64(1)},     // already canonical
		{Op: index.OpExists, Field: "x", Value: struct{}{}}, // Value is ignored by Exists
	}
	for _, f := range valid {
		assert.NoError(t, f.Validate(), "%v", f)
	}

	invalid := []struct {
		f       index.Filter
		mention string
	}{
		{index.Eq("", "x"), `field ""`},
		{index.Eq("$op", "x"), `field "$op"`},
		{index.Exists(""), `field ""`},
		{index.Gt("$x", 1), `field "$x"`},
		{index.Eq("s", nil), "<nil>"},
		{index.Eq("s", []string{"x"}), "[]string"},
		{index.Eq("s", struct{}{}), "struct {}"},
		{index.Eq("s", uint64(1)), "uint64"},
		{index.Eq("n", math.NaN()), "not finite"},
		{index.Ne("n", math.Inf(-1)), "not finite"},
		{index.Eq("n", float32(math.Inf(1))), "float32"},
		{index.Eq("s", "bad\xff"), "UTF-8"},
		{index.Filter{Op: index.OpEq, Field: "raw", Value: 3}, "int"}, // not canonical: use the constructor
		{index.In("s"), "no values"},
		{index.NotIn("s"), "no values"},
		{index.In("s", true), "bool"},
		{index.In("s", "x", nil), "value 1"},
		{index.NotIn("s", "x", math.NaN()), "value 1"},
		{index.In("s", []string{"x"}), "[]string"},
		{index.Gt("n", "3"), "want a number"},
		{index.Gte("n", true), "want a number"},
		{index.Lt("n", nil), "want a number"},
		{index.Lte("n", math.Inf(1)), "not finite"},
		{index.Or(), "no operands"},
		{index.Filter{Op: index.OpAnd}, "no operands"},
		{index.Filter{Op: index.OpAnd, Filters: []index.Filter{{}, index.Exists("a")}}, "empty filter"},
		{index.And(index.Eq("a", 1), index.In("b")), "no values"},
		{nest(index.Eq("a", 1), index.MaxFilterDepth+1), "deeper"},
		{index.Filter{Op: index.Op(99), Field: "a"}, "unknown operator"},
		{index.Filter{Op: index.Op(-1), Field: "a"}, "unknown operator"},
	}
	for _, c := range invalid {
		err := c.f.Validate()
		if assert.ErrorIs(t, err, index.ErrInvalidFilter, "%v", c.f) {
			assert.ErrorIs(t, err, index.ErrInvalidArgument)
			assert.Contains(t, err.Error(), c.mention, "%v", c.f)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	md := index.Metadata{
		"s":     "red",
		"num":   "3", // a string that looks like a number
		"i":     int64(3),
		"f":     3.0,
		"half":  2.5,
		"neg":   int64(-2),
		"b":     true,
		"no":    false,
		"tags":  []string{"x", "y"},
		"empty": []string{},
		"nil":   nil,    // never stored by a store, but Match must cope
		"int":   int(7), // raw Go types, as a caller might pass before Normalize
		"f32":   float32(0.5),
		"i32":   int32(-4),
	}
	for _, c := range []struct {
		f    index.Filter
		want bool
	}{
		{index.Filter{}, true},

		{index.Eq("s", "red"), true},
		{index.Eq("s", "blue"), false},
		{index.Eq("s", "RED"), false},
		{index.Eq("i", 3), true},
		{index.Eq("i", 3.0), true},
		{index.Eq("f", int64(3)), true},
		{index.Eq("f", 3), true},
		{index.Eq("half", 2.5), true},
		{index.Eq("half", 2), false},
		{index.Eq("b", true), true},
		{index.Eq("no", false), true},
		{index.Eq("b", 1), false},
		{index.Eq("b", "true"), false},
		{index.Eq("num", 3), false},
		{index.Eq("i", "3"), false},
		{index.Eq("tags", "x"), true},
		{index.Eq("tags", "z"), false},
		{index.Eq("tags", 1), false},
		{index.Eq("empty", "x"), false},
		{index.Eq("missing", "x"), false},
		{index.Eq("nil", "x"), false},
		{index.Eq("int", 7), true},
		{index.Eq("f32", 0.5), true},
		{index.Eq("i32", -4), true},

		{index.Ne("s", "blue"), true},
		{index.Ne("s", "red"), false},
		{index.Ne("i", 3.0), false},
		{index.Ne("i", 4), true},
		{index.Ne("num", 3), true}, // a string never equals a number
		{index.Ne("tags", "x"), false},
		{index.Ne("tags", "z"), true},
		{index.Ne("empty", "x"), true},
		{index.Ne("missing", "x"), false}, // the field must exist
		{index.Ne("nil", "x"), false},
		{index.Ne("b", false), true},

		{index.In("s", "blue", "red"), true},
		{index.In("s", "blue", "green"), false},
		{index.In("i", 1, 3.0), true},
		{index.In("f", int64(3)), true},
		{index.In("num", 3), false},
		{index.In("tags", "z", "y"), true},
		{index.In("tags", "z", 1), false},
		{index.In("missing", "x"), false},

		{index.NotIn("s", "blue", "green"), true},
		{index.NotIn("s", "red"), false},
		{index.NotIn("i", 1, 2), true},
		{index.NotIn("i", 3.0), false},
		{index.NotIn("tags", "z"), true},
		{index.NotIn("tags", "y", "z"), false},
		{index.NotIn("missing", "x"), false},
		{index.NotIn("num", 3), true},

		{index.Gt("i", 2), true},
		{index.Gt("i", 3), false},
		{index.Gt("i", 2.99), true},
		{index.Gte("i", 3), true},
		{index.Gte("f", 3), true},
		{index.Gte("i", 3.01), false},
		{index.Lt("neg", 0), true},
		{index.Lt("neg", -2), false},
		{index.Lte("neg", -2), true},
		{index.Lte("half", 2.5), true},
		{index.Lt("half", 2.5), false},
		{index.Gt("num", 0), false}, // a string is not a number
		{index.Lt("s", 1e300), false},
		{index.Gt("b", 0), false},
		{index.Lt("tags", 1e300), false},
		{index.Gte("missing", 0), false},
		{index.Gt("int", 6), true},
		{index.Lt("f32", 1), true},
		{index.Lte("i32", -4), true},

		{index.Exists("s"), true},
		{index.Exists("no"), true}, // false is a value
		{index.Exists("empty"), true},
		{index.Exists("missing"), false},
		{index.Exists("nil"), false},

		{index.And(index.Eq("s", "red"), index.Gt("i", 1)), true},
		{index.And(index.Eq("s", "red"), index.Gt("i", 5)), false},
		{index.And(index.Eq("s", "red")), true},
		{index.Or(index.Eq("s", "blue"), index.Gt("i", 1)), true},
		{index.Or(index.Eq("s", "blue"), index.Gt("i", 5)), false},
		{index.Or(index.Exists("missing")), false},
		{index.And(index.Or(index.Eq("s", "blue"), index.Eq("tags", "x")), index.Ne("b", false)), true},
		{nest(index.Exists("s"), index.MaxFilterDepth), true},

		// Malformed filters do not panic and match nothing.
		{index.Filter{Op: index.OpAnd}, false},
		{index.Or(), false},
		{index.Filter{Op: index.Op(99), Field: "s"}, false},
		{index.Gt("i", "2"), false},
	} {
		assert.Equal(t, c.want, c.f.Match(md), "%v", c.f)
	}
	assert.True(t, index.Filter{}.Match(nil), "the zero filter matches a record without metadata")
	assert.False(t, index.Exists("s").Match(nil))
	assert.False(t, index.Ne("s", "x").Match(nil))
}

func TestFilterConstructorsCanonicalise(t *testing.T) {
	t.Parallel()
	assert.Equal(t, index.Filter{Op: index.OpEq, Field: "n", Value: int64(3)}, index.Eq("n", 3))
	assert.Equal(t, index.Filter{Op: index.OpGt, Field: "n", Value: 0.5}, index.Gt("n", float32(0.5)))
	assert.Equal(t, index.Filter{Op: index.OpIn, Field: "n", Values: []any{int64(1), "x", 2.5}}, index.In("n", uint16(1), "x", 2.5))
	assert.Equal(t, index.Filter{Op: index.OpExists, Field: "n"}, index.Exists("n"))
	assert.Equal(t, index.Filter{Op: index.OpOr, Filters: []index.Filter{index.Exists("a"), index.Exists("b")}},
		index.Or(index.Exists("a"), index.Exists("b")))
	// A value that cannot be canonicalised is kept for Validate to report.
	assert.Equal(t, []string{"x"}, index.Eq("s", []string{"x"}).Value)
	assert.True(t, math.IsNaN(index.Eq("s", math.NaN()).Value.(float64)))
}

func TestFilterString(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		f    index.Filter
		want string
	}{
		{index.Filter{}, "all"},
		{index.Eq("a", "x"), `eq("a", "x")`},
		{index.Ne("a", 3), `ne("a", 3)`},
		{index.Gte("a", 2.5), `gte("a", 2.5)`},
		{index.In("a", "x", 1), `in("a", [x 1])`},
		{index.NotIn("a", "x"), `nin("a", [x])`},
		{index.Exists("a"), `exists("a")`},
		{index.And(index.Exists("a"), index.Or(index.Lt("b", 1), index.Eq("c", true))), `and(exists("a"), or(lt("b", 1), eq("c", true)))`},
	} {
		assert.Equal(t, c.want, c.f.String())
	}
}

// The zero Filter is the identity of And (issue 19, point 4): optional
// filters compose without a switch on how many there are.
func TestAndIdentity(t *testing.T) {
	t.Parallel()
	f := index.Eq("s", "red")
	assert.True(t, index.And().IsZero())
	assert.True(t, index.And(index.Filter{}, index.Filter{}).IsZero())
	assert.Equal(t, f, index.And(f))
	assert.Equal(t, f, index.And(index.Filter{}, f, index.Filter{}))
	assert.Equal(t, index.And(f, index.Exists("b")), index.And(f, index.Filter{}, index.Exists("b")))
	assert.True(t, index.Or(f, index.Filter{}).IsZero(), "an operand matching everything makes the Or match everything")
	assert.Equal(t, f, index.Or(f))
	for _, g := range []index.Filter{index.And(), index.And(index.Filter{}), index.And(index.Filter{}, f)} {
		assert.NoError(t, g.Validate(), "%v", g)
	}
}

func TestOpString(t *testing.T) {
	t.Parallel()
	want := []string{"all", "eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "exists", "and", "or"}
	for op := index.OpAll; op <= index.OpOr; op++ {
		assert.Equal(t, want[op], op.String())
	}
	assert.Equal(t, "Op(12)", index.Op(12).String())
	assert.Equal(t, "Op(-1)", index.Op(-1).String())
}

func TestFilterIsZero(t *testing.T) {
	t.Parallel()
	assert.True(t, index.Filter{}.IsZero())
	assert.False(t, index.Exists("a").IsZero())
	require.NoError(t, index.Filter{}.Validate())
}
