package openaitest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/openai/openaitest"
)

// post sends a raw JSON body and returns the status and decoded answer.
func post(t *testing.T, srv *openaitest.Server, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(srv.URL()+"/embeddings", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

func TestWireRules(t *testing.T) {
	t.Parallel()
	srv, err := openaitest.NewServer(openaitest.WithLimits(3, 10, 4), openaitest.WithImages())
	require.NoError(t, err)
	defer srv.Close()
	cases := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"float", `{"model":"text-embedding-3-small","input":["hello world"],"encoding_format":"float","dimensions":4}`, 200, ""},
		{"base64", `{"model":"text-embedding-3-small","input":"hello world","encoding_format":"base64"}`, 200, ""},
		{"token arrays", `{"model":"text-embedding-3-small","input":[[1,2,3],[4]]}`, 200, ""},
		{"unknown model", `{"model":"nope","input":"x"}`, 404, "The model `nope` does not exist"},
		{"no model", `{"input":"x"}`, 400, "model"},
		{"bad format", `{"model":"text-embedding-3-small","input":"x","encoding_format":"binary"}`, 400, "encoding_format"},
		{"ada refuses dimensions", `{"model":"text-embedding-ada-002","input":"x","dimensions":8}`, 400, "does not support specifying dimensions"},
		{"dimensions too large", `{"model":"text-embedding-3-small","input":"x","dimensions":4000}`, 400, "Must be between 1 and 1536"},
		{"empty string", `{"model":"text-embedding-3-small","input":["a",""]}`, 400, "cannot be an empty string"},
		{"too many inputs", `{"model":"text-embedding-3-small","input":["a","b","c","d"]}`, 400, "4 inputs, want 1 to 3"},
		{"input too long", `{"model":"text-embedding-3-small","input":"one two three four five"}`, 400, "maximum context length is 4 tokens, however you requested 5 tokens"},
		{"request too long", `{"model":"text-embedding-3-small","input":["one two three four","one two three four","one two three four"]}`, 400, "Requested 12 tokens, max 10"},
		{"image", `{"model":"text-embedding-3-small","modality":"image","input":["data:image/png;base64,iVBORw0KGgo=","https://example.com/a.png"]}`, 200, ""},
		{"image not a URI", `{"model":"text-embedding-3-small","modality":"image","input":["a cat"]}`, 422, "valid URL or data URI"},
		{"bad JSON", `{"model":`, 400, "could not parse the JSON body"},
	}
	for _, c := range cases {
		code, out := post(t, srv, c.body)
		assert.Equal(t, c.code, code, c.name)
		if c.code != 200 {
			e, _ := out["error"].(map[string]any)
			require.NotNil(t, e, c.name)
			assert.Contains(t, e["message"], c.msg, c.name)
			continue
		}
		assert.Equal(t, "list", out["object"], c.name)
		usage := out["usage"].(map[string]any)
		assert.Equal(t, usage["prompt_tokens"], usage["total_tokens"], c.name)
	}
	// Shapes of the two encodings, and usage in cl100k_base tokens.
	_, out := post(t, srv, `{"model":"text-embedding-3-small","input":["hello world"],"encoding_format":"float","dimensions":4}`)
	d := out["data"].([]any)[0].(map[string]any)
	assert.Len(t, d["embedding"], 4)
	assert.Equal(t, 2.0, out["usage"].(map[string]any)["prompt_tokens"])
	_, out = post(t, srv, `{"model":"text-embedding-3-small","input":"hello world","encoding_format":"base64","dimensions":4}`)
	assert.IsType(t, "", out["data"].([]any)[0].(map[string]any)["embedding"])
}

func TestRateLimitAndAuth(t *testing.T) {
	t.Parallel()
	srv, err := openaitest.NewServer(openaitest.WithAPIKey("sk-secret-key-123456"))
	require.NoError(t, err)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/embeddings", bytes.NewReader([]byte(`{"model":"text-embedding-3-small","input":"x"}`)))
	req.Header.Set("Authorization", "Bearer sk-wrong-key-abcdefgh")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)

	srv.SetRateLimit(1, time.Hour)
	for i, want := range []int{http.StatusOK, http.StatusTooManyRequests} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/embeddings", bytes.NewReader([]byte(`{"model":"text-embedding-3-small","input":"x"}`)))
		req.Header.Set("Authorization", "Bearer sk-secret-key-123456")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, want, res.StatusCode, i)
		if want == http.StatusTooManyRequests {
			assert.NotEmpty(t, res.Header.Get("Retry-After"))
		}
	}
}

func TestNewServerOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []openaitest.Option{openaitest.WithModel("", openaitest.Model{Dim: 1}), openaitest.WithAPIKey(""),
		openaitest.WithLimits(0, 1, 1), openaitest.WithTokenCounter(nil), nil} {
		_, err := openaitest.NewServer(o)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "openaitest: "), err.Error())
	}
}
