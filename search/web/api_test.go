package web_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/search/web"
)

func TestSearch(t *testing.T) {
	w := newWorld(t, 200)
	var got struct{ Results []item }
	status := call(t, "POST", w.srv.URL+"/api/search", map[string]any{
		"positives": []map[string]string{{"id": "item-0000"}, {"id": "item-0004"}},
		"negatives": []map[string]string{{"id": "item-0001"}},
		"topK":      10, "exclude": []string{"item-0008"},
		"filter":      map[string]any{"op": "ne", "field": "n", "value": 12},
		"aggregation": "max",
	}, &got)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, got.Results, 10)
	for _, r := range got.Results {
		assert.Equal(t, "boot", r.Label, r.ID)
		assert.NotContains(t, []string{"item-0000", "item-0004", "item-0008", "item-0012"}, r.ID)
		assert.NotNil(t, r.Score)
		assert.Equal(t, "boot", r.Fields["label"])
	}
}

func TestBadInput(t *testing.T) {
	w := newWorld(t, 40, web.WithMaxBody(4096))
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"malformed JSON", "POST", "/api/search", `{"positives": [`, 400, "body"},
		{"wrong type", "POST", "/api/search", `{"positives": [{"id": 3}]}`, 400, "positives.id"},
		{"unknown field", "POST", "/api/search", `{"positives": [{"id": "item-0000"}], "limit": 3}`, 400, "limit"},
		{"no positives", "POST", "/api/search", `{"positives": []}`, 400, "positives"},
		{"two forms", "POST", "/api/search", `{"positives": [{"id": "item-0000", "text": "x"}]}`, 400, "positives[0]"},
		{"text without encoder", "POST", "/api/search", `{"positives": [{"text": "a boot"}]}`, 400, "positives[0].text"},
		{"unknown bucket id", "POST", "/api/search", `{"positives": [{"id": "nope"}]}`, 400, "positives"},
		{"topK out of range", "POST", "/api/search", `{"positives": [{"id": "item-0000"}], "topK": 100000}`, 400, "topK"},
		{"bad filter op", "POST", "/api/search", `{"positives": [{"id": "item-0000"}], "filter": {"op": "like"}}`, 400, "filter.op"},
		{"bad aggregation", "POST", "/api/search", `{"positives": [{"id": "item-0000"}], "aggregation": "median"}`, 400, "aggregation"},
		{"body too large", "POST", "/api/search", `{"positives": [{"id": "` + big + `"}]}`, 413, ""},
		{"trailing data", "POST", "/api/search", `{"positives": [{"id": "item-0000"}]} {}`, 400, ""},
		{"unknown session", "GET", "/api/sessions/0123456789abcdef0123456789abcdef", nil, 404, "id"},
		{"malformed session id", "GET", "/api/sessions/..%2f..%2fetc", nil, 404, "id"},
		{"unknown item", "GET", "/api/item?id=nope", nil, 404, "id"},
		{"bad k", "GET", "/api/look/rare?k=x", nil, 400, "k"},
		{"bad method", "GET", "/api/look/map?method=tsne", nil, 400, "method"},
		{"unknown route", "GET", "/api/nothing", nil, 404, ""},
		{"no thumbnails", "GET", "/api/thumbnail?id=item-0000", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e apiError
			status := call(t, tt.method, w.srv.URL+tt.path, tt.body, &e)
			assert.Equal(t, tt.status, status, e.Error)
			assert.Equal(t, tt.field, e.Field, e.Error)
			assert.NotEmpty(t, e.Error)
		})
	}
}

func TestUploadLimit(t *testing.T) {
	enc, err := local.NewImageEncoder()
	require.NoError(t, err)
	w := newWorld(t, 20, web.WithEncoder(enc), web.WithMaxUpload(100))
	img := base64.StdEncoding.EncodeToString(make([]byte, 200))
	var e apiError
	status := call(t, "POST", w.srv.URL+"/api/search", map[string]any{
		"positives": []map[string]string{{"image": img, "mimeType": "image/png"}}}, &e)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Equal(t, "positives[0].image", e.Field)
	status = call(t, "POST", w.srv.URL+"/api/search", map[string]any{
		"positives": []map[string]string{{"image": "!!!"}}}, &e)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "positives[0].image", e.Field)
}

// feedbackRounds runs three rounds on w, marking by the true label, and
// returns the session ID.
func feedbackRounds(t *testing.T, w *world) string {
	var s session
	require.Equal(t, http.StatusCreated, call(t, "POST", w.srv.URL+"/api/sessions", map[string]any{
		"positives": []map[string]string{{"id": "item-0000"}}}, &s))
	require.Len(t, s.ID, 32)
	for r := range 3 {
		var res results
		require.Equal(t, http.StatusOK, call(t, "POST", w.srv.URL+"/api/sessions/"+s.ID+"/results", map[string]int{"k": 8}, &res))
		require.Equal(t, r, res.Round.Index)
		require.Len(t, res.Results, 8)
		var marks []mark
		for _, it := range res.Results {
			marks = append(marks, mark{it.ID, it.Label == "boot"})
		}
		require.Equal(t, http.StatusOK, call(t, "POST", w.srv.URL+"/api/sessions/"+s.ID+"/marks", map[string]any{"marks": marks}, nil))
	}
	return s.ID
}

func TestFeedbackSession(t *testing.T) {
	w := newWorld(t, 200)
	id := feedbackRounds(t, w)
	var rs struct{ Rounds []round }
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/sessions/"+id+"/rounds", nil, &rs))
	require.Len(t, rs.Rounds, 3)
	for _, r := range rs.Rounds {
		assert.Equal(t, 8, r.Shown)
		assert.Equal(t, 8, r.Marked)
		require.NotNil(t, r.Precision)
		assert.InDelta(t, float64(r.Relevant)/8, *r.Precision, 1e-9)
	}
	var sug struct{ Results []item }
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/sessions/"+id+"/suggest?n=5", nil, &sug))
	assert.Len(t, sug.Results, 5)

	// Mark-all: a fourth round, its rest marked not relevant at once.
	var res results
	require.Equal(t, http.StatusOK, call(t, "POST", w.srv.URL+"/api/sessions/"+id+"/results", map[string]int{"k": 4}, &res))
	var after struct{ Rounds []round }
	require.Equal(t, http.StatusOK, call(t, "POST", w.srv.URL+"/api/sessions/"+id+"/marks", map[string]any{
		"marks": []mark{{res.Results[0].ID, true}}, "rest": map[string]any{"round": 3, "relevant": false}}, &after))
	assert.Equal(t, 4, after.Rounds[3].Marked)
	assert.Equal(t, 1, after.Rounds[3].Relevant)

	var e apiError
	assert.Equal(t, http.StatusBadRequest, call(t, "POST", w.srv.URL+"/api/sessions/"+id+"/marks",
		map[string]any{"marks": []mark{{"nope", true}}}, &e))
	assert.Equal(t, "marks", e.Field)
	assert.Equal(t, http.StatusBadRequest, call(t, "POST", w.srv.URL+"/api/sessions/"+id+"/results", map[string]int{"k": 0}, &e))
	assert.Equal(t, "k", e.Field)
}

func TestExport(t *testing.T) {
	w := newWorld(t, 200)
	id := feedbackRounds(t, w)
	var s session
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/sessions/"+id, nil, &s))
	var want []string
	for _, m := range s.Marks {
		if m.Relevant {
			want = append(want, m.ID)
		}
	}
	require.NotEmpty(t, want)

	resp, err := http.Get(w.srv.URL + "/api/sessions/" + id + "/export?format=csv")
	require.NoError(t, err)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
	require.Equal(t, []string{"id", "round", "label", "n"}, rows[0])
	var got []string
	for _, row := range rows[1:] {
		got = append(got, row[0])
		assert.Equal(t, "boot", row[2])
	}
	assert.Equal(t, want, got)

	resp, err = http.Get(w.srv.URL + "/api/sessions/" + id + "/export?format=jsonl")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	got = nil
	for sc.Scan() {
		var line struct {
			ID       string         `json:"id"`
			Round    int            `json:"round"`
			Metadata map[string]any `json:"metadata"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		got = append(got, line.ID)
		assert.Equal(t, "boot", line.Metadata["label"])
		assert.GreaterOrEqual(t, line.Round, 0)
	}
	assert.Equal(t, want, got)
}

func TestSessionsResumeFromDir(t *testing.T) {
	dir := t.TempDir()
	store, err := web.NewDirSessions(dir)
	require.NoError(t, err)
	// One session in memory at a time: the first is evicted by the second
	// and resumed from the directory.
	w := newWorld(t, 200, web.WithSessionStore(store), web.WithMaxSessions(1))
	id := feedbackRounds(t, w)
	var other session
	require.Equal(t, http.StatusCreated, call(t, "POST", w.srv.URL+"/api/sessions", map[string]any{
		"positives": []map[string]string{{"id": "item-0001"}}}, &other))
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	assert.Len(t, files, 2)

	var s session
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/sessions/"+id, nil, &s))
	assert.Len(t, s.Rounds, 3)
	assert.Len(t, s.Marks, 24)

	// A new handler on the same directory (a restart) resumes it too.
	h2, err := web.New(w.store, "pool", web.WithSessionStore(store))
	require.NoError(t, err)
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	var res results
	require.Equal(t, http.StatusOK, call(t, "POST", srv2.URL+"/api/sessions/"+id+"/results", map[string]int{"k": 5}, &res))
	assert.Equal(t, 3, res.Round.Index)

	require.Equal(t, http.StatusNoContent, call(t, "DELETE", srv2.URL+"/api/sessions/"+id, nil, nil))
	assert.Equal(t, http.StatusNotFound, call(t, "GET", srv2.URL+"/api/sessions/"+id, nil, nil))
	left, _ := filepath.Glob(filepath.Join(dir, "*"+id+".json"))
	assert.Empty(t, left)
}

// ExampleWithAuth shows an auth hook: requests name their team in a header
// checked against a token; sessions are scoped to the team.
func ExampleWithAuth() {
	tokens := map[string]string{"secret-a": "team-a", "secret-b": "team-b"}
	auth := func(r *http.Request) (string, error) {
		tenant, ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			return "", errors.New("unknown token")
		}
		return tenant, nil
	}
	store := exampleStore()
	h, err := web.New(store, "pool", web.WithAuth(auth))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/curate/", http.StripPrefix("/curate", h))

	req := httptest.NewRequest("GET", "/curate/api/info", nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	req.Header.Set("Authorization", "Bearer secret-a")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// 401
	// 200
}

func TestTenantsAreIsolated(t *testing.T) {
	auth := func(r *http.Request) (string, error) {
		if tn := r.Header.Get("X-Team"); tn != "" {
			return tn, nil
		}
		return "", &web.HTTPError{Status: http.StatusForbidden, Err: errors.New("no team")}
	}
	w := newWorld(t, 100, web.WithAuth(auth))
	var s session
	do := func(team, method, path string, body string) int {
		req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if team != "" {
			req.Header.Set("X-Team", team)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
		}
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, do("", "GET", "/api/info", ""))
	require.Equal(t, http.StatusCreated, do("a", "POST", "/api/sessions", `{"positives":[{"id":"item-0000"}]}`))
	id := s.ID
	assert.Equal(t, http.StatusOK, do("a", "GET", "/api/sessions/"+id, ""))
	assert.Equal(t, http.StatusNotFound, do("b", "GET", "/api/sessions/"+id, ""))
	assert.Equal(t, http.StatusNotFound, do("b", "POST", "/api/sessions/"+id+"/marks", `{"marks":[{"id":"item-0001","relevant":true}]}`))
	assert.Equal(t, http.StatusNotFound, do("b", "GET", "/api/sessions/"+id+"/export", ""))
}

func TestCORSOffByDefault(t *testing.T) {
	w := newWorld(t, 20)
	req, _ := http.NewRequest("GET", w.srv.URL+"/api/info", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))

	w2 := newWorld(t, 20, web.WithCORS("https://app.example"))
	for origin, want := range map[string]string{"https://app.example": "https://app.example", "https://evil.example": ""} {
		req, _ := http.NewRequest("GET", w2.srv.URL+"/api/info", nil)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.Header.Get("Access-Control-Allow-Origin"), origin)
	}
}

func TestSessionIDsAreRandom(t *testing.T) {
	w := newWorld(t, 20)
	seen := map[string]bool{}
	for range 20 {
		var s session
		require.Equal(t, http.StatusCreated, call(t, "POST", w.srv.URL+"/api/sessions", map[string]any{
			"positives": []map[string]string{{"id": "item-0000"}}}, &s))
		assert.Regexp(t, `^[0-9a-f]{32}$`, s.ID)
		assert.False(t, seen[s.ID])
		seen[s.ID] = true
	}
}

func TestLook(t *testing.T) {
	w := newWorld(t, 200)
	id := feedbackRounds(t, w)
	var m struct {
		Method string
		Total  int
		Points []struct {
			ID    string
			X, Y  float64
			Label string
			Mark  string
			Score *float64
		}
	}
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/look/map?method=pca&session="+id, nil, &m))
	assert.Equal(t, "pca", m.Method)
	assert.Equal(t, 200, m.Total)
	require.Len(t, m.Points, 200)
	var bootScore, otherScore float64
	marked := 0
	for _, p := range m.Points {
		assert.Equal(t, w.labelOf(p.ID), p.Label)
		require.NotNil(t, p.Score)
		if p.Label == "boot" {
			bootScore += *p.Score
		} else {
			otherScore += *p.Score / 3
		}
		if p.Mark != "" {
			marked++
		}
	}
	assert.Equal(t, 24, marked)
	assert.Greater(t, bootScore, otherScore, "the feedback score favours the wanted class")

	var rare struct{ Results []item }
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/look/rare?top=5", nil, &rare))
	assert.Len(t, rare.Results, 5)

	// Duplicates: add a near copy and find it.
	dup := w.recs[3]
	dup.ID = "copy-of-3"
	require.NoError(t, w.store.Upsert(context.Background(), "pool", []index.Record{dup}))
	var d struct {
		Pairs []struct {
			A, B     string
			Distance float64
		}
	}
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/look/duplicates?threshold=0.0001&refresh=1", nil, &d))
	require.Len(t, d.Pairs, 1)
	assert.ElementsMatch(t, []string{"copy-of-3", "item-0003"}, []string{d.Pairs[0].A, d.Pairs[0].B})
}

func TestItemsAndThumbnails(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "item-0000.png"), []byte("\x89PNG\r\n\x1a\nfake"), 0o644))
	src, err := web.Dir(dir)
	require.NoError(t, err)
	w := newWorld(t, 20, web.WithItems(src))
	resp, err := http.Get(w.srv.URL + "/api/thumbnail?id=item-0000")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox")
	assert.Equal(t, "\x89PNG\r\n\x1a\nfake", string(body))
	assert.Equal(t, http.StatusNotFound, call(t, "GET", w.srv.URL+"/api/thumbnail?id=item-0001", nil, nil))

	tmpl, err := web.URLTemplate("https://cdn.example/img/{label}/{id}.jpg")
	require.NoError(t, err)
	w2 := newWorld(t, 20, web.WithItems(tmpl))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.Get(w2.srv.URL + "/api/thumbnail?id=item-0002")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "https://cdn.example/img/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/item-0002.jpg", resp.Header.Get("Location"))

	var page struct {
		Items []item
		Next  *int
	}
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/items?offset=5&limit=10", nil, &page))
	assert.Len(t, page.Items, 10)
	require.NotNil(t, page.Next)
	assert.Equal(t, 15, *page.Next)
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+`/api/items?limit=100&filter={"op":"eq","field":"label","value":"bag"}`, nil, &page))
	assert.Len(t, page.Items, 5)
	assert.Nil(t, page.Next)
}

func TestNewOptions(t *testing.T) {
	store := exampleStore()
	for name, opt := range map[string]web.Option{
		"WithMaxBody":     web.WithMaxBody(10),
		"WithMaxUpload":   web.WithMaxUpload(0),
		"WithMapPoints":   web.WithMapPoints(1),
		"WithCORS":        web.WithCORS("evil"),
		"WithLabelField":  web.WithLabelField(""),
		"WithItems":       web.WithItems(nil),
		"WithMaxSessions": web.WithMaxSessions(0),
	} {
		_, err := web.New(store, "pool", opt)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, web.ErrInvalidOption, name)
		assert.Contains(t, err.Error(), name)
	}
	_, err := web.New(nil, "pool")
	assert.ErrorIs(t, err, index.ErrInvalidArgument)
}
