package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/search"
)

// HTTPError is an error with an HTTP status and, for a bad request, the
// request field at fault ("positives[0].id", "k"). The handler answers
// every error as JSON: {"error": text, "field": field}. An [AuthFunc] may
// return one to choose the status (403, say).
type HTTPError struct {
	Status int
	Field  string
	Err    error
}

// Error returns the field and the reason.
func (e *HTTPError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

// Unwrap returns the reason.
func (e *HTTPError) Unwrap() error { return e.Err }

func badField(field, format string, args ...any) *HTTPError {
	return &HTTPError{Status: http.StatusBadRequest, Field: field, Err: fmt.Errorf(format, args...)}
}

// errorBody is the JSON of every error reply.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// fail answers err: an *HTTPError as it says; a library error by its
// sentinel (invalid argument 400, not found 404 or, with field set, 400);
// anything else 500, logged, with a generic text.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, field string, err error) {
	var he *HTTPError
	switch {
	case errors.As(err, &he):
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		he = &HTTPError{Status: http.StatusServiceUnavailable, Err: err}
	case errors.Is(err, index.ErrNotFound) && field == "":
		he = &HTTPError{Status: http.StatusNotFound, Err: err}
	case errors.Is(err, index.ErrNotFound), errors.Is(err, index.ErrInvalidArgument),
		errors.Is(err, embedding.ErrInvalidInput), errors.Is(err, index.ErrInvalidID):
		he = &HTTPError{Status: http.StatusBadRequest, Field: field, Err: err}
	default:
		h.cfg.logger.ErrorContext(r.Context(), "curation handler", "method", r.Method, "path", r.URL.Path, "err", err)
		he = &HTTPError{Status: http.StatusInternalServerError, Err: errors.New("internal error (logged by the server)")}
	}
	writeJSON(w, he.Status, errorBody{Error: he.Error(), Field: he.Field})
}

// decode reads a JSON body into v: at most the handler's body limit, no
// unknown fields, one value. Errors name the field.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &HTTPError{Status: http.StatusUnsupportedMediaType, Err: fmt.Errorf("content type %q, want application/json", ct)}
	}
	body := http.MaxBytesReader(w, r.Body, h.cfg.maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badField("", "more than one JSON value in the body")
	}
	return nil
}

// jsonError turns a decoding error into a 4xx naming the field.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return &HTTPError{Status: http.StatusRequestEntityTooLarge, Err: fmt.Errorf("request body larger than %d bytes", mbe.Limit)}
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			field = "body"
		}
		return badField(field, "got JSON %s, want %s", ute.Value, ute.Type)
	case errors.As(err, &se):
		return badField("body", "malformed JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.EOF):
		return badField("body", "empty body, want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badField("body", "truncated JSON")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badField(strings.Trim(f, `"`), "unknown field")
	}
	return badField("body", "%v", err)
}

// exampleJSON is a bucket example on the wire: exactly one of id, text
// and image (base64, with mimeType).
type exampleJSON struct {
	ID       string `json:"id,omitempty"`
	Text     string `json:"text,omitempty"`
	Image    string `json:"image,omitempty"`
	MIMEType string `json:"mimeType,omitempty"`
}

// bucketJSON is a bucket and its search settings on the wire.
type bucketJSON struct {
	Positives   []exampleJSON `json:"positives"`
	Negatives   []exampleJSON `json:"negatives,omitempty"`
	Filter      *filterJSON   `json:"filter,omitempty"`
	Aggregation string        `json:"aggregation,omitempty"`
}

// bucket converts b, checking each example and the upload sizes.
func (h *Handler) bucket(b bucketJSON) (search.Bucket, error) {
	var out search.Bucket
	if len(b.Positives) == 0 {
		return out, badField("positives", "no positive example")
	}
	if len(b.Positives)+len(b.Negatives) > MaxK {
		return out, badField("positives", "more than %d examples", MaxK)
	}
	for i, e := range b.Positives {
		ex, err := h.example(fmt.Sprintf("positives[%d]", i), e)
		if err != nil {
			return out, err
		}
		out.Positives = append(out.Positives, ex)
	}
	for i, e := range b.Negatives {
		ex, err := h.example(fmt.Sprintf("negatives[%d]", i), e)
		if err != nil {
			return out, err
		}
		out.Negatives = append(out.Negatives, ex)
	}
	if err := out.Validate(); err != nil {
		return out, badField("positives", "%v", err)
	}
	return out, nil
}

func (h *Handler) example(field string, e exampleJSON) (search.Example, error) {
	n := 0
	for _, set := range []bool{e.ID != "", e.Text != "", e.Image != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return search.Example{}, badField(field, "sets %d of id, text and image; want exactly one", n)
	}
	switch {
	case e.ID != "":
		if err := driver.ValidateID(e.ID); err != nil {
			return search.Example{}, badField(field+".id", "%v", err)
		}
		return search.ByID(e.ID), nil
	case e.Text != "":
		if h.cfg.encoder == nil {
			return search.Example{}, badField(field+".text", "this service has no encoder: give examples by id")
		}
		if len(e.Text) > 64<<10 {
			return search.Example{}, badField(field+".text", "longer than 65536 bytes")
		}
		return search.ByInput(embedding.Input{Text: e.Text}), nil
	}
	if h.cfg.encoder == nil {
		return search.Example{}, badField(field+".image", "this service has no encoder: give examples by id")
	}
	if int64(base64.StdEncoding.DecodedLen(len(e.Image))) > h.cfg.maxUpload+3 {
		return search.Example{}, &HTTPError{Status: http.StatusRequestEntityTooLarge, Field: field + ".image",
			Err: fmt.Errorf("image larger than %d bytes", h.cfg.maxUpload)}
	}
	img, err := base64.StdEncoding.DecodeString(e.Image)
	if err != nil {
		return search.Example{}, badField(field+".image", "not base64: %v", err)
	}
	if int64(len(img)) > h.cfg.maxUpload {
		return search.Example{}, &HTTPError{Status: http.StatusRequestEntityTooLarge, Field: field + ".image",
			Err: fmt.Errorf("image of %d bytes, larger than %d", len(img), h.cfg.maxUpload)}
	}
	mt := e.MIMEType
	if mt == "" {
		mt = http.DetectContentType(img)
	}
	if !strings.HasPrefix(mt, "image/") {
		return search.Example{}, badField(field+".mimeType", "%q is not an image type", mt)
	}
	return search.ByInput(embedding.Input{Image: img, MIMEType: mt}), nil
}

// filterJSON is an index.Filter on the wire: {"op":"eq","field":"label",
// "value":"Shirt"}, {"op":"in","field":"label","values":[...]},
// {"op":"and","filters":[...]}; op is one of index.Op's names.
type filterJSON struct {
	Op      string       `json:"op"`
	Field   string       `json:"field,omitempty"`
	Value   any          `json:"value,omitempty"`
	Values  []any        `json:"values,omitempty"`
	Filters []filterJSON `json:"filters,omitempty"`
}

// parseFilter converts f (nil: the zero Filter) and validates it.
func parseFilter(field string, f *filterJSON) (index.Filter, error) {
	if f == nil {
		return index.Filter{}, nil
	}
	out, err := f.filter(field, 0)
	if err != nil {
		return out, err
	}
	if err := out.Validate(); err != nil {
		return out, badField(field, "%v", err)
	}
	return out, nil
}

func (f *filterJSON) filter(field string, depth int) (index.Filter, error) {
	if depth > 16 {
		return index.Filter{}, badField(field, "nested more than 16 deep")
	}
	var op index.Op = -1
	for o := index.OpAll; o <= index.OpOr; o++ {
		if o.String() == f.Op {
			op = o
		}
	}
	if op < 0 {
		return index.Filter{}, badField(field+".op", "unknown operator %q", f.Op)
	}
	out := index.Filter{Op: op, Field: f.Field, Value: f.Value, Values: f.Values}
	for i := range f.Filters {
		sub, err := f.Filters[i].filter(fmt.Sprintf("%s.filters[%d]", field, i), depth+1)
		if err != nil {
			return out, err
		}
		out.Filters = append(out.Filters, sub)
	}
	return out, nil
}

// intParam reads an integer query parameter in [lo, hi], def when absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badField(name, "%q is not an integer", s)
	}
	if n < lo || n > hi {
		return 0, badField(name, "%d out of range [%d, %d]", n, lo, hi)
	}
	return n, nil
}

// floatParam reads a number query parameter in [lo, hi], def when absent.
func floatParam(r *http.Request, name string, def, lo, hi float64) (float64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) {
		return 0, badField(name, "%q is not a number", s)
	}
	if x < lo || x > hi {
		return 0, badField(name, "%g out of range [%g, %g]", x, lo, hi)
	}
	return x, nil
}

// itemJSON is one item on the wire.
type itemJSON struct {
	ID     string            `json:"id"`
	Score  *float64          `json:"score,omitempty"`
	Label  string            `json:"label,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

// item builds the wire form of a record's metadata.
func (h *Handler) item(id string, score *float64, md index.Metadata) itemJSON {
	it := itemJSON{ID: id, Score: score, Label: valueText(md[h.cfg.labelField])}
	if len(md) > 0 {
		it.Fields = make(map[string]string, len(md))
		for k, v := range md {
			if h.keepField(k) {
				it.Fields[k] = valueText(v)
			}
		}
	}
	return it
}

func (h *Handler) keepField(k string) bool {
	if h.cfg.fields == nil {
		return true
	}
	for _, f := range h.cfg.fields {
		if f == k {
			return true
		}
	}
	return false
}

// score returns a finite score for the wire, or nil.
func score(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	x = math.Round(x*1e6) / 1e6
	return &x
}

// valueText prints a metadata value: strings as they are, lists joined by
// ", ", numbers in Go's shortest form.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []string:
		return strings.Join(x, ", ")
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return fmt.Sprint(v)
}

// fieldNames returns the sorted union of the field names of mds that the
// handler shows.
func (h *Handler) fieldNames(mds []index.Metadata) []string {
	set := map[string]bool{}
	for _, md := range mds {
		for k := range md {
			if h.keepField(k) {
				set[k] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decodeString decodes a JSON value given in a query parameter, with no
// unknown fields.
func decodeString(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
