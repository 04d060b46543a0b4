package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search/web"
)

// classes are the labels of the test pool; one is hostile HTML.
var classes = []string{"boot", "shirt", "<script>alert(1)</script>", "bag"}

// pool returns n records in len(classes) well-separated clusters of dim
// dimensions, IDs "item-0000" on, label = classes[i % len].
func pool(n, dim int, seed uint64) []index.Record {
	r := rand.New(rand.NewPCG(seed, 1))
	centers := make([][]float32, len(classes))
	for c := range centers {
		centers[c] = make([]float32, dim)
		for j := range dim {
			centers[c][j] = float32(r.NormFloat64())
		}
	}
	recs := make([]index.Record, n)
	for i := range recs {
		c := i % len(classes)
		v := make([]float32, dim)
		for j := range v {
			v[j] = centers[c][j] + 0.35*float32(r.NormFloat64())
		}
		recs[i] = index.Record{ID: fmt.Sprintf("item-%04d", i), Vector: v,
			Metadata: index.Metadata{"label": classes[c], "n": int64(i)}}
	}
	return recs
}

// world is a handler over a small pool, served on loopback.
type world struct {
	store *memory.Store
	h     *web.Handler
	srv   *httptest.Server
	recs  []index.Record
}

func newWorld(t testing.TB, n int, opts ...web.Option) *world {
	t.Helper()
	store, err := memory.New()
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	recs := pool(n, 16, 7)
	require.NoError(t, store.Upsert(context.Background(), "pool", recs))
	h, err := web.New(store, "pool", opts...)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &world{store: store, h: h, srv: srv, recs: recs}
}

// labelOf returns the label of an item ID of the pool.
func (w *world) labelOf(id string) string {
	var i int
	fmt.Sscanf(id, "item-%d", &i)
	return classes[i%len(classes)]
}

// call sends a request and decodes the JSON reply into out (when not nil);
// it returns the status.
func call(t testing.TB, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out), "%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// apiError is the JSON of an error reply.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

type item struct {
	ID     string            `json:"id"`
	Score  *float64          `json:"score"`
	Label  string            `json:"label"`
	Fields map[string]string `json:"fields"`
}

type round struct {
	Index     int      `json:"index"`
	Strategy  string   `json:"strategy"`
	Shown     int      `json:"shown"`
	Marked    int      `json:"marked"`
	Relevant  int      `json:"relevant"`
	Precision *float64 `json:"precision"`
	IDs       []string `json:"ids"`
}

type session struct {
	ID     string  `json:"id"`
	Marks  []mark  `json:"marks"`
	Rounds []round `json:"rounds"`
}

type mark struct {
	ID       string `json:"id"`
	Relevant bool   `json:"relevant"`
}

type results struct {
	Round   round  `json:"round"`
	Results []item `json:"results"`
}

// exampleStore returns a store with a small pool in namespace "pool".
func exampleStore() index.VectorStore {
	store, err := memory.New()
	if err != nil {
		panic(err)
	}
	if err := store.Upsert(context.Background(), "pool", pool(40, 8, 1)); err != nil {
		panic(err)
	}
	return store
}
