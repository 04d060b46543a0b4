package pinecone_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/shoalhq/shoal/backends/pinecone"
	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
)

// Sources of the rules the wire corpus checks.
const (
	opLimitsURL   = "https://docs.pinecone.io/reference/api/database-limits/operation-limits"
	idLimitsURL   = "https://docs.pinecone.io/reference/api/database-limits/identifier-limits"
	metadataURL   = "https://docs.pinecone.io/guides/data/understanding-metadata"
	filterURL     = "https://docs.pinecone.io/guides/search/filter-by-metadata"
	dollarKeyURL  = "https://docs.pinecone.io/guides/assistant/file-metadata"
	dbLimitsURL   = "https://www.pinecone.io/docs/limits/"
	maxFilterNest = 64
)

// filterOperandTypes are the filter operators Pinecone supports and the
// JSON types of their operands (filterURL's table: $eq/$ne number, string,
// boolean; $gt/$gte/$lt/$lte number; $in/$nin arrays of strings or
// numbers; $exists boolean).
var filterOperandTypes = map[string]func(any) bool{
	"$eq":     isScalar,
	"$ne":     isScalar,
	"$gt":     isNumber,
	"$gte":    isNumber,
	"$lt":     isNumber,
	"$lte":    isNumber,
	"$in":     isStringOrNumberArray,
	"$nin":    isStringOrNumberArray,
	"$exists": func(v any) bool { _, ok := v.(bool); return ok },
}

func isNumber(v any) bool { _, ok := v.(float64); return ok }

func isScalar(v any) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}

func isStringOrNumberArray(v any) bool {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return false
	}
	for _, e := range list {
		switch e.(type) {
		case string, float64:
		default:
			return false
		}
	}
	return true
}

// decodeRequest decodes a request's wire bytes with the client's own
// generated type for method and returns it as protojson's JSON object.
func decodeRequest(t *testing.T, c pineconetest.Call) map[string]any {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(c.Method + "Request"))
	require.NoError(t, err)
	m := mt.New().Interface()
	require.NoError(t, proto.Unmarshal(c.Request, m), "call %d (%s)", c.N, c.Method)
	b, err := protojson.Marshal(m)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// violations checks one request against Pinecone's documented rules and
// returns each broken rule with its source.
func violations(t *testing.T, c pineconetest.Call, dim int) []string {
	req := decodeRequest(t, c)
	var bad []string
	fail := func(url, format string, args ...any) {
		bad = append(bad, fmt.Sprintf("%s call %d: %s (%s)", c.Method, c.N, fmt.Sprintf(format, args...), url))
	}
	ids := func(list []any) {
		for _, x := range list {
			id, _ := x.(string)
			if id == "" || !utf8.ValidString(id) || strings.ContainsRune(id, 0) || utf8.RuneCountInString(id) > 512 {
				fail(idLimitsURL, "record ID %q: 512 characters at most, UTF-8 except \\0, not empty", id)
			}
		}
	}
	switch c.Method {
	case "Upsert":
		if len(c.Request) > 2<<20 {
			fail(opLimitsURL, "request of %d bytes, more than 2 MB", len(c.Request))
		}
		vecs, _ := req["vectors"].([]any)
		if len(vecs) == 0 || len(vecs) > 1000 {
			fail(opLimitsURL, "%d vectors, want 1..1000", len(vecs))
		}
		for _, x := range vecs {
			v, _ := x.(map[string]any)
			ids([]any{v["id"]})
			values, _ := v["values"].([]any)
			nonZero := false
			for _, e := range values {
				nonZero = nonZero || e != 0.0
			}
			if len(values) != dim || !nonZero {
				fail(dbLimitsURL, "vector %v: %d values, want %d with at least one non-zero", v["id"], len(values), dim)
			}
			md, _ := v["metadata"].(map[string]any)
			if b, _ := json.Marshal(md); len(b) > 40<<10 {
				fail(metadataURL, "vector %v: metadata of %d bytes as JSON, more than 40 KB", v["id"], len(b))
			}
			for k, val := range md {
				if strings.HasPrefix(k, "$") {
					fail(dollarKeyURL, "vector %v: metadata key %q starts with $", v["id"], k)
				}
				switch x := val.(type) {
				case string, float64, bool:
				case []any:
					for _, e := range x {
						if _, ok := e.(string); !ok {
							fail(metadataURL, "vector %v: key %q: a list holds %T, want strings", v["id"], k, e)
						}
					}
				default: // null or a nested object
					fail(metadataURL, "vector %v: key %q: value %v is not a string, number, boolean or list of strings", v["id"], k, val)
				}
			}
		}
	case "Query":
		topK, _ := req["topK"].(float64)
		if topK < 1 || topK > 10000 {
			fail(opLimitsURL, "top_k %v, want 1..10000", req["topK"])
		}
		if f, ok := req["filter"].(map[string]any); ok {
			for _, p := range filterProblems(f, 0) {
				fail(filterURL, "filter: %s", p)
			}
		}
	case "Fetch", "Delete":
		list, _ := req["ids"].([]any)
		if len(list) > 1000 {
			fail(opLimitsURL, "%d IDs, more than 1000", len(list))
		}
		ids(list)
	}
	return bad
}

// filterProblems lists what in f breaks Pinecone's filter language: an
// operator it does not support, an operand of the wrong type, an empty
// $and/$or.
func filterProblems(f map[string]any, depth int) []string {
	if depth > maxFilterNest {
		return []string{"nested too deep"}
	}
	var out []string
	for k, v := range f {
		switch {
		case k == "$and" || k == "$or":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				out = append(out, k+" needs a non-empty array")
			}
			for _, e := range list {
				sub, ok := e.(map[string]any)
				if !ok {
					out = append(out, fmt.Sprintf("%s operand %v is not an object", k, e))
					continue
				}
				out = append(out, filterProblems(sub, depth+1)...)
			}
		case strings.HasPrefix(k, "$"):
			out = append(out, "unknown operator "+k)
		default:
			cond, ok := v.(map[string]any)
			if !ok { // shorthand {"field": value} is $eq
				cond = map[string]any{"$eq": v}
			}
			for op, arg := range cond {
				check, known := filterOperandTypes[op]
				if !known {
					out = append(out, fmt.Sprintf("field %q: unknown operator %s", k, op))
				} else if !check(arg) {
					out = append(out, fmt.Sprintf("field %q: %s operand %v has the wrong type", k, op, arg))
				}
			}
		}
	}
	return out
}

// awkwardKeys and awkwardStrings are metadata keys and values that trip
// naive encoders.
var (
	awkwardKeys    = []string{"plain", "with space", "dot.ted", "quo\"te", "back\\slash", "ключ", "🐟", "tab\tkey", strings.Repeat("k", 200), "null", "and"}
	awkwardStrings = []string{"", " ", "ñandú 🐟", "\"quoted\"", "line\nbreak", "\x00nul", "\u2028", "\ufeffbom", strings.Repeat("é", 1000), "true", "3"}
)

// corpusFilters covers every operator, nested $and/$or, awkward keys and
// values, ints and floats, and every combination the Store rewrites (Ne and
// NotIn gain an $exists).
func corpusFilters() []index.Filter {
	var fs []index.Filter
	strs := make([]any, len(awkwardStrings))
	for i, v := range awkwardStrings {
		strs[i] = v
	}
	for _, k := range awkwardKeys {
		for _, v := range []any{awkwardStrings[2], int64(3), 2.5, true} {
			fs = append(fs, index.Eq(k, v), index.Ne(k, v))
		}
		fs = append(fs, index.Exists(k), index.In(k, strs...), index.NotIn(k, int64(1), 2.5, "x"),
			index.Gt(k, int64(-1)), index.Gte(k, 0.5), index.Lt(k, int64(1)<<53), index.Lte(k, -2.5))
	}
	nested := index.And(index.Eq("plain", "x"), index.Or(index.Ne("ключ", "y"), index.And(index.NotIn("🐟", "a", "b"), index.Exists("dot.ted"))))
	deep := index.Exists("plain")
	for range index.MaxFilterDepth/2 - 1 {
		deep = index.Or(index.And(deep, index.Gt("n", 1)), index.Eq("quo\"te", "z"))
	}
	return append(fs, nested, deep, index.Or(fs[:50]...), index.And(fs[50:80]...))
}

// corpusRecords are records with awkward IDs, keys and values and with
// large metadata.
func corpusRecords(dim int) []index.Record {
	var out []index.Record
	add := func(id string, md index.Metadata) {
		v := make([]float32, dim)
		v[len(out)%dim] = 1
		v[(len(out)+1)%dim] = float32(len(out)%5) - 2.5
		out = append(out, index.Record{ID: id, Vector: v, Metadata: md})
	}
	for i, k := range awkwardKeys {
		add(fmt.Sprintf("key-%d", i), index.Metadata{k: awkwardStrings[i%len(awkwardStrings)], "n": int64(i), "f": float64(i) / 4, "b": i%2 == 0, "l": awkwardStrings})
	}
	for i, id := range []string{strings.Repeat("x", index.MaxIDLength), "ñandú/🐟 #1", "with space", "\"q\"", "a\\b", "\u2028", "1"} {
		add(id, index.Metadata{"i": int64(i)})
	}
	tiny := make([]string, 10_000)
	for i := range tiny {
		tiny[i] = string(rune('a' + i%26))
	}
	for i := range 25 {
		add(fmt.Sprintf("tiny-%02d", i), index.Metadata{"tags": tiny})
	}
	for i := range 40 {
		add(fmt.Sprintf("blob-%02d", i), index.Metadata{"blob": strings.Repeat("\u00e9", 20_000), "n": int64(i)})
	}
	many := index.Metadata{}
	for i := range 1_000 {
		many[fmt.Sprintf("k%04d", i)] = float64(i)
	}
	add("many-keys", many)
	for i := range 1_100 {
		add(fmt.Sprintf("bulk-%05d", i), index.Metadata{"i": int64(i), "tags": []string{"a", "b"}})
	}
	return out
}

// TestWireConformance runs a broad corpus of inputs through the Store and
// the fake, captures every request the Store sends (its wire bytes,
// decoded with the client's own generated types), and checks each against
// Pinecone's documented rules. Every call must also succeed: the fake
// enforces the same rules, and the 4 MB query result limit, which only the
// server can check.
func TestWireConformance(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	rec := &recorder{}
	srv.SetObserver(rec.observe)
	const dim = 16
	s, _ := openStore(t, srv, dim, index.Cosine)
	ctx := t.Context()

	recs := corpusRecords(dim)
	require.NoError(t, s.Upsert(ctx, "corpus", recs))
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	got, err := s.Fetch(ctx, "corpus", ids)
	require.NoError(t, err)
	require.Len(t, got, len(recs))

	// Filters run on the small records alone (the fake scans the
	// namespace for each query).
	require.NoError(t, s.Upsert(ctx, "filters", recs[:len(awkwardKeys)+7]))
	vec := recs[3].Vector
	for _, f := range corpusFilters() {
		_, err := s.Query(ctx, index.Query{Namespace: "filters", Vector: vec, TopK: 5, Filter: f})
		require.NoError(t, err, "filter %v", f)
	}
	for _, topK := range []int{1, 31, 32, 1000, pinecone.MaxTopK} {
		for _, withVectors := range []bool{false, true} {
			res, err := s.Query(ctx, index.Query{Namespace: "corpus", Vector: vec, TopK: topK, IncludeVectors: withVectors})
			require.NoError(t, err, "TopK %d, vectors %v", topK, withVectors)
			require.Len(t, res, min(topK, len(recs)))
		}
	}
	require.NoError(t, s.Delete(ctx, "corpus", ids))

	calls := rec.all()
	counts := map[string]int{}
	for _, c := range calls {
		counts[c.Method]++
		for _, v := range violations(t, c, dim) {
			t.Error(v)
		}
	}
	t.Logf("checked %d requests: %v", len(calls), counts)
	for _, m := range []string{"Upsert", "Query", "Fetch", "Delete"} {
		assert.Positive(t, counts[m], "the corpus sends %s requests", m)
	}
}

// The checks themselves catch what they are meant to catch.
func TestWireRulesCatchViolations(t *testing.T) {
	clearEnv(t)
	srv := newFake(t)
	rec := &recorder{}
	srv.SetObserver(rec.observe)
	_, name := openStore(t, srv, 4, index.DotProduct)
	conn := rawConn(t, srv, name)
	over := make([]string, 1001)
	for i := range over {
		over[i] = fmt.Sprint(i)
	}
	_, _ = conn.FetchVectors(t.Context(), over)
	_, _ = conn.UpsertVectors(t.Context(), rawVectors(1, 4, map[string]any{"$bad": "x", "null": nil, "nested": map[string]any{"a": 1.0}}))
	var bad []string
	for _, c := range rec.all() {
		bad = append(bad, violations(t, c, 4)...)
	}
	text := strings.Join(bad, "\n")
	assert.Contains(t, text, "1001 IDs")
	assert.Contains(t, text, `key "$bad" starts with $`)
	assert.Contains(t, text, `key "null"`)
	assert.Contains(t, text, `key "nested"`)
	assert.ElementsMatch(t, []string{"field \"a\": unknown operator $regex", "$or needs a non-empty array", "field \"b\": $gt operand x has the wrong type", "field \"c\": $in operand [] has the wrong type"},
		filterProblems(map[string]any{"a": map[string]any{"$regex": "x"}, "$or": []any{}, "b": map[string]any{"$gt": "x"}, "c": map[string]any{"$in": []any{}}}, 0))
}
