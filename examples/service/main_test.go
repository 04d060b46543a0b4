package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/examples/internal/dataset"
)

// The service indexes a labeled folder, answers a filtered bucket search and
// runs a feedback round, end to end over HTTP.
func TestService(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, dataset.WriteShapes(dir, 12))
	inputs, err := load(dir)
	require.NoError(t, err)
	svc, err := newService(t.Context(), inputs)
	require.NoError(t, err)
	srv := httptest.NewServer(svc)
	defer srv.Close()

	get := func(path string, body string) (int, []item) {
		var resp *http.Response
		if body == "" {
			resp, err = http.Get(srv.URL + path)
		} else {
			resp, err = http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		}
		require.NoError(t, err)
		defer resp.Body.Close()
		var items []item
		if resp.StatusCode == http.StatusOK {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&items))
		}
		return resp.StatusCode, items
	}

	code, items := get("/search?pos=square-0.png&pos=square-1.png&k=8", "")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, items, 8)
	for _, it := range items {
		assert.Equal(t, "square", it.Label, it.ID)
	}
	code, items = get("/search?pos=square-0.png&label=corner&k=5", "")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, items, 5)
	for _, it := range items {
		assert.Equal(t, "corner", it.Label, "the label filter holds: %s", it.ID)
	}

	code, items = get("/feedback", `{"pos":["corner-0.png"],"relevant":["corner-1.png","corner-2.png"],"notRelevant":["square-3.png"],"k":6}`)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, items, 6)
	for _, it := range items {
		assert.Equal(t, "corner", it.Label, it.ID)
		assert.NotContains(t, []string{"corner-0.png", "corner-1.png", "corner-2.png", "square-3.png"}, it.ID, "marked items are not shown again")
	}

	code, _ = get("/search?pos=nope", "")
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = get("/feedback", `{"pos":[],"relevant":["corner-1.png"]}`)
	assert.Equal(t, http.StatusBadRequest, code, "an empty bucket")
	code, _ = get("/feedback", `{"pos":["corner-0.png"],"relevant":["nope"]}`)
	assert.Equal(t, http.StatusBadRequest, code)
}
