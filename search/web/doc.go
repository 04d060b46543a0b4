// Package web is a curation service to mount in one's own Go service: an
// [http.Handler] serving a JSON API and a web page over one namespace of an
// index.VectorStore, for the people who curate data by looking. They build a
// bucket of examples by clicking items (or typing text, or uploading an
// image, when the handler has an encoder), scan a grid of results, mark
// them relevant or not with one key, watch precision climb round after
// round, look at a map of the space, and export the relevant picks for
// labeling.
//
//	h, err := web.New(store, "fashion-v3",
//		web.WithEncoder(enc),                         // text and image queries (optional)
//		web.WithItems(thumbs),                        // web.Dir, web.URLTemplate or a web.ItemFunc
//		web.WithSessionStore(sessions),               // web.NewDirSessions(dir): sessions survive restarts
//		web.WithAuth(func(r *http.Request) (string, error) { return teamOf(r) }),
//	)
//	mux.Handle("/curate/", http.StripPrefix("/curate", h))
//
// The page is then at /curate/ and the API under /curate/api/. The page is
// plain JavaScript embedded in the binary (no build step, no external
// resources); the API is described by the OpenAPI 3 document served at
// /curate/openapi.json.
//
// # API
//
//	GET    /api/info                     namespace, metric, count, encoder
//	GET    /api/items?offset&limit&filter browse the pool
//	GET    /api/item?id                  one item's fields
//	GET    /api/thumbnail?id             the item source's image (or a redirect)
//	POST   /api/search                   bucket search: positives, negatives (by id, text or image), filter, topK, exclude, aggregation
//	POST   /api/sessions                 start a feedback session on a bucket
//	GET    /api/sessions/{id}            its bucket, marks and rounds
//	DELETE /api/sessions/{id}
//	POST   /api/sessions/{id}/results    the next round {k}
//	POST   /api/sessions/{id}/marks      {marks: [{id, relevant}], rest: {round, relevant}}
//	GET    /api/sessions/{id}/suggest?n  the items the reranker is least sure about
//	GET    /api/sessions/{id}/rounds     rounds with strategy and precision
//	GET    /api/sessions/{id}/export?format=csv|jsonl  the relevant picks
//	GET    /api/look/map?method&session  2-D map points with labels, marks and feedback scores
//	GET    /api/look/rare?k&top          the rarest items
//	GET    /api/look/duplicates?threshold&max  near-duplicate pairs
//
// Filters are JSON objects mirroring index.Filter: {"op":"eq","field":
// "label","value":"Shirt"}, {"op":"in","field":"label","values":[...]},
// {"op":"and","filters":[...]}.
//
// # Sessions
//
// A feedback session (package feedback) lives in memory and is saved to the
// [SessionStore] after every change, so it is resumed when the process
// restarts or when it has been dropped from memory ([WithMaxSessions]).
// Session IDs are 128 random bits from crypto/rand. With [WithAuth], each
// request is mapped to a tenant and sessions are scoped to it: another
// tenant's session ID answers 404, as an unknown one does.
//
// # Security
//
// Request bodies are limited ([WithMaxBody], [WithMaxUpload]); malformed
// JSON, unknown fields, wrong types, unknown IDs and values out of range
// answer 4xx with a JSON body {"error": ..., "field": ...} naming the
// field. The page writes every server-provided text with textContent and
// is served with a Content-Security-Policy that allows no inline script, so
// metadata such as a label "<script>…" shows as text. Thumbnails are
// served with a sandboxing CSP. CORS is off unless [WithCORS] names
// origins. Server errors (5xx) are logged ([WithLogger]) and answered
// without details.
//
// # Look
//
// Maps, rare items and duplicates come from package search/look over the
// whole namespace, loaded once on first use and kept until a request asks
// for refresh=1. With session=ID, map points carry the session's marks and
// a feedback score: the decision value of a feedback.Logistic fitted on
// the marks.
package web
