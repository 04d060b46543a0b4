package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/vecmath"
	"github.com/shoalhq/shoal/search/look"
)

// lookCache computes the namespace's space, maps, rare items and
// duplicates once, on first use, and keeps them until a request asks for
// refresh=1.
type lookCache struct {
	mu      sync.Mutex
	entries map[string]*lazy
}

type lazy struct {
	done chan struct{}
	v    any
	err  error
}

// get returns the value of key, computing it with f once; concurrent
// callers wait for the one computation. A failed computation is forgotten,
// so the next call tries again. refresh drops every cached value first.
func (c *lookCache) get(ctx context.Context, key string, refresh bool, f func(context.Context) (any, error)) (any, error) {
	c.mu.Lock()
	if refresh || c.entries == nil {
		c.entries = make(map[string]*lazy)
	}
	l, ok := c.entries[key]
	if !ok {
		l = &lazy{done: make(chan struct{})}
		c.entries[key] = l
		c.mu.Unlock()
		// Detached from the request: others may be waiting on the result.
		l.v, l.err = f(context.WithoutCancel(ctx))
		if l.err != nil {
			c.mu.Lock()
			if c.entries[key] == l {
				delete(c.entries, key)
			}
			c.mu.Unlock()
		}
		close(l.done)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-l.done:
		return l.v, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// spaceIndex is the loaded space and its items by ID.
type spaceIndex struct {
	sp   *look.Space
	byID map[string]int
}

func (h *Handler) space(ctx context.Context, refresh bool) (*spaceIndex, error) {
	v, err := h.look.get(ctx, "space", refresh, func(ctx context.Context) (any, error) {
		sp, err := look.Load(ctx, h.store, h.ns)
		if err != nil {
			return nil, err
		}
		si := &spaceIndex{sp: sp, byID: make(map[string]int, sp.Len())}
		for i := range sp.Len() {
			it, err := sp.Item(i)
			if err != nil {
				return nil, err
			}
			si.byID[it.ID] = i
		}
		return si, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*spaceIndex), nil
}

// pointJSON is one point of a map.
type pointJSON struct {
	ID    string   `json:"id"`
	X     float64  `json:"x"`
	Y     float64  `json:"y"`
	Label string   `json:"label,omitempty"`
	Mark  string   `json:"mark,omitempty"` // "relevant", "not-relevant" or absent
	Score *float64 `json:"score,omitempty"`
}

// lookMap returns a 2-D map of the namespace (method pca or neighborhood),
// and with session=ID each point's mark and feedback score: the decision
// value of a logistic reranker fitted on the session's marks.
func (h *Handler) lookMap(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	method := look.PCA
	switch q.Get("method") {
	case "", "pca":
	case "neighborhood":
		method = look.Neighborhood
	default:
		h.fail(w, r, "", badField("method", "%q: want pca or neighborhood", q.Get("method")))
		return
	}
	var sess *sessionEntry
	if q.Get("session") != "" {
		r.SetPathValue("id", q.Get("session"))
		var err error
		if sess, err = h.session(r); err != nil {
			h.fail(w, r, "", err)
			return
		}
	}
	refresh := q.Get("refresh") == "1"
	si, err := h.space(r.Context(), refresh)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	v, err := h.look.get(r.Context(), "map:"+method.String(), false, func(ctx context.Context) (any, error) {
		return si.sp.Map(ctx, method, look.WithMapPoints(h.cfg.mapPoints))
	})
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	m := v.(*look.Map)
	pts := make([]pointJSON, len(m.Points))
	for i, p := range m.Points {
		pts[i] = pointJSON{ID: p.ID, X: round4(p.X), Y: round4(p.Y), Label: valueText(p.Metadata[h.cfg.labelField])}
	}
	if sess != nil {
		if err := h.scorePoints(r.Context(), sess, si, pts); err != nil {
			h.fail(w, r, "", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Method string      `json:"method"`
		Total  int         `json:"total"`
		Points []pointJSON `json:"points"`
	}{m.Method.String(), m.Total, pts})
}

func round4(x float64) float64 { return float64(int64(x*1e4)) / 1e4 }

// scorePoints sets each point's mark and, when the session has marks, its
// feedback score.
func (h *Handler) scorePoints(ctx context.Context, e *sessionEntry, si *spaceIndex, pts []pointJSON) error {
	marks := e.sess.Marks()
	if len(marks) == 0 {
		return nil
	}
	rel := make(map[string]bool, len(marks))
	ids := make([]string, len(marks))
	for i, m := range marks {
		rel[m.ID], ids[i] = m.Relevant, m.ID
	}
	var pos, neg [][]float32
	for start := 0; start < len(ids); start += 1000 {
		recs, err := h.store.Fetch(ctx, h.ns, ids[start:min(start+1000, len(ids))])
		if err != nil {
			return err
		}
		for _, rec := range recs {
			v := rec.Vector
			if h.metric == index.Cosine {
				v = vecmath.Normalized(v) // as the space holds them
			}
			if rel[rec.ID] {
				pos = append(pos, v)
			} else {
				neg = append(neg, v)
			}
		}
	}
	var clf feedback.Logistic
	if err := clf.Fit(ctx, pos, neg); err != nil {
		return fmt.Errorf("fit the map's scores: %w", err)
	}
	vecs := make([][]float32, 0, len(pts))
	at := make([]int, 0, len(pts))
	for i := range pts {
		if m, ok := rel[pts[i].ID]; ok {
			pts[i].Mark = map[bool]string{true: "relevant", false: "not-relevant"}[m]
		}
		if j, ok := si.byID[pts[i].ID]; ok {
			it, err := si.sp.Item(j)
			if err != nil {
				return err
			}
			vecs, at = append(vecs, it.Vector), append(at, i)
		}
	}
	for k, s := range clf.Score(vecs) {
		pts[at[k]].Score = score(float64(s))
	}
	return nil
}

// lookRare returns the rarest items: top (default 20) by the mean distance
// to their k (default 10) nearest neighbours.
func (h *Handler) lookRare(w http.ResponseWriter, r *http.Request) {
	k, err := intParam(r, "k", look.DefaultK, 1, 100)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	top, err := intParam(r, "top", 20, 1, MaxK)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	si, err := h.space(r.Context(), r.URL.Query().Get("refresh") == "1")
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	v, err := h.look.get(r.Context(), fmt.Sprintf("rare:%d:%d", k, top), false, func(ctx context.Context) (any, error) {
		return si.sp.Rarest(ctx, look.WithK(k), look.WithTop(top))
	})
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	rare := v.([]look.Rare)
	writeJSON(w, http.StatusOK, resultsJSON{itemsOf(h, rare, func(x look.Rare) (string, float64, index.Metadata) {
		return x.ID, x.Score, x.Metadata
	})})
}

// lookDuplicates returns the pairs at most threshold apart (default 0.01;
// distance as look measures it), at most max (default 100) pairs.
func (h *Handler) lookDuplicates(w http.ResponseWriter, r *http.Request) {
	th, err := floatParam(r, "threshold", 0.01, 0, 1e9)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	maxPairs, err := intParam(r, "max", 100, 1, 10_000)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	si, err := h.space(r.Context(), r.URL.Query().Get("refresh") == "1")
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	v, err := h.look.get(r.Context(), fmt.Sprintf("dups:%g:%d", th, maxPairs), false, func(ctx context.Context) (any, error) {
		return si.sp.Duplicates(ctx, th, look.WithMaxPairs(maxPairs))
	})
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	d := v.(*look.Duplicates)
	type pairJSON struct {
		A        string  `json:"a"`
		B        string  `json:"b"`
		Distance float64 `json:"distance"`
	}
	out := struct {
		Pairs     []pairJSON `json:"pairs"`
		Truncated bool       `json:"truncated"`
	}{Pairs: make([]pairJSON, len(d.Pairs)), Truncated: d.Truncated}
	for i, p := range d.Pairs {
		out.Pairs[i] = pairJSON{p.A, p.B, p.Distance}
	}
	writeJSON(w, http.StatusOK, out)
}
