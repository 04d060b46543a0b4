package milvustest

import (
	"math"
	"testing"
	"time"

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
		`not md["missing"] == 1`:        true,
		`md["s"] > 1`:                   false,
		`pk in ["k0", "k1"]`:            true,
		`pk > "k0" and ns == "n"`:       true,
		`(pk > "k1") or (md["n"] == 4)`: false,
		`ns == "n" and not ((exists md["s"]) and not md["s"] == "zz")`: false,
	} {
		e, err := ParseExpr(expr, testFields)
		require.NoError(t, err, expr)
		assert.Equal(t, want, e.Eval(row), expr)
	}
}

// FuzzParseExpr: the parser never panics, and what it accepts evaluates
// without panicking.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{`md["a"] == "x"`, `(exists md["a"]) and not (md["b"] in [1, "2"])`, `json_contains(md["l"], "\"")`, `pk > "a" or ns != "b"`, `((true))`} {
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

// TestEvalNotEqualMissingOrOtherType: != on a JSON key is true when the key
// is missing or holds another type (Milvus's UnaryRangeJSONCompareNotEqual).
func TestEvalNotEqualMissingOrOtherType(t *testing.T) {
	t.Parallel()
	md, err := DecodeJSON([]byte(`{"s":"a","n":3,"l":["x"],"b":true}`))
	require.NoError(t, err)
	row := map[string]any{"md": md}
	for expr, want := range map[string]bool{
		`md["missing"] != 1`:   true,
		`md["missing"] != "x"`: true,
		`md["s"] != 1`:         true,
		`md["n"] != "3"`:       true,
		`md["l"] != "x"`:       true,
		`md["b"] != 1`:         true,
		`md["s"] != "a"`:       false,
		`md["n"] != 3.0`:       false,
		`md["missing"] == 1`:   false,
		`md["s"] == 1`:         false,
	} {
		e, err := ParseExpr(expr, testFields)
		require.NoError(t, err, expr)
		assert.Equal(t, want, e.Eval(row), expr)
	}
}

// TestParseExprExistsPrecedence: exists is the loosest operator, as in
// Plan.g4 of 2.4 and of 2.5 before #40865, so an exists followed by "and"
// takes the conjunction and is refused with the server's error.
func TestParseExprExistsPrecedence(t *testing.T) {
	t.Parallel()
	for expr, wantErr := range map[string]string{
		`(exists md["k"] and not (md["k"] == 1.0))`:   "'and' can only be used between boolean expressions",
		`exists md["k"] or md["s"] == "a"`:            "'or' can only be used between boolean expressions",
		`exists md["k"] == 1`:                         "exists operations are only supported on single fields",
		`exists ns`:                                   "only supportted on json key",
		`md["k"]`:                                     "not a boolean expression",
		`not md["k"]`:                                 "not op can only be applied on boolean expression",
		`((exists md["k"]) and not (md["k"] == 1.0))`: "",
		`md["s"] == "a" and exists md["k"]`:           "",
		`not exists md["k"]`:                          "",
	} {
		_, err := ParseExpr(expr, testFields)
		if wantErr == "" {
			assert.NoError(t, err, expr)
			continue
		}
		assert.ErrorContains(t, err, wantErr, expr)
	}
}

// TestEvalRawJSONKeys: Milvus compares an expression's key, not unescaped
// except for \uXXXX, with the stored key's raw (escaped) text.
func TestEvalRawJSONKeys(t *testing.T) {
	t.Parallel()
	md, err := DecodeJSON([]byte(`{"a\"b":1,"c\\d":2,"e\u0001":3,"f\u00ad":4,"g\u00adh":5,"plain":6}`))
	require.NoError(t, err)
	row := map[string]any{"md": md}
	for expr, want := range map[string]bool{
		`md["a\"b"] == 1`:     true,  // \" written alike in both
		`md["c\\d"] == 2`:     true,  // \\ likewise
		`md["e\x01"] == 3`:    false, // \x01 vs \u0001
		`md["e\u0001"] == 3`:  false, // decoded to U+0001 vs the raw \u0001
		`md["f\\u00ad"] == 4`: false, // decodeUnicode turns \\u00ad into \ U+00AD
		`md["g\u00adh"] == 5`: false,
		`md["plain"] == 6`:    true,
	} {
		e, err := ParseExpr(expr, testFields)
		require.NoError(t, err, expr)
		assert.Equal(t, want, e.Eval(row), expr)
	}
	_, err = ParseExpr(`md["a][b"] == 1`, testFields)
	assert.ErrorContains(t, err, "json key must be enclosed in double quotes")
}

// TestStartRejectsBadOptions: Start validates its options (house style:
// func(*Server) error) instead of starting a fake that misbehaves.
func TestStartRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Option{
		"latency":  WithLatency(-time.Second),
		"rate":     WithFailureRate(1.5, 1),
		"nan rate": WithFailureRate(math.NaN(), 1),
		"after":    WithFailAfter(-1, CodeRateLimit),
		"code":     WithFailAfter(1, 0),
		"observer": WithObserver(nil),
		"token":    WithToken(""),
	} {
		srv, err := Start(o)
		if !assert.Error(t, err, name) {
			srv.Close()
		}
	}
	srv, err := Start(WithLatency(0), WithFailureRate(0, 1), WithToken("u:p"))
	require.NoError(t, err)
	srv.Close()
}
