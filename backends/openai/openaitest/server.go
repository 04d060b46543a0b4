package openaitest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tiktoken-go/tokenizer/codec"
)

// OpenAI's limits, the fake's defaults ("Create embeddings",
// https://platform.openai.com/docs/api-reference/embeddings/create, the
// input parameter: "The input must not exceed the max input tokens for the
// model (8192 tokens for all embedding models), cannot be an empty string,
// and any array must be 2048 dimensions or less. ... all embedding models
// enforce a maximum of 300,000 tokens summed across all inputs in a single
// request").
const (
	MaxInputs        = 2048
	MaxRequestTokens = 300_000
	MaxInputTokens   = 8192
)

// Model is a model the fake serves.
type Model struct {
	// Dim is the length of its vectors without a dimensions parameter.
	Dim int
	// Dimensions reports whether it takes the dimensions parameter ("Only
	// supported in text-embedding-3 and later models", API reference).
	Dimensions bool
}

// Request describes one request the fake received, for [Server.OnRequest].
type Request struct {
	// Model, Inputs, EncodingFormat, Dimensions and Modality are the
	// request's fields (Inputs as strings; Dimensions 0 when absent;
	// Modality "" when absent).
	Model          string
	Inputs         []string
	EncodingFormat string
	Dimensions     int
	Modality       string
	// Tokens is the request's token count as the fake counts it (the
	// usage.prompt_tokens of a successful answer).
	Tokens int
	// Header is the request's header, without Authorization.
	Header http.Header
	// Status is the HTTP status the fake answered.
	Status int
}

// Malformation is a way the fake can break a successful answer, for
// [Server.Malform].
type Malformation int

// Malformations.
const (
	// Intact leaves the answer as it is.
	Intact Malformation = iota
	// DropLast leaves out the last embedding (a wrong count).
	DropLast
	// DuplicateIndex gives the last embedding the first one's index.
	DuplicateIndex
	// IndexOutOfRange gives the last embedding an index past the end.
	IndexOutOfRange
	// Reversed lists the embeddings in reverse order, each with its
	// correct index: a valid answer a client must read by index.
	Reversed
	// ShortVector drops the last element of the first vector.
	ShortVector
	// BadBase64 sends the first vector as base64 of 5 bytes (not whole
	// float32s), when base64 was asked for.
	BadBase64
)

// Option configures [NewServer]. An unusable value makes NewServer fail
// with an error naming the option.
type Option func(*Server) error

// WithModel adds a model to those served (default: OpenAI's
// text-embedding-3-small, 1536 dimensions, and text-embedding-3-large,
// 3072, both taking dimensions; text-embedding-ada-002, 1536, not).
func WithModel(name string, m Model) Option {
	return func(s *Server) error {
		if name == "" || m.Dim < 1 {
			return fmt.Errorf("openaitest: WithModel(%q, %+v): want a name and Dim ≥ 1", name, m)
		}
		s.models[name] = m
		return nil
	}
}

// WithAPIKey makes the fake require "Authorization: Bearer key" (default:
// any request is let in, as self-hosted servers without a key do).
func WithAPIKey(key string) Option {
	return func(s *Server) error {
		if key == "" {
			return fmt.Errorf("openaitest: WithAPIKey: empty key")
		}
		s.apiKey = key
		return nil
	}
}

// WithLimits sets the limits the fake enforces: inputs per request, tokens
// per request, tokens per input (defaults [MaxInputs], [MaxRequestTokens],
// [MaxInputTokens], OpenAI's).
func WithLimits(inputs, requestTokens, inputTokens int) Option {
	return func(s *Server) error {
		if inputs < 1 || requestTokens < 1 || inputTokens < 1 {
			return fmt.Errorf("openaitest: WithLimits(%d, %d, %d): want each ≥ 1", inputs, requestTokens, inputTokens)
		}
		s.maxInputs, s.maxReqTokens, s.maxInputTokens = inputs, requestTokens, inputTokens
		return nil
	}
}

// WithImages makes the fake take image requests as Infinity does: a
// "modality": "image" field, and inputs that are data: URIs of images or
// http(s) URLs (infinity_emb/fastapi_schemas/pymodels.py,
// OpenAIEmbeddingInput_Image: "input: DataURIorURL"), answering 422 for
// anything else, as Infinity's request validation does. Default: off, and
// a request with a modality is refused with 400, as OpenAI refuses an
// unknown parameter.
func WithImages() Option {
	return func(s *Server) error {
		s.images = true
		return nil
	}
}

// WithTokenCounter sets how the fake counts tokens, for its limits and
// usage (default: OpenAI's cl100k_base, the tokenizer of its embedding
// models, as github.com/tiktoken-go/tokenizer ports it).
func WithTokenCounter(count func(string) int) Option {
	return func(s *Server) error {
		if count == nil {
			return fmt.Errorf("openaitest: WithTokenCounter(nil)")
		}
		s.count = count
		return nil
	}
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	ts             *httptest.Server
	models         map[string]Model
	apiKey         string
	maxInputs      int
	maxReqTokens   int
	maxInputTokens int
	images         bool
	count          func(string) int

	cacheMu sync.Mutex
	words   map[wordKey][]float64
	counts  map[string]int

	mu         sync.Mutex
	calls      int
	latency    time.Duration
	failNext   int
	failStatus int
	failAfter  int
	afterCode  int
	retryAfter time.Duration
	rateN      int
	ratePer    time.Duration
	window     time.Time
	inWindow   int
	malform    func(Request) Malformation
	observer   func(Request)
}

// NewServer starts a fake on 127.0.0.1. Close stops it.
func NewServer(opts ...Option) (*Server, error) {
	cl100k := codec.NewCl100kBase()
	s := &Server{
		models: map[string]Model{
			"text-embedding-3-small": {Dim: 1536, Dimensions: true},
			"text-embedding-3-large": {Dim: 3072, Dimensions: true},
			"text-embedding-ada-002": {Dim: 1536},
		},
		maxInputs: MaxInputs, maxReqTokens: MaxRequestTokens, maxInputTokens: MaxInputTokens,
		count: func(text string) int {
			ids, _, err := cl100k.Encode(text)
			if err != nil {
				return len(text)
			}
			return len(ids)
		},
		failAfter: -1,
		words:     map[wordKey][]float64{},
		counts:    map[string]int{},
	}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("openaitest: NewServer: option %d is nil", i)
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/embeddings", s.embeddings)
	s.ts = httptest.NewServer(mux)
	return s, nil
}

// URL returns the base URL to give a client: http://127.0.0.1:PORT/v1.
func (s *Server) URL() string { return s.ts.URL + "/v1" }

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// SetLatency makes every request wait d before it is answered (0: none).
// A client that gives up first stops the wait.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// FailNext makes the next n requests fail with the HTTP status code
// (429, 500, 503, 401, 400, ...), with a Retry-After header of retryAfter
// when it is positive (in seconds, rounded up, plus retry-after-ms when
// that is not exact). n ≤ 0 turns it off.
func (s *Server) FailNext(n, code int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus, s.retryAfter = n, code, retryAfter
}

// FailAfter makes every request after the first n (counted from the
// fake's start) fail with the HTTP status code. n < 0 turns it off.
func (s *Server) FailAfter(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAfter, s.afterCode = n, code
}

// SetRateLimit lets at most n requests in per window of length per, and
// answers the others 429 with a Retry-After of the time left in the
// window, as OpenAI's rate limits do
// (https://platform.openai.com/docs/guides/rate-limits). n ≤ 0 turns it
// off.
func (s *Server) SetRateLimit(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateN, s.ratePer, s.window, s.inWindow = n, per, time.Time{}, 0
}

// Malform has fn choose, for each successful answer, how it is broken
// (nil: none is).
func (s *Server) Malform(fn func(Request) Malformation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.malform = fn
}

// OnRequest has fn called for every request to /v1/embeddings, after it
// is answered, from the serving goroutine (nil: none).
func (s *Server) OnRequest(fn func(Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observer = fn
}

// Calls returns the number of requests to /v1/embeddings received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Vector returns the fake's embedding of one input string: a unit vector of
// length dim, the normalized sum of one pseudo-random vector per
// lower-cased word (runs of letters and digits), so texts that share words
// are near each other; an input with no word (or a data: URI or URL) gets
// the vector of the whole string.
func Vector(input string, dim int) []float32 { return vector(input, dim, wordVector) }

// words splits an input as Vector does.
func words(input string) []string {
	if strings.HasPrefix(input, "data:") || strings.HasPrefix(input, "http") {
		return []string{input}
	}
	w := strings.FieldsFunc(strings.ToLower(input), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(w) == 0 {
		return []string{input}
	}
	return w
}

// wordVector is one word's pseudo-random vector.
func wordVector(w string, dim int) []float64 {
	h := fnv.New64a()
	h.Write([]byte(w))
	r := rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
	v := make([]float64, dim)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func vector(input string, dim int, word func(string, int) []float64) []float32 {
	v := make([]float64, dim)
	for _, w := range words(input) {
		for i, x := range word(w, dim) {
			v[i] += x
		}
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dim)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// cacheSize bounds the fake's caches of word vectors and token counts
// (they are emptied when full), which spare a benchmark's client the CPU
// of a fake recomputing the same values on the same machine.
const cacheSize = 1 << 16

type wordKey struct {
	word string
	dim  int
}

// cachedWord is wordVector through the cache.
func (s *Server) cachedWord(w string, dim int) []float64 {
	k := wordKey{w, dim}
	s.cacheMu.Lock()
	v, ok := s.words[k]
	s.cacheMu.Unlock()
	if ok {
		return v
	}
	v = wordVector(w, dim)
	s.cacheMu.Lock()
	if len(s.words) >= cacheSize {
		clear(s.words)
	}
	s.words[k] = v
	s.cacheMu.Unlock()
	return v
}

// tokens is the token counter through the cache.
func (s *Server) tokens(text string) int {
	s.cacheMu.Lock()
	n, ok := s.counts[text]
	s.cacheMu.Unlock()
	if ok {
		return n
	}
	n = s.count(text)
	s.cacheMu.Lock()
	if len(s.counts) >= cacheSize {
		clear(s.counts)
	}
	s.counts[text] = n
	s.cacheMu.Unlock()
	return n
}

// apiError is OpenAI's error body ("Error codes",
// https://platform.openai.com/docs/guides/error-codes; the object every
// error response carries: {"error": {"message", "type", "param", "code"}}).
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func ptr(s string) *string { return &s }

// embeddings serves POST /v1/embeddings.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	req := Request{Header: r.Header.Clone()}
	req.Header.Del("Authorization")
	status := s.serve(w, r, &req)
	req.Status = status
	s.mu.Lock()
	obs := s.observer
	s.mu.Unlock()
	if obs != nil {
		obs(req)
	}
}

// fail writes an error answer and returns its status.
func fail(w http.ResponseWriter, code int, e apiError) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]apiError{"error": e})
	return code
}

// invalid is a 400 invalid_request_error.
func invalid(w http.ResponseWriter, param, format string, args ...any) int {
	return fail(w, http.StatusBadRequest, apiError{Message: fmt.Sprintf(format, args...), Type: "invalid_request_error", Param: ptr(param)})
}

// injected answers an injected failure.
func injected(w http.ResponseWriter, code int, after time.Duration) int {
	if after > 0 {
		// Retry-After in whole seconds, rounded up (RFC 9110, 10.2.3), and
		// retry-after-ms when that is not exact, as OpenAI sends both.
		w.Header().Set("Retry-After", strconv.Itoa(int((after+time.Second-1)/time.Second)))
		if after%time.Second != 0 {
			w.Header().Set("Retry-After-Ms", strconv.FormatInt(after.Milliseconds(), 10))
		}
	}
	typ, msg := "server_error", "The server had an error while processing your request. Sorry about that!"
	switch {
	case code == http.StatusTooManyRequests:
		typ, msg = "requests", "Rate limit reached for requests. Please try again later."
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		typ, msg = "invalid_request_error", "You are not allowed to make this request."
	case code < 500:
		typ, msg = "invalid_request_error", "Injected invalid request."
	}
	return fail(w, code, apiError{Message: msg, Type: typ})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, req *Request) int {
	s.mu.Lock()
	s.calls++
	calls, latency := s.calls, s.latency
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		return fail(w, http.StatusMethodNotAllowed, apiError{Message: "Only POST is allowed.", Type: "invalid_request_error"})
	}
	// Read the whole body first: only then does net/http watch the
	// connection, so that a client that gives up ends the wait below.
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return 499
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return 499 // the client went away; nothing is written
		}
	}
	// Authentication comes first (error codes guide: 401 "Invalid
	// Authentication" / "Incorrect API key provided"). OpenAI's message
	// quotes the key with its middle masked; so does the fake's, so that
	// tests can check a client never repeats it.
	if s.apiKey != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			return fail(w, http.StatusUnauthorized, apiError{Type: "invalid_request_error",
				Message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."})
		}
		if got != s.apiKey {
			return fail(w, http.StatusUnauthorized, apiError{Type: "invalid_request_error", Code: ptr("invalid_api_key"),
				Message: fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", mask(got))})
		}
	}
	s.mu.Lock()
	var code int
	var after time.Duration
	switch {
	case s.rateN > 0 && s.limited():
		code, after = http.StatusTooManyRequests, time.Until(s.window.Add(s.ratePer))
		after = max(after.Round(time.Millisecond), time.Millisecond)
	case s.failNext > 0:
		s.failNext--
		code, after = s.failStatus, s.retryAfter
	case s.failAfter >= 0 && calls > s.failAfter:
		code = s.afterCode
	}
	s.mu.Unlock()
	if code != 0 {
		return injected(w, code, after)
	}

	var body struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat *string         `json:"encoding_format"`
		Dimensions     *int            `json:"dimensions"`
		Modality       *string         `json:"modality"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return invalid(w, "", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)")
	}
	req.Model = body.Model
	if body.EncodingFormat != nil {
		req.EncodingFormat = *body.EncodingFormat
	}
	if body.Dimensions != nil {
		req.Dimensions = *body.Dimensions
	}
	if body.Modality != nil {
		req.Modality = *body.Modality
	}
	inputs, tokenArrays, ok := parseInput(body.Input)
	req.Inputs = inputs
	if !ok {
		// API reference: input is a string, an array of strings, an array
		// of tokens or an array of token arrays.
		return invalid(w, "input", "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.")
	}
	m, known := s.models[body.Model]
	if body.Model == "" {
		return invalid(w, "model", "you must provide a model parameter")
	}
	if !known {
		// OpenAI answers 404 model_not_found for a model it does not serve.
		return fail(w, http.StatusNotFound, apiError{Type: "invalid_request_error", Code: ptr("model_not_found"),
			Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", body.Model)})
	}
	// encoding_format: "Can be either float or base64" (API reference).
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		return invalid(w, "encoding_format", "'%s' is not one of ['float', 'base64'] - 'encoding_format'", req.EncodingFormat)
	}
	dim := m.Dim
	if body.Dimensions != nil {
		// dimensions: "Only supported in text-embedding-3 and later
		// models" (API reference); at least 1 and at most the model's.
		if !m.Dimensions {
			return invalid(w, "dimensions", "This model does not support specifying dimensions.")
		}
		if *body.Dimensions < 1 || *body.Dimensions > m.Dim {
			return invalid(w, "dimensions", "Invalid value for 'dimensions' = %d. Must be between 1 and %d.", *body.Dimensions, m.Dim)
		}
		dim = *body.Dimensions
	}
	// "any array must be 2048 dimensions or less" (API reference).
	if len(inputs) == 0 || len(inputs) > s.maxInputs {
		return invalid(w, "input", "'$.input' is invalid: %d inputs, want 1 to %d.", len(inputs), s.maxInputs)
	}
	image := req.Modality == "image"
	switch {
	case req.Modality != "" && (!s.images || (req.Modality != "image" && req.Modality != "text")):
		return invalid(w, "modality", "Unrecognized request argument supplied: modality")
	case image:
		// Infinity: each input of an image request is a data: URI or an
		// http(s) URL; pydantic's validation answers 422.
		for i, in := range inputs {
			if err := checkImage(in); err != "" {
				return fail(w, http.StatusUnprocessableEntity, apiError{Type: "validation", Param: ptr(fmt.Sprintf("input.%d", i)), Message: err})
			}
		}
	default:
		for i, in := range inputs {
			// "cannot be an empty string" (API reference).
			if in == "" && tokenArrays == nil {
				return invalid(w, "input", "'$.input[%d]' is invalid: it cannot be an empty string.", i)
			}
			n := s.tokens(in)
			if tokenArrays != nil {
				n = len(tokenArrays[i])
			}
			// "must not exceed the max input tokens for the model (8192
			// tokens for all embedding models)"; the message is the
			// service's for a context overflow.
			if n > s.maxInputTokens {
				return invalid(w, "input", "This model's maximum context length is %d tokens, however you requested %d tokens (%d in your prompt; 0 for the completion). Please reduce your prompt; or completion length.", s.maxInputTokens, n, n)
			}
			req.Tokens += n
		}
		// "a maximum of 300,000 tokens summed across all inputs in a
		// single request".
		if req.Tokens > s.maxReqTokens {
			return invalid(w, "input", "Requested %d tokens, max %d tokens per request", req.Tokens, s.maxReqTokens)
		}
	}

	s.mu.Lock()
	malform := s.malform
	s.mu.Unlock()
	how := Intact
	if malform != nil {
		how = malform(*req)
	}
	return s.answer(w, req, dim, how)
}

// limited counts a request against the rate limit; s.mu is held.
func (s *Server) limited() bool {
	now := time.Now()
	if s.window.IsZero() || now.Sub(s.window) >= s.ratePer {
		s.window, s.inWindow = now, 0
	}
	s.inWindow++
	return s.inWindow > s.rateN
}

// answer writes the embeddings of req, broken as how says.
func (s *Server) answer(w http.ResponseWriter, req *Request, dim int, how Malformation) int {
	type datum struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]datum, len(req.Inputs))
	for i, in := range req.Inputs {
		v := vector(in, dim, s.cachedWord)
		if how == ShortVector && i == 0 {
			v = v[:len(v)-1]
		}
		var emb any = v
		if req.EncodingFormat == "base64" {
			// base64 of the little-endian float32s, as OpenAI sends
			// (and the openai-python client decodes with numpy's
			// frombuffer(dtype="float32")).
			buf := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
			}
			if how == BadBase64 && i == 0 {
				buf = buf[:5]
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = datum{Object: "embedding", Index: i, Embedding: emb}
	}
	last := len(data) - 1
	switch how {
	case DropLast:
		data = data[:last]
	case DuplicateIndex:
		if last > 0 {
			data[last].Index = data[0].Index
		}
	case IndexOutOfRange:
		data[last].Index = len(data)
	case Reversed:
		for i, j := 0, last; i < j; i, j = i+1, j-1 {
			data[i], data[j] = data[j], data[i]
		}
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]any{
		"object": "list",
		"data":   data,
		"model":  req.Model,
		"usage":  map[string]int{"prompt_tokens": req.Tokens, "total_tokens": req.Tokens},
	})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
	return http.StatusOK
}

// parseInput reads the input field: a string, an array of strings, an
// array of tokens (one input) or an array of token arrays. Token inputs are
// returned as their decimal text, and their tokens in arrays.
func parseInput(raw json.RawMessage) (inputs []string, arrays [][]int64, ok bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, nil, true
	}
	var tokens []int64
	if json.Unmarshal(raw, &tokens) == nil {
		arrays = [][]int64{tokens}
	} else if json.Unmarshal(raw, &arrays) != nil {
		return nil, nil, false
	}
	for _, a := range arrays {
		if len(a) == 0 {
			return nil, nil, false
		}
		inputs = append(inputs, fmt.Sprint(a))
	}
	return inputs, arrays, true
}

// checkImage checks one input of an image request as Infinity does: a
// data: URI of an image with base64 data (RFC 2397), or an http(s) URL.
// It returns the reason it is refused, or "".
func checkImage(in string) string {
	if strings.HasPrefix(in, "http://") || strings.HasPrefix(in, "https://") {
		return ""
	}
	rest, ok := strings.CutPrefix(in, "data:")
	if !ok {
		return "input should be a valid URL or data URI"
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasPrefix(meta, "image/") || !strings.HasSuffix(meta, ";base64") {
		return "data URI should be data:image/<type>;base64,<data>"
	}
	if _, err := base64.StdEncoding.DecodeString(data); err != nil {
		return "data URI has invalid base64 data"
	}
	return ""
}

// mask hides the middle of a key as OpenAI's 401 message does.
func mask(key string) string {
	if len(key) <= 8 {
		return strings.Repeat("*", len(key))
	}
	return key[:3] + strings.Repeat("*", len(key)-7) + key[len(key)-4:]
}
