package milvus

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/milvus/milvustest"
	"github.com/shoalhq/shoal/index"
)

var evalFields = map[string]milvustest.FieldKind{fieldPK: milvustest.KindScalar, fieldNamespace: milvustest.KindScalar, fieldID: milvustest.KindScalar, fieldMetadata: milvustest.KindJSON}

// evalWithFake translates f, parses it with the fake's evaluator and
// evaluates it on md stored as the Store stores it.
func evalWithFake(t testing.TB, f index.Filter, md index.Metadata) bool {
	t.Helper()
	expr, err := TranslateFilter(f)
	require.NoError(t, err, "translate %v", f)
	e, err := milvustest.ParseExpr(expr, evalFields)
	require.NoError(t, err, "the fake cannot parse %q (from %v)", expr, f)
	raw, err := encodeMetadata(md)
	require.NoError(t, err)
	doc, err := milvustest.DecodeJSON(raw)
	require.NoError(t, err)
	return e.Eval(map[string]any{fieldMetadata: doc, fieldNamespace: "ns", fieldID: "id", fieldPK: "pk"})
}

func TestTranslateFilterTable(t *testing.T) {
	t.Parallel()
	md := index.Metadata{"s": "x\"y\\z", "n": int64(3), "f": 2.5, "b": true, "l": []string{"a", "b\""}, `k"ey`: "v", "zero": 0.0}
	for _, c := range []struct {
		f    index.Filter
		want bool
	}{
		{index.Eq("s", "x\"y\\z"), true},
		{index.Eq("s", `x" or true or "`), false},
		{index.Ne("s", `x" or true or "`), true},
		{index.Ne("missing", "x"), false},
		{index.NotIn("missing", "x"), false},
		{index.Eq("n", 3.0), true},
		{index.Eq("n", 3), true},
		{index.Gt("n", 2.5), true},
		{index.Lte("f", 2), false},
		{index.Eq("zero", 0), true},
		{index.Eq("l", "b\""), true},
		{index.Ne("l", "a"), false},
		{index.In("l", "q", "a"), true},
		{index.NotIn("l", "q"), true},
		{index.Gt("l", 0), false},
		{index.Gt("s", 0), false},
		{index.Eq("b", true), true},
		{index.Ne("b", true), false},
		{index.Eq("b", "true"), false},
		{index.Exists(`k"ey`), true},
		{index.Eq(`k"ey`, "v"), true},
		{index.Exists("nope"), false},
		{index.And(index.Eq("n", 3), index.Or(index.Eq("s", "no"), index.Exists("b"))), true},
	} {
		assert.Equal(t, c.f.Match(md), c.want, "reference semantics of %v", c.f)
		assert.Equal(t, c.want, evalWithFake(t, c.f, md), "translated %v", c.f)
	}
}

func TestTranslateFilterInvalid(t *testing.T) {
	t.Parallel()
	for _, f := range []index.Filter{
		{Op: index.OpEq, Field: "", Value: "x"},
		{Op: index.OpIn, Field: "a"},
		{Op: index.OpAnd},
		{Op: index.Op(99), Field: "a"},
		index.Gt("a", "x"),
	} {
		_, err := TranslateFilter(f)
		assert.ErrorIs(t, err, index.ErrInvalidFilter, "%v", f)
	}
}

// The fake's parser must reject what it does not understand.
func TestFakeParserRejects(t *testing.T) {
	t.Parallel()
	for _, e := range []string{
		`md["a"] == `, `unknown == 1`, `md["a"] === 1`, `md["a"] == "x`, `md[a] == 1`, `ns["a"] == 1`,
		`(md["a"] == 1`, `md["a"] == 1)`, `md["a"] like "x%"`, `array_contains(md["a"], 1)`, `md["a"] == 1 &&`,
		`md["a"] in []`, `exists ns`, `md["a"] == 1 md["b"] == 2`, `md["a"] + 1 == 2`,
	} {
		_, err := milvustest.ParseExpr(e, evalFields)
		assert.Error(t, err, "%q", e)
	}
}

var fuzzKeys = []string{"a", "b", `q"k`, `back\slash`, "sp ace", "ñ"}
var fuzzStrings = []string{"", "x", "X", `"`, `\`, `\"`, `" or true or "`, `") or (md["a"] == "`, "line\nbreak", "tab\t", "nul\x01", "🐟", "3", "true", "a'b"}

func randValue(r *rand.Rand) any {
	switch r.IntN(6) {
	case 0:
		return fuzzStrings[r.IntN(len(fuzzStrings))]
	case 1:
		return int64(r.IntN(7) - 3)
	case 2:
		return float64(r.IntN(7)-3) / 2 // includes integral floats
	case 3:
		return r.IntN(2) == 0
	default:
		n := r.IntN(3)
		l := make([]string, n)
		for i := range l {
			l[i] = fuzzStrings[r.IntN(len(fuzzStrings))]
		}
		return l
	}
}

func randScalar(r *rand.Rand) any {
	for {
		v := randValue(r)
		if _, isList := v.([]string); !isList {
			return v
		}
	}
}

func randNumber(r *rand.Rand) any {
	if r.IntN(2) == 0 {
		return int64(r.IntN(7) - 3)
	}
	return float64(r.IntN(7)-3) / 2
}

func randFilter(r *rand.Rand, depth int) index.Filter {
	k := fuzzKeys[r.IntN(len(fuzzKeys))]
	op := r.IntN(12)
	if depth >= 3 && op >= 10 {
		op = r.IntN(10)
	}
	switch op {
	case 0:
		return index.Eq(k, randScalar(r))
	case 1:
		return index.Ne(k, randScalar(r))
	case 2, 3:
		vs := make([]any, 1+r.IntN(3))
		for i := range vs {
			if r.IntN(2) == 0 {
				vs[i] = fuzzStrings[r.IntN(len(fuzzStrings))]
			} else {
				vs[i] = randNumber(r)
			}
		}
		if op == 2 {
			return index.In(k, vs...)
		}
		return index.NotIn(k, vs...)
	case 4:
		return index.Gt(k, randNumber(r))
	case 5:
		return index.Gte(k, randNumber(r))
	case 6:
		return index.Lt(k, randNumber(r))
	case 7:
		return index.Lte(k, randNumber(r))
	case 8, 9:
		return index.Exists(k)
	default:
		fs := make([]index.Filter, 1+r.IntN(3))
		for i := range fs {
			fs[i] = randFilter(r, depth+1)
		}
		if op == 10 {
			return index.And(fs...)
		}
		return index.Or(fs...)
	}
}

func randMetadata(r *rand.Rand) index.Metadata {
	md := index.Metadata{}
	for _, k := range fuzzKeys {
		if r.IntN(2) == 0 {
			md[k] = randValue(r)
		}
	}
	return md
}

// FuzzTranslateFilter checks, on random filters and metadata, that the
// translated expression selects exactly what index.Filter.Match selects.
func FuzzTranslateFilter(f *testing.F) {
	for i := range uint64(20) {
		f.Add(i, i*7919)
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		r := rand.New(rand.NewPCG(s1, s2))
		flt := randFilter(r, 0)
		for range 8 {
			md := randMetadata(r)
			if got, want := evalWithFake(t, flt, md), flt.Match(md); got != want {
				expr, _ := TranslateFilter(flt)
				t.Fatalf("filter %v\nexpr %s\nmetadata %#v\nfake says %v, Match says %v", flt, expr, md, got, want)
			}
		}
	})
}

// FuzzFilterEscaping puts arbitrary strings in keys and values: the
// expression must parse, and match exactly the records Match selects — a
// quote or backslash must not end the literal or inject syntax.
func FuzzFilterEscaping(f *testing.F) {
	for _, s := range fuzzStrings {
		f.Add(s, s)
	}
	f.Add(`a"]`, `" or exists md["a`)
	f.Fuzz(func(t *testing.T, key, val string) {
		if key == "" || strings.HasPrefix(key, "$") {
			key = "k" + key
		}
		md, err := index.Metadata{key: val, "other": `x"`}.Normalize()
		if err != nil {
			t.Skip() // not valid metadata (e.g. invalid UTF-8)
		}
		if checkKey(key) != nil {
			// A key Milvus cannot address is refused, not mistranslated.
			_, err := TranslateFilter(index.Eq(key, val))
			assert.ErrorIs(t, err, index.ErrInvalidFilter)
			_, err = encodeMetadata(md)
			assert.ErrorIs(t, err, index.ErrInvalidMetadata)
			return
		}
		for _, flt := range []index.Filter{
			index.Eq(key, val), index.Ne(key, val), index.In(key, val, "zz"), index.NotIn(key, val),
			index.Eq("other", val), index.Exists(key), index.Or(index.Eq(key, val+"x"), index.Eq("other", val)),
		} {
			if flt.Validate() != nil {
				continue
			}
			assert.Equal(t, flt.Match(md), evalWithFake(t, flt, md), "%v on %#v", flt, md)
			empty := index.Metadata{"other": "y"}
			assert.Equal(t, flt.Match(empty), evalWithFake(t, flt, empty), "%v on %#v", flt, empty)
		}
	})
}

func TestMetadataRoundTrip(t *testing.T) {
	t.Parallel()
	md := index.Metadata{"i": int64(1) << 60, "neg": int64(-5), "f": 3.0, "tiny": 1e-300, "big": 1e300, "s": "q\"\\", "l": []string{}, "b": false}
	raw, err := encodeMetadata(md)
	require.NoError(t, err)
	got, err := decodeMetadata(raw)
	require.NoError(t, err)
	assert.Equal(t, md, got)
	for k, v := range md {
		assert.IsType(t, v, got[k], k)
	}
}

func FuzzDecodeMetadata(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":1.5,"c":"x","d":[ "y" ],"e":true}`))
	f.Add([]byte(`{"a":[1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := decodeMetadata(b)
		if err != nil {
			return
		}
		raw, err := encodeMetadata(md)
		if err != nil {
			return // e.g. keys that are not valid UTF-8 after decoding
		}
		again, err := decodeMetadata(raw)
		require.NoError(t, err)
		assert.Equal(t, md, again)
	})
}
