package web

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/search"
)

//go:embed static
var staticFS embed.FS

// route is one API route: its method and path pattern (net/http's syntax,
// relative to where the handler is mounted) and whether it is public (no
// auth).
type route struct {
	method, pattern string
	handle          func(h *Handler, w http.ResponseWriter, r *http.Request)
}

// routes are the handler's JSON API, as documented in static/openapi.json
// (a test keeps the two in step).
var routes = []route{
	{"GET", "/api/info", (*Handler).info},
	{"GET", "/api/items", (*Handler).browse},
	{"GET", "/api/item", (*Handler).getItem},
	{"GET", "/api/thumbnail", (*Handler).thumbnail},
	{"POST", "/api/search", (*Handler).search},
	{"POST", "/api/sessions", (*Handler).createSession},
	{"GET", "/api/sessions/{id}", (*Handler).getSession},
	{"DELETE", "/api/sessions/{id}", (*Handler).deleteSession},
	{"POST", "/api/sessions/{id}/results", (*Handler).results},
	{"POST", "/api/sessions/{id}/marks", (*Handler).mark},
	{"GET", "/api/sessions/{id}/suggest", (*Handler).suggest},
	{"GET", "/api/sessions/{id}/rounds", (*Handler).rounds},
	{"GET", "/api/sessions/{id}/export", (*Handler).export},
	{"GET", "/api/look/map", (*Handler).lookMap},
	{"GET", "/api/look/rare", (*Handler).lookRare},
	{"GET", "/api/look/duplicates", (*Handler).lookDuplicates},
}

// Handler serves the curation API and page over one namespace of a store.
// Mount it under a prefix with http.StripPrefix; see the package
// documentation. It is safe for concurrent use.
type Handler struct {
	store      index.VectorStore
	ns         string
	cfg        config
	metric     index.Metric
	searcher   *search.Searcher
	mux        *http.ServeMux
	sessions   *sessionCache
	look       *lookCache
	background backgroundCache
}

type tenantKey struct{}

// New returns a handler over namespace of store. Options set the encoder
// (text and image queries), the item source (thumbnails), the session
// store, an auth hook, limits and CORS; see their defaults.
func New(store index.VectorStore, namespace string, opts ...Option) (*Handler, error) {
	if store == nil {
		return nil, errorf(ErrInvalidOption, "New: nil store")
	}
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.sessions == nil {
		c.sessions = NewMemorySessions()
	}
	var sopts []search.Option
	if c.encoder != nil {
		sopts = append(sopts, search.WithEncoder(c.encoder))
	}
	s, err := search.New(store, namespace, sopts...)
	if err != nil {
		return nil, err
	}
	h := &Handler{store: store, ns: namespace, cfg: c, metric: s.Metric(), searcher: s, mux: http.NewServeMux()}
	h.sessions = newSessionCache(c.maxSessions)
	h.look = &lookCache{}
	for _, rt := range routes {
		handle := rt.handle
		h.mux.HandleFunc(rt.method+" "+rt.pattern, h.api(func(w http.ResponseWriter, r *http.Request) { handle(h, w, r) }))
	}
	h.mux.HandleFunc("/api/", h.api(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such API route: " + r.Method + " " + r.URL.Path})
	}))
	h.mux.HandleFunc("GET /openapi.json", h.static("static/openapi.json"))
	h.mux.HandleFunc("GET /{$}", h.static("static/index.html"))
	h.mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) {
		h.static("static/"+path.Base(r.PathValue("file")))(w, r)
	})
	return h, nil
}

// ServeHTTP serves the page, its assets, the OpenAPI document and the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "" {
		// Mounted with StripPrefix("/curate") and asked for "/curate":
		// the page's relative links need the trailing slash.
		base := path.Base(strings.SplitN(r.RequestURI, "?", 2)[0])
		http.Redirect(w, r, base+"/", http.StatusMovedPermanently)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// api wraps an API route: CORS, auth (the tenant goes into the context)
// and security headers.
func (h *Handler) api(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if origin := r.Header.Get("Origin"); origin != "" && len(h.cfg.cors) > 0 {
			if slices.Contains(h.cfg.cors, "*") || slices.Contains(h.cfg.cors, origin) {
				w.Header().Set("Access-Control-Allow-Origin", origin)
				w.Header().Add("Vary", "Origin")
				if r.Method == http.MethodOptions {
					w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
					w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
		}
		tenant := ""
		if h.cfg.auth != nil {
			t, err := h.cfg.auth(r)
			if err != nil {
				var he *HTTPError
				if !errors.As(err, &he) {
					he = &HTTPError{Status: http.StatusUnauthorized, Err: err}
				}
				writeJSON(w, he.Status, errorBody{Error: he.Error(), Field: he.Field})
				return
			}
			tenant = t
		}
		next(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, tenant)))
	}
}

func tenantOf(r *http.Request) string {
	t, _ := r.Context().Value(tenantKey{}).(string)
	return t
}

// pageCSP keeps the page to its own scripts and styles; images may come
// from anywhere a URL template points.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https: http:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"

// static serves one embedded file.
func (h *Handler) static(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(staticFS, name)
		if err != nil {
			writeJSON(w, http.StatusNotFound, errorBody{Error: "no such file"})
			return
		}
		ct := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
			".css": "text/css; charset=utf-8", ".json": "application/json"}[path.Ext(name)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Header().Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write(b)
	}
}

// infoJSON describes the service to the page.
type infoJSON struct {
	Title      string `json:"title"`
	Namespace  string `json:"namespace"`
	Metric     string `json:"metric"`
	Count      *int   `json:"count,omitempty"`
	Encoder    string `json:"encoder,omitempty"`
	LabelField string `json:"labelField"`
	Thumbnails bool   `json:"thumbnails"`
	MaxUpload  int64  `json:"maxUpload"`
}

func (h *Handler) info(w http.ResponseWriter, r *http.Request) {
	out := infoJSON{Title: h.cfg.title, Namespace: h.ns, Metric: h.metric.String(), LabelField: h.cfg.labelField,
		Thumbnails: h.cfg.items != nil, MaxUpload: h.cfg.maxUpload}
	if c, ok := h.store.(index.Counter); ok {
		if n, err := c.Count(r.Context(), h.ns); err == nil {
			out.Count = &n
		}
	}
	if h.cfg.encoder != nil {
		out.Encoder = h.cfg.encoder.Info().Model
	}
	writeJSON(w, http.StatusOK, out)
}

// browse lists a page of the namespace (in the store's scan order), under
// an optional filter given as JSON in the "filter" parameter.
func (h *Handler) browse(w http.ResponseWriter, r *http.Request) {
	offset, err := intParam(r, "offset", 0, 0, 1_000_000)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	limit, err := intParam(r, "limit", 60, 1, MaxK)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	var f index.Filter
	if s := r.URL.Query().Get("filter"); s != "" {
		var fj filterJSON
		if err := decodeString(s, &fj); err != nil {
			h.fail(w, r, "", badField("filter", "%v", err))
			return
		}
		if f, err = parseFilter("filter", &fj); err != nil {
			h.fail(w, r, "", err)
			return
		}
	}
	out := struct {
		Items []itemJSON `json:"items"`
		Next  *int       `json:"next"`
	}{Items: []itemJSON{}}
	i := 0
	for rec, err := range h.store.Scan(r.Context(), h.ns, f) {
		if err != nil {
			h.fail(w, r, "", err)
			return
		}
		if i >= offset+limit {
			next := i
			out.Next = &next
			break
		}
		if i >= offset {
			out.Items = append(out.Items, h.item(rec.ID, nil, rec.Metadata))
		}
		i++
	}
	writeJSON(w, http.StatusOK, out)
}

// getItem returns one item's fields, with the item source's extras.
func (h *Handler) getItem(w http.ResponseWriter, r *http.Request) {
	id, md, err := h.itemParam(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	it := h.item(id, nil, md)
	if h.cfg.items != nil {
		extra, err := h.cfg.items.Item(r.Context(), id, md)
		if err != nil && !notFound(err) {
			h.fail(w, r, "", err)
			return
		}
		for k, v := range extra.Fields {
			if it.Fields == nil {
				it.Fields = map[string]string{}
			}
			it.Fields[k] = v
		}
	}
	writeJSON(w, http.StatusOK, it)
}

// itemParam reads the "id" parameter and fetches the record's metadata; an
// unknown ID is a 404.
func (h *Handler) itemParam(r *http.Request) (string, index.Metadata, error) {
	id := r.URL.Query().Get("id")
	if id == "" {
		return "", nil, badField("id", "missing")
	}
	recs, err := h.store.Fetch(r.Context(), h.ns, []string{id})
	if err != nil {
		if errors.Is(err, index.ErrInvalidID) {
			return "", nil, badField("id", "%v", err)
		}
		return "", nil, err
	}
	if len(recs) == 0 {
		return "", nil, &HTTPError{Status: http.StatusNotFound, Field: "id", Err: errors.New("no item " + quote(id))}
	}
	return id, recs[0].Metadata, nil
}

// thumbnailCSP keeps a served image from running anything, should an
// item's file be an SVG or HTML in disguise.
const thumbnailCSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"

func (h *Handler) thumbnail(w http.ResponseWriter, r *http.Request) {
	if h.cfg.items == nil {
		h.fail(w, r, "", &HTTPError{Status: http.StatusNotFound, Err: errors.New("this service serves no thumbnails")})
		return
	}
	id, md, err := h.itemParam(r)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	it, err := h.cfg.items.Item(r.Context(), id, md)
	if err != nil {
		if notFound(err) {
			err = &HTTPError{Status: http.StatusNotFound, Field: "id", Err: err}
		}
		h.fail(w, r, "", err)
		return
	}
	if len(it.Thumbnail) == 0 {
		if it.URL == "" {
			h.fail(w, r, "", &HTTPError{Status: http.StatusNotFound, Field: "id", Err: errors.New("no thumbnail for " + quote(id))})
			return
		}
		http.Redirect(w, r, it.URL, http.StatusFound)
		return
	}
	ct := it.ContentType
	if ct == "" {
		ct = http.DetectContentType(it.Thumbnail)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Security-Policy", thumbnailCSP)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(it.Thumbnail)
}

// searchJSON is the body of POST /api/search.
type searchJSON struct {
	Positives   []exampleJSON `json:"positives"`
	Negatives   []exampleJSON `json:"negatives,omitempty"`
	Filter      *filterJSON   `json:"filter,omitempty"`
	Aggregation string        `json:"aggregation,omitempty"`
	TopK        int           `json:"topK,omitempty"`
	Exclude     []string      `json:"exclude,omitempty"`
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	var req searchJSON
	if err := h.decode(w, r, &req); err != nil {
		h.fail(w, r, "", err)
		return
	}
	bj := bucketJSON{Positives: req.Positives, Negatives: req.Negatives, Filter: req.Filter, Aggregation: req.Aggregation}
	b, err := h.bucket(bj)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	opts, err := h.searchOptions(bj)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	if req.TopK != 0 {
		if req.TopK < 1 || req.TopK > MaxK {
			h.fail(w, r, "", badField("topK", "%d out of range [1, %d]", req.TopK, MaxK))
			return
		}
		opts = append(opts, search.WithTopK(req.TopK))
	}
	if len(req.Exclude) > index.MaxTopK {
		h.fail(w, r, "", badField("exclude", "more than %d IDs", index.MaxTopK))
		return
	}
	for i, id := range req.Exclude {
		if id == "" {
			h.fail(w, r, "", badField("exclude", "ID %d is empty", i))
			return
		}
	}
	if len(req.Exclude) > 0 {
		opts = append(opts, search.WithExclude(req.Exclude...))
	}
	res, err := h.searcher.Search(r.Context(), b, opts...)
	if err != nil {
		h.fail(w, r, "positives", err)
		return
	}
	writeJSON(w, http.StatusOK, resultsJSON{itemsOf(h, res, func(m search.Result) (string, float64, index.Metadata) {
		return m.ID, float64(m.Score), m.Metadata
	})})
}

// resultsJSON is a reply that lists items.
type resultsJSON struct {
	Results []itemJSON `json:"results"`
}

// itemsOf turns results of any kind into their JSON items; fields gives a
// result's ID, score and metadata.
func itemsOf[T any](h *Handler, res []T, fields func(T) (string, float64, index.Metadata)) []itemJSON {
	out := make([]itemJSON, len(res))
	for i, m := range res {
		id, sc, md := fields(m)
		out[i] = h.item(id, score(sc), md)
	}
	return out
}

// searchOptions returns the filter and aggregation of a bucket request.
func (h *Handler) searchOptions(b bucketJSON) ([]search.Option, error) {
	f, err := parseFilter("filter", b.Filter)
	if err != nil {
		return nil, err
	}
	opts := []search.Option{search.WithFilter(f)}
	if b.Aggregation != "" {
		a, err := search.ParseAggregation(b.Aggregation)
		if err != nil {
			return nil, badField("aggregation", "%q: want mean, max or rrf", b.Aggregation)
		}
		opts = append(opts, search.WithAggregation(a))
	}
	return opts, nil
}
