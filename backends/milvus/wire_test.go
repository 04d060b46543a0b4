package milvus

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/antlr4-go/antlr/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/milvus/internal/planparser"
	"github.com/shoalhq/shoal/index"
)

// The wire-conformance corpus: every expression the Store sends (Query and
// Scan filters with their namespace restriction, Fetch and Delete ID lists)
// for a broad set of inputs, parsed with parsers generated from Milvus's
// own Plan.g4 (2.5 before the EXISTS fix, and master; see
// internal/planparser), so that the server's grammar, not the fake, decides.

// wireKeys are metadata keys the Store accepts, chosen to be awkward.
var wireKeys = []string{
	"a", "label", `q"k`, `back\slash`, `\`, `"`, `\"`, "sp ace", "tab\tkey", "new\nline", "cr\rkey", "ñ", "名前", "🐟",
	"x[y]", "]", "[", "[0]", "'", "a'b", "m$eta", "0", "-1", "and", "or", "not", "exists", "in", "true", "md",
	`u\x41`, `\u00`, "~", "a/b", "~1", strings.Repeat("k", 200),
}

// wireStrings are string values, chosen to be awkward.
var wireStrings = []string{
	"", "x", `"`, `\`, `\"`, `" or true or "`, `") or (md["a"] == "`, "line\nbreak", "tab\t", "nul\x00", "ctl\x01\x1f",
	"del\x7f", "🐟", "名前", "soft\u00adhyphen", "zw\u200bsp", "ls\u2028", "bom\ufeff", `\u0041`, "a'b", "'", "3", "true",
	"][", "%_like", strings.Repeat("v", 1000),
}

// wireNumbers are number values.
var wireNumbers = []any{int64(0), int64(-3), int64(1) << 53, int64(-1) << 62, 0.5, -2.25, 1e300, -1e-300, 3.0}

// wireFilters builds the filter corpus: every operator on every key, with
// strings, numbers, bools and lists, nested And/Or, the zero filter inside
// And/Or, and large In lists.
func wireFilters() []index.Filter {
	var fs []index.Filter
	for i, k := range wireKeys {
		s := wireStrings[i%len(wireStrings)]
		n := wireNumbers[i%len(wireNumbers)]
		fs = append(fs,
			index.Exists(k),
			index.Eq(k, s), index.Eq(k, n), index.Eq(k, true),
			index.Ne(k, s), index.Ne(k, n), index.Ne(k, false),
			index.In(k, s, n), index.NotIn(k, s, n),
			index.Gt(k, n), index.Gte(k, n), index.Lt(k, n), index.Lte(k, n),
		)
	}
	for _, s := range wireStrings {
		fs = append(fs, index.Eq("a", s), index.Ne("a", s), index.NotIn("a", s))
	}
	for _, n := range wireNumbers {
		fs = append(fs, index.Eq("a", n), index.Gte("a", n))
	}
	big := make([]any, 1000)
	for i := range big {
		if i%2 == 0 {
			big[i] = fmt.Sprintf("v%d\"", i)
		} else {
			big[i] = int64(i)
		}
	}
	fs = append(fs, index.In("a", big...), index.NotIn(`q"k`, big...))
	leaf := []index.Filter{index.Eq("a", "x"), index.Ne("b", int64(1)), index.NotIn(`q"k`, "y"), index.Exists("c"), index.Gt("n", 2.5)}
	fs = append(fs,
		index.And(leaf...), index.Or(leaf...),
		index.And(index.Or(leaf[0], leaf[1]), index.Or(leaf[2], index.And(leaf[3], leaf[4]))),
		index.Or(index.And(leaf[1], index.Or(leaf[2], index.And(leaf[1], leaf[2]))), leaf[2]),
		index.And(index.Filter{}, leaf[1]), index.Or(leaf[2], index.Filter{}),
	)
	deep := leaf[1]
	for i := range 15 { // index.Filter allows 16 levels
		if i%2 == 0 {
			deep = index.And(deep, leaf[i%len(leaf)])
		} else {
			deep = index.Or(leaf[i%len(leaf)], deep)
		}
	}
	return append(fs, deep)
}

var wireNamespaces = []string{"", "ns", `we"ird`, `back\slash`, "a/b=c d", "名前", "🐟", strings.Repeat("n", 300)}

// wireExpressions returns every expression of the corpus.
func wireExpressions(t testing.TB) []string {
	t.Helper()
	s := &Store{}
	var exprs []string
	for _, ns := range wireNamespaces {
		e, err := s.expr(ns, index.Filter{})
		require.NoError(t, err)
		exprs = append(exprs, e)
	}
	for i, f := range wireFilters() {
		e, err := s.expr(wireNamespaces[i%len(wireNamespaces)], f)
		require.NoError(t, err, "%v", f)
		exprs = append(exprs, e)
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("id-%d-%s", i, wireStrings[i%len(wireStrings)])
	}
	for _, ns := range wireNamespaces {
		exprs = append(exprs, pkList(ns, ids[:3]))
	}
	return append(exprs, pkList("ns", ids))
}

// TestWireExpressionsParseWithMilvusGrammar parses every expression of the
// corpus with each vendored Milvus grammar and checks what Milvus makes of
// it: no syntax error; every exists applies to a lone JSON key (the Ne and
// NotIn form, which the 2.5 grammar would otherwise read as exists over the
// whole conjunction); every key path, as Milvus's visitor reads it, is the
// key's raw text in the stored JSON (which is what Milvus compares it
// with); every string literal unquotes.
func TestWireExpressionsParseWithMilvusGrammar(t *testing.T) {
	t.Parallel()
	exprs := wireExpressions(t)
	for _, g := range planparser.Grammars {
		for _, e := range exprs {
			tree, err := planparser.Parse(g, e)
			if !assert.NoError(t, err, "grammar %v: %.300s", g, e) {
				continue
			}
			checkTree(t, g, e, tree)
		}
	}
	t.Logf("corpus: %d expressions, each parsed with %d grammars", len(exprs), len(planparser.Grammars))
}

func checkTree(t *testing.T, g planparser.Grammar, e string, tree antlr.Tree) {
	var walk func(antlr.Tree)
	walk = func(n antlr.Tree) {
		if term, ok := n.(antlr.TerminalNode); ok {
			text := term.GetText()
			if strings.HasPrefix(text, `"`) && len(text) >= 2 {
				_, err := strconv.Unquote(text)
				assert.NoError(t, err, "grammar %v: string literal %s", g, text)
			}
			return
		}
		if shape := planparser.Shape(n); strings.HasPrefix(shape, "Exists(") {
			assert.Equal(t, "Exists(JSONIdentifier)", shape, "grammar %v: exists must take the key alone in %.300s", g, e)
		}
		for _, c := range n.GetChildren() {
			walk(c)
		}
	}
	walk(tree)
	for _, ident := range planparser.JSONIdentifiers(tree) {
		field, path, err := planparser.NestedPath(ident)
		if !assert.NoError(t, err, "grammar %v: %s", g, ident) {
			continue
		}
		assert.Equal(t, fieldMetadata, field)
		require.Len(t, path, 1, ident)
		key, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(ident, fieldMetadata+"["), "]"))
		require.NoError(t, err, ident)
		stored := string(appendJSONString(nil, key))
		assert.Equal(t, stored[1:len(stored)-1], path[0], "grammar %v: key %q: Milvus looks up %q", g, key, path[0])
	}
}

// TestNeNotInExistsBindsKey: the Ne and NotIn form parses as
// (exists key) and not (…) under every grammar, while the form the Store
// used to send, `(exists md["k"] and not (…))`, is exists over the whole
// conjunction under the 2.5 grammar (so Milvus 2.4 and 2.5 refused it).
func TestNeNotInExistsBindsKey(t *testing.T) {
	t.Parallel()
	for _, f := range []index.Filter{index.Ne("k", "x"), index.NotIn("k", "x", int64(2))} {
		e, err := TranslateFilter(f)
		require.NoError(t, err)
		for _, g := range planparser.Grammars {
			tree, err := planparser.Parse(g, e)
			require.NoError(t, err, "grammar %v: %s", g, e)
			assert.True(t, strings.HasPrefix(planparser.Shape(tree), "Parens(LogicalAnd(Parens(Exists(JSONIdentifier)), Unary("), "grammar %v: %s parses as %s", g, e, planparser.Shape(tree))
		}
	}
	old := `(exists md["k"] and not ((md["k"] == "x" or json_contains(md["k"], "x"))))`
	tree, err := planparser.Parse(planparser.V25, old)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(planparser.Shape(tree), "Parens(Exists(LogicalAnd("), planparser.Shape(tree))
}

// TestTranslateFilterRefusesUnaddressableKeys: keys Milvus cannot address in
// a key path are refused with index.ErrInvalidFilter naming the key.
func TestTranslateFilterRefusesUnaddressableKeys(t *testing.T) {
	t.Parallel()
	for _, k := range unaddressableKeys {
		for _, f := range []index.Filter{index.Eq(k, "x"), index.Exists(k), index.And(index.Eq("a", 1), index.NotIn(k, "y"))} {
			_, err := TranslateFilter(f)
			assert.ErrorIs(t, err, index.ErrInvalidFilter, "%q", k)
			assert.ErrorContains(t, err, strconv.Quote(k))
		}
	}
}

// unaddressableKeys are keys Milvus matches nothing with (or refuses).
var unaddressableKeys = []string{
	"ctl\x01", "nul\x00", "esc\x1b", "del\x7f", "soft\u00adhyphen", "zero\u200bwidth", "line\u2028sep", "bom\ufeff",
	"nbsp\u00a0", `lit\u0041`, `lit\uABCD`, "a][b",
}
