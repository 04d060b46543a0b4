package web

import (
	"bytes"
	"container/list"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"sync"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/search"
)

// saveVersion is the version of the saved-session wrapper.
const saveVersion = 1

// savedJSON is a session as the handler saves it: the request settings the
// feedback package does not keep, and feedback's own saved form.
type savedJSON struct {
	Version     int             `json:"version"`
	Filter      *filterJSON     `json:"filter,omitempty"`
	Aggregation string          `json:"aggregation,omitempty"`
	Session     json.RawMessage `json:"session"`
}

// sessionEntry is a live session.
type sessionEntry struct {
	id, key  string
	settings savedJSON // Version, Filter, Aggregation
	sess     *feedback.Session
	saveMu   sync.Mutex // orders saves: the last save holds the latest state
}

// sessionCache keeps the most recently used sessions in memory.
type sessionCache struct {
	mu     sync.Mutex
	max    int
	lru    *list.List // of *sessionEntry, most recent first
	byKey  map[string]*list.Element
	loadMu sync.Mutex // one resume at a time, so a session is resumed once
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, lru: list.New(), byKey: make(map[string]*list.Element)}
}

func (c *sessionCache) lookup(key string) *sessionEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*sessionEntry)
	}
	return nil
}

func (c *sessionCache) put(e *sessionEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[e.key]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.byKey[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		old := c.lru.Remove(c.lru.Back()).(*sessionEntry)
		delete(c.byKey, old.key)
	}
}

func (c *sessionCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.lru.Remove(el)
		delete(c.byKey, key)
	}
}

// feedbackOptions are the options of a session with these settings.
func (h *Handler) feedbackOptions(s savedJSON) ([]feedback.Option, error) {
	f, err := parseFilter("filter", s.Filter)
	if err != nil {
		return nil, err
	}
	opts := []feedback.Option{feedback.WithFilter(f)}
	if h.cfg.encoder != nil {
		opts = append(opts, feedback.WithEncoder(h.cfg.encoder))
	}
	if s.Aggregation != "" {
		a, err := search.ParseAggregation(s.Aggregation)
		if err != nil {
			return nil, badField("aggregation", "%q: want mean, max or rrf", s.Aggregation)
		}
		opts = append(opts, feedback.WithAggregation(a))
	}
	return append(opts, h.cfg.feedback...), nil
}

// session finds the session named by the path's {id} for the request's
// tenant: in memory, or resumed from the session store. An ID that is
// malformed, unknown or another tenant's is a 404.
func (h *Handler) session(r *http.Request) (*sessionEntry, error) {
	id := r.PathValue("id")
	if !sessionIDPattern.MatchString(id) {
		return nil, &HTTPError{Status: http.StatusNotFound, Field: "id", Err: errors.New("no such session")}
	}
	key := sessionKey(tenantOf(r), id)
	if e := h.sessions.lookup(key); e != nil {
		return e, nil
	}
	h.sessions.loadMu.Lock()
	defer h.sessions.loadMu.Unlock()
	if e := h.sessions.lookup(key); e != nil {
		return e, nil
	}
	data, err := h.cfg.sessions.Load(r.Context(), key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &HTTPError{Status: http.StatusNotFound, Field: "id", Err: errors.New("no such session")}
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	var saved savedJSON
	if err := json.Unmarshal(data, &saved); err != nil || saved.Version != saveVersion {
		return nil, fmt.Errorf("saved session %s is unreadable (version %d): %v", id, saved.Version, err)
	}
	opts, err := h.feedbackOptions(saved)
	if err != nil {
		return nil, err
	}
	sess, err := feedback.Resume(r.Context(), bytes.NewReader(saved.Session), h.store, opts...)
	if err != nil {
		return nil, fmt.Errorf("resume session %s: %w", id, err)
	}
	saved.Session = nil
	e := &sessionEntry{id: id, key: key, settings: saved, sess: sess}
	h.sessions.put(e)
	return e, nil
}

// save writes the session to the session store.
func (h *Handler) save(ctx context.Context, e *sessionEntry) error {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	var buf bytes.Buffer
	if err := e.sess.Save(&buf); err != nil {
		return err
	}
	s := e.settings
	s.Session = buf.Bytes()
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := h.cfg.sessions.Save(ctx, e.key, data); err != nil {
		return fmt.Errorf("save session %s: %w", e.id, err)
	}
	return nil
}

// sessionJSON is a session's state on the wire.
type sessionJSON struct {
	ID     string      `json:"id"`
	Bucket bucketJSON  `json:"bucket"`
	Marks  []markJSON  `json:"marks"`
	Rounds []roundJSON `json:"rounds"`
}

type markJSON struct {
	ID       string `json:"id"`
	Relevant bool   `json:"relevant"`
}

type roundJSON struct {
	Index     int      `json:"index"`
	Strategy  string   `json:"strategy"`
	Reason    string   `json:"reason,omitempty"`
	Shown     int      `json:"shown"`
	Marked    int      `json:"marked"`
	Relevant  int      `json:"relevant"`
	Precision *float64 `json:"precision"`
	IDs       []string `json:"ids"`
}

func roundsJSON(rs []feedback.Round) []roundJSON {
	out := make([]roundJSON, len(rs))
	for i, r := range rs {
		out[i] = roundJSON{Index: r.Index, Strategy: r.Strategy.String(), Reason: r.Reason, Shown: r.Shown(),
			Marked: r.Marked, Relevant: r.Relevant, Precision: score(r.Precision()), IDs: r.IDs}
	}
	return out
}

func (h *Handler) state(e *sessionEntry) sessionJSON {
	b := e.sess.Bucket()
	out := sessionJSON{ID: e.id, Bucket: bucketJSON{Filter: e.settings.Filter, Aggregation: e.settings.Aggregation},
		Marks: []markJSON{}, Rounds: roundsJSON(e.sess.Rounds())}
	wire := func(ex search.Example) exampleJSON {
		switch {
		case ex.ID != "":
			return exampleJSON{ID: ex.ID}
		case ex.Input != nil && ex.Input.Text != "":
			return exampleJSON{Text: ex.Input.Text}
		}
		return exampleJSON{MIMEType: "(uploaded image)"}
	}
	for _, ex := range b.Positives {
		out.Bucket.Positives = append(out.Bucket.Positives, wire(ex))
	}
	for _, ex := range b.Negatives {
		out.Bucket.Negatives = append(out.Bucket.Negatives, wire(ex))
	}
	for _, m := range e.sess.Marks() {
		out.Marks = append(out.Marks, markJSON(m))
	}
	return out
}

func (h *Handler) createSession(w http.ResponseWriter, r *http.Request) {
	var req bucketJSON
	if err := h.decode(w, r, &req); err != nil {
		h.fail(w, r, "", err)
		return
	}
	b, err := h.bucket(req)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	settings := savedJSON{Version: saveVersion, Filter: req.Filter, Aggregation: req.Aggregation}
	opts, err := h.feedbackOptions(settings)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	if len(h.cfg.feedback) == 0 {
		// Sessions over the same pool share one background sample, drawn
		// once per filter, instead of each scanning the pool.
		f, _ := parseFilter("filter", req.Filter) // checked by feedbackOptions
		ids, err := h.background.get(r.Context(), h.store, h.ns, f)
		if err != nil {
			h.fail(w, r, "", err)
			return
		}
		if ids != nil {
			opts = append(opts, feedback.WithBackgroundSample(ids))
		}
	}
	// Check the bucket's IDs now, so a typo is a 400 at once rather than on
	// the first round.
	if ids := append(idsOnly(b.Positives), idsOnly(b.Negatives)...); len(ids) > 0 {
		if _, err := h.searcher.Resolve(r.Context(), search.Bucket{Positives: ids}); err != nil {
			h.fail(w, r, "positives", err)
			return
		}
	}
	sess, err := feedback.NewSession(h.store, h.ns, b, opts...)
	if err != nil {
		h.fail(w, r, "positives", err)
		return
	}
	id := newSessionID()
	e := &sessionEntry{id: id, key: sessionKey(tenantOf(r), id), settings: settings, sess: sess}
	if err := h.save(r.Context(), e); err != nil {
		h.fail(w, r, "", err)
		return
	}
	h.sessions.put(e)
	writeJSON(w, http.StatusCreated, h.state(e))
}

// idsOnly returns the examples given by ID.
func idsOnly(exs []search.Example) []search.Example {
	var out []search.Example
	for _, e := range exs {
		if e.ID != "" {
			out = append(out, e)
		}
	}
	return out
}

func (h *Handler) getSession(w http.ResponseWriter, r *http.Request) {
	e, err := h.session(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	writeJSON(w, http.StatusOK, h.state(e))
}

func (h *Handler) deleteSession(w http.ResponseWriter, r *http.Request) {
	e, err := h.session(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	h.sessions.remove(e.key)
	if err := h.cfg.sessions.Delete(r.Context(), e.key); err != nil {
		h.fail(w, r, "", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) results(w http.ResponseWriter, r *http.Request) {
	e, err := h.session(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	var req struct {
		K int `json:"k"`
	}
	if err := h.decode(w, r, &req); err != nil {
		h.fail(w, r, "", err)
		return
	}
	if req.K < 1 || req.K > MaxK {
		h.fail(w, r, "", badField("k", "%d out of range [1, %d]", req.K, MaxK))
		return
	}
	res, err := e.sess.Results(r.Context(), req.K)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	if err := h.save(r.Context(), e); err != nil {
		h.fail(w, r, "", err)
		return
	}
	rounds := e.sess.Rounds()
	writeJSON(w, http.StatusOK, struct {
		Round   roundJSON  `json:"round"`
		Results []itemJSON `json:"results"`
	}{
		Round:   roundsJSON(rounds[len(rounds)-1:])[0], // the round just recorded is the last one
		Results: itemsOf(h, res, feedbackFields),
	})
}

// marksJSON is the body of POST /api/sessions/{id}/marks: marks, and
// optionally every still-unmarked item of one round marked alike ("the
// rest are not relevant").
type marksJSON struct {
	Marks []markJSON `json:"marks"`
	Rest  *struct {
		Round    int  `json:"round"`
		Relevant bool `json:"relevant"`
	} `json:"rest,omitempty"`
}

func (h *Handler) mark(w http.ResponseWriter, r *http.Request) {
	e, err := h.session(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	var req marksJSON
	if err := h.decode(w, r, &req); err != nil {
		h.fail(w, r, "", err)
		return
	}
	if len(req.Marks) > index.MaxTopK {
		h.fail(w, r, "", badField("marks", "more than %d marks", index.MaxTopK))
		return
	}
	marks := make([]feedback.Mark, 0, len(req.Marks))
	for i, m := range req.Marks {
		if m.ID == "" {
			h.fail(w, r, "", badField(fmt.Sprintf("marks[%d].id", i), "missing"))
			return
		}
		marks = append(marks, feedback.Mark(m))
	}
	if req.Rest != nil {
		rounds := e.sess.Rounds()
		if req.Rest.Round < 0 || req.Rest.Round >= len(rounds) {
			h.fail(w, r, "", badField("rest.round", "%d: the session has %d rounds", req.Rest.Round, len(rounds)))
			return
		}
		marked := map[string]bool{}
		for _, m := range e.sess.Marks() {
			marked[m.ID] = true
		}
		for _, m := range marks {
			marked[m.ID] = true
		}
		for _, id := range rounds[req.Rest.Round].IDs {
			if !marked[id] {
				marks = append(marks, feedback.Mark{ID: id, Relevant: req.Rest.Relevant})
			}
		}
	}
	if len(marks) == 0 {
		h.fail(w, r, "", badField("marks", "no marks"))
		return
	}
	if err := e.sess.MarkAll(r.Context(), marks...); err != nil {
		h.fail(w, r, "marks", err)
		return
	}
	if err := h.save(r.Context(), e); err != nil {
		h.fail(w, r, "", err)
		return
	}
	out := struct {
		Marked int         `json:"marked"`
		Rounds []roundJSON `json:"rounds"`
	}{Marked: len(marks), Rounds: roundsJSON(e.sess.Rounds())}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) suggest(w http.ResponseWriter, r *http.Request) {
	e, err := h.session(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	n, err := intParam(r, "n", 10, 1, MaxK)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	res, err := e.sess.Suggest(r.Context(), n)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	writeJSON(w, http.StatusOK, resultsJSON{itemsOf(h, res, feedbackFields)})
}

// feedbackFields are a feedback result's ID, score and metadata.
func feedbackFields(m feedback.Result) (string, float64, index.Metadata) {
	return m.ID, float64(m.Score), m.Metadata
}

func (h *Handler) rounds(w http.ResponseWriter, r *http.Request) {
	e, err := h.session(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Rounds []roundJSON `json:"rounds"`
	}{roundsJSON(e.sess.Rounds())})
}

// export writes the items marked relevant, in the order first marked, as
// CSV (id, round, the label field, then every other field sorted) or as
// JSON lines ({"id", "round", "metadata"}). round is the round that showed
// the item, or -1 for an item marked without being shown in a round.
func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	e, err := h.session(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "jsonl" {
		h.fail(w, r, "", badField("format", "%q: want csv or jsonl", format))
		return
	}
	shownIn := map[string]int{}
	for _, rd := range e.sess.Rounds() {
		for _, id := range rd.IDs {
			if _, ok := shownIn[id]; !ok {
				shownIn[id] = rd.Index
			}
		}
	}
	var ids []string
	for _, m := range e.sess.Marks() {
		if m.Relevant {
			ids = append(ids, m.ID)
		}
	}
	mds := make(map[string]index.Metadata, len(ids))
	for start := 0; start < len(ids); start += 1000 {
		recs, err := h.store.Fetch(r.Context(), h.ns, ids[start:min(start+1000, len(ids))])
		if err != nil {
			h.fail(w, r, "", err)
			return
		}
		for _, rec := range recs {
			mds[rec.ID] = rec.Metadata
		}
	}
	roundOf := func(id string) int {
		if i, ok := shownIn[id]; ok {
			return i
		}
		return -1
	}
	name := "relevant-" + e.id[:8] + "." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if format == "jsonl" {
		w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
		enc := json.NewEncoder(w)
		for _, id := range ids {
			md := index.Metadata{}
			for k, v := range mds[id] {
				if h.keepField(k) {
					md[k] = v
				}
			}
			_ = enc.Encode(struct {
				ID       string         `json:"id"`
				Round    int            `json:"round"`
				Metadata index.Metadata `json:"metadata"`
			}{id, roundOf(id), md})
		}
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	all := make([]index.Metadata, 0, len(mds))
	for _, id := range ids {
		all = append(all, mds[id])
	}
	var cols []string
	for _, f := range h.fieldNames(all) {
		if f != h.cfg.labelField {
			cols = append(cols, f)
		}
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(append([]string{"id", "round", h.cfg.labelField}, cols...))
	for _, id := range ids {
		row := []string{id, strconv.Itoa(roundOf(id)), valueText(mds[id][h.cfg.labelField])}
		for _, c := range cols {
			row = append(row, valueText(mds[id][c]))
		}
		_ = cw.Write(row)
	}
	cw.Flush()
}

func quote(s string) string { return strconv.Quote(s) }

// backgroundCache holds the background sample of each filter's pool, drawn
// once (feedback.SampleBackground) and given to every new session with
// feedback.WithBackgroundSample. Records added to the pool later join the
// samples of sessions only after the handler restarts; the sample is an
// anchor of probable negatives, so that costs little. At most
// maxBackgroundFilters filters are kept; others draw their own.
type backgroundCache struct {
	mu sync.Mutex
	m  map[string]*backgroundEntry
}

type backgroundEntry struct {
	once sync.Once
	ids  []string
	err  error
}

const maxBackgroundFilters = 64

// get returns the sample of f's pool, or nil when the cache is full.
func (c *backgroundCache) get(ctx context.Context, store index.VectorStore, ns string, f index.Filter) ([]string, error) {
	key := f.String()
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]*backgroundEntry)
	}
	e := c.m[key]
	if e == nil {
		if len(c.m) >= maxBackgroundFilters {
			c.mu.Unlock()
			return nil, nil
		}
		e = &backgroundEntry{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.ids, e.err = feedback.SampleBackground(ctx, store, ns, f, feedback.DefaultBackground)
		if e.ids == nil && e.err == nil {
			e.ids = []string{}
		}
	})
	if e.err != nil {
		c.mu.Lock()
		if c.m[key] == e {
			delete(c.m, key) // drawn again by the next session
		}
		c.mu.Unlock()
	}
	return e.ids, e.err
}
