package milvustest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testFields = map[string]FieldKind{"pk": KindScalar, "ns": KindScalar, "md": KindJSON}

func TestEval(t *testing.T) {
	t.Parallel()
	md, err := DecodeJSON([]byte(`{"s":"a\"b","n":3,"f":2.5,"b":true,"l":["x","y"]}`))
	require.NoError(t, err)
	row := map[string]any{"pk": "k1", "ns": "n", "md": md}
	for expr, want := range map[string]bool{
		``:                              true,
		`md["s"] == "a\"b"`:             true,
		`md["n"] == 3.0`:                true,
		`md["n"] >= 3`:                  true,
		`md["f"] < 3`:                   true,
		`md["b"] == true`:               true,
		`md["b"] > false`:               false,
		`md["l"] == "x"`:                false,
		`json_contains(md["l"], "y")`:   true,
		`json_contains(md["s"], "a")`:   false,
		`exists md["missing"]`:          false,
		`md["missing"] != 1`:            false,
		`not md["missing"] == 1`:        true,
		`md["s"] > 1`:                   false,
		`pk in ["k0", "k1"]`:            true,
		`pk > "k0" and ns == "n"`:       true,
		`(pk > "k1") or (md["n"] == 4)`: false,
		`ns == "n" and not (exists md["s"] and not md["s"] == "zz")`: false,
	} {
		e, err := ParseExpr(expr, testFields)
		require.NoError(t, err, expr)
		assert.Equal(t, want, e.Eval(row), expr)
	}
}

// FuzzParseExpr: the parser never panics, and what it accepts evaluates
// without panicking.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{`md["a"] == "x"`, `exists md["a"] and not (md["b"] in [1, "2"])`, `json_contains(md["l"], "\"")`, `pk > "a" or ns != "b"`, `((true))`} {
		f.Add(s)
	}
	md, _ := DecodeJSON([]byte(`{"a":"x","b":1,"l":["\""]}`))
	row := map[string]any{"pk": "p", "ns": "n", "md": md}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s, testFields)
		if err != nil {
			return
		}
		_ = e.Eval(row)
	})
}
