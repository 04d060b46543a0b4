package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index/memory"
)

// TestOpenAPIMatchesRoutes keeps static/openapi.json in step with the
// handler: the same operations, no more and no fewer, every schema
// reference resolved, and the file served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	b, err := fs.ReadFile(staticFS, "static/openapi.json")
	require.NoError(t, err)
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas   map[string]json.RawMessage `json:"schemas"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3."))
	var documented, served []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	for _, rt := range routes {
		served = append(served, rt.method+" "+rt.pattern)
	}
	slices.Sort(documented)
	slices.Sort(served)
	assert.Equal(t, served, documented)

	for _, ref := range refs(b) {
		name, ok := strings.CutPrefix(ref, "#/components/schemas/")
		if ok {
			assert.Contains(t, doc.Components.Schemas, name, ref)
			continue
		}
		name, ok = strings.CutPrefix(ref, "#/components/responses/")
		require.True(t, ok, ref)
		assert.Contains(t, doc.Components.Responses, name, ref)
	}

	store, err := memory.New()
	require.NoError(t, err)
	h, err := New(store, "pool")
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, string(b), rec.Body.String())
}

// refs returns every "$ref" value in a JSON document.
func refs(b []byte) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "$ref" {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	_ = json.Unmarshal(b, &v)
	walk(v)
	return out
}
