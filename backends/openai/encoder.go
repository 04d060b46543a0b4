package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index/driver"
)

// OpenAI's embedding models, with their vector lengths (without
// [WithDimensions]): https://platform.openai.com/docs/guides/embeddings.
const (
	// TextEmbedding3Small returns 1536 dimensions; takes dimensions.
	TextEmbedding3Small = "text-embedding-3-small"
	// TextEmbedding3Large returns 3072 dimensions; takes dimensions.
	TextEmbedding3Large = "text-embedding-3-large"
	// TextEmbeddingAda002 returns 1536 dimensions; refuses dimensions.
	TextEmbeddingAda002 = "text-embedding-ada-002"
)

// knownDims are the vector lengths of OpenAI's models.
var knownDims = map[string]int{TextEmbedding3Small: 1536, TextEmbedding3Large: 3072, TextEmbeddingAda002: 1536}

// Encoder is an embedding.Encoder over an OpenAI-compatible
// POST /embeddings API. It is safe for concurrent use.
type Encoder struct {
	cfg    config
	client openai.Client
	key    string // the API key, kept only to cut it out of messages
	host   string
	info   embedding.Info
}

var _ embedding.Encoder = (*Encoder)(nil)

// NewEncoder returns an encoder for the server and model the options name
// (by default OpenAI's text-embedding-3-small with $OPENAI_API_KEY). When
// the vector length is neither given ([WithDimensions]) nor known (OpenAI's
// models), NewEncoder learns it from one request embedding a short text,
// within ctx; it sends nothing otherwise. The openai-go client's own
// retries are off: embedding.EncodeAll retries what this package marks
// retryable.
func NewEncoder(ctx context.Context, opts ...Option) (*Encoder, error) {
	if ctx == nil {
		return nil, optionErrorf("NewEncoder: nil context")
	}
	cfg := config{
		model: DefaultModel, format: Base64, maxInputs: DefaultMaxInputs, maxReqTokens: DefaultMaxRequestTokens,
		maxInputTokens: DefaultMaxInputTokens, count: CountTokens, timeout: DefaultTimeout,
	}
	if env := os.Getenv("OPENAI_BASE_URL"); env != "" {
		if err := WithBaseURL(env)(&cfg); err != nil {
			return nil, optionErrorf("OPENAI_BASE_URL: %q: want an http or https URL with a host", env)
		}
	} else {
		cfg.baseURL = DefaultBaseURL
	}
	for i, o := range opts {
		if o == nil {
			return nil, optionErrorf("NewEncoder: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	u, _ := url.Parse(cfg.baseURL) // checked by WithBaseURL
	e := &Encoder{cfg: cfg, host: u.Host}
	openAI := u.Hostname() == "api.openai.com"
	switch {
	case cfg.apiKey != nil:
		e.key = *cfg.apiKey
	case openAI:
		e.key = os.Getenv("OPENAI_API_KEY")
		if e.key == "" {
			return nil, optionErrorf("NewEncoder: no API key for %s: set OPENAI_API_KEY or pass WithAPIKey", u.Host)
		}
	}
	copts := []option.RequestOption{
		option.WithBaseURL(cfg.baseURL), option.WithAPIKey(e.key), option.WithRequestTimeout(cfg.timeout),
	}
	if cfg.httpClient != nil {
		copts = append(copts, option.WithHTTPClient(cfg.httpClient))
	} else if t, ok := http.DefaultTransport.(*http.Transport); ok {
		// Go's default keeps 2 idle connections per host: with more
		// requests in flight (embedding.EncodeAll runs 4 by default), the
		// others would open a connection, and a TLS session, each time.
		t = t.Clone()
		t.MaxIdleConnsPerHost = DefaultMaxIdleConns
		copts = append(copts, option.WithHTTPClient(&http.Client{Transport: t}))
	}
	copts = append(copts, cfg.clientOpts...)
	// Last, so that no client option turns retries back on: EncodeAll retries.
	copts = append(copts, option.WithMaxRetries(0))
	e.client = openai.NewClient(copts...)

	dim := cfg.dimensions
	if dim == 0 {
		dim = knownDims[cfg.model]
	}
	if dim == 0 {
		probe := []item{{pos: 0, id: "dimension probe", wire: "dimension probe", tokens: 2}}
		vecs, err := e.request(ctx, probe, 0)
		if err != nil {
			return nil, fmt.Errorf("openai: NewEncoder: learning the vector length of %q: %w", cfg.model, unprefix(err))
		}
		dim = len(vecs[0])
	}
	normalized := knownDims[cfg.model] > 0
	if cfg.normalized != nil {
		normalized = *cfg.normalized
	}
	name := cfg.modelName
	if name == "" {
		name = fmt.Sprintf("%s/%d", cfg.model, dim)
	}
	// EncodeAll batches by embedding.Input.Size, a byte count. Both token
	// counters of this package count at most a text's bytes plus 2, so a
	// batch within this many bytes is one request within the token limit.
	budget := cfg.maxReqTokens - 2*cfg.maxInputs
	if budget < 1 {
		budget = max(1, cfg.maxReqTokens/2)
	}
	e.info = embedding.Info{Model: name, Dim: dim, Normalized: normalized, MaxBatch: cfg.maxInputs, MaxBatchBytes: budget}
	return e, nil
}

// Info describes the encoder: Model (see [WithModelName]), Dim, Normalized
// ([WithNormalized]), MaxBatch (the inputs per request, [WithMaxInputs])
// and MaxBatchBytes, the per-request token limit ([WithMaxRequestTokens])
// less 2 per input, so that a batch embedding.EncodeAll makes within it is
// one request whichever of [CountTokens] and [EstimateTokens] counts.
func (e *Encoder) Info() embedding.Info { return e.info }

// item is one input as it goes on the wire.
type item struct {
	pos    int    // position in the Encode call
	id     string // its ID, for errors
	wire   string // the text, data: URI or URL sent
	tokens int    // its token count, or an upper bound of it (0 for images)
	exact  bool   // whether tokens is the count
	image  bool
}

// count counts text's tokens with the configured counter.
func (e *Encoder) count(text string) int {
	if e.cfg.count == nil {
		return CountTokens(text)
	}
	return e.cfg.count(text)
}

// bound returns an upper bound of text's token count that costs nothing:
// its length in bytes for CountTokens (cl100k_base is a byte-level BPE:
// every token covers at least one byte), the count itself otherwise.
// Texts are counted exactly only where the bound could break a limit.
func (e *Encoder) bound(text string) int {
	if e.cfg.count == nil {
		return len(text)
	}
	return e.cfg.count(text)
}

// name names the input in errors, as index.ItemError names a record.
func (it item) name() string { return fmt.Sprintf("input %d (id %q)", it.pos, it.id) }

// Encode embeds in, one vector per input in input order. Texts are sent as
// they are, images (with [WithImages]) as data: URIs in requests of their
// own. A call larger than one request allows ([WithMaxInputs],
// [WithMaxRequestTokens]) is sent as several, one after the other. A
// request the server refuses as invalid (HTTP 400, 413, 422) is split in
// halves until the input it refuses is found, so the error names it; if
// the halves succeed (a server whose limits are below those configured),
// so does Encode. Encode does not retry: errors of throttling and
// availability are marked retryable for embedding.EncodeAll.
func (e *Encoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	if ctx == nil {
		return nil, optionErrorf("Encode: nil context")
	}
	if err := driver.ContextError(ctx); err != nil {
		return nil, fmt.Errorf("openai: embeddings: %w", err)
	}
	if len(in) == 0 {
		return nil, nil
	}
	var texts, images []item
	for i, x := range in {
		it, err := e.prepare(i, x)
		if err != nil {
			return nil, err
		}
		if it.image {
			images = append(images, it)
		} else {
			texts = append(texts, it)
		}
	}
	out := make([][]float32, len(in))
	for _, group := range [][]item{texts, images} {
		for len(group) > 0 {
			n, tokens, inexact := 0, 0, 0 // group[inexact:n] may hold bounds
			for n < len(group) && n < e.cfg.maxInputs {
				if tokens+group[n].tokens > e.cfg.maxReqTokens && inexact <= n {
					// The bounds overflow the limit: count what they bound.
					for k := inexact; k <= n; k++ {
						if !group[k].exact && !group[k].image {
							old := group[k].tokens
							group[k].tokens, group[k].exact = e.count(group[k].wire), true
							if k < n {
								tokens += group[k].tokens - old
							}
						}
					}
					inexact = n + 1
				}
				if n > 0 && tokens+group[n].tokens > e.cfg.maxReqTokens {
					break
				}
				tokens += group[n].tokens
				n++
			}
			if err := e.requestSplitting(ctx, group[:n], out); err != nil {
				return nil, err
			}
			group = group[n:]
		}
	}
	if err := embedding.CheckOutput(e.info, in, out); err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	return out, nil
}

// prepare checks input i and turns it into what goes on the wire.
func (e *Encoder) prepare(i int, x embedding.Input) (item, error) {
	it := item{pos: i, id: x.ID}
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("openai: %s: %w: %s", it.name(), embedding.ErrInvalidInput, fmt.Sprintf(format, args...))
	}
	hasImage := len(x.Image) > 0 || x.Decoded != nil
	switch {
	case x.Text != "" && (hasImage || x.URI != ""):
		return it, invalid("both text and an image: send them as two inputs")
	case x.Text != "":
		it.wire, it.tokens, it.exact = x.Text, e.bound(x.Text), e.cfg.count != nil
		if it.tokens > e.cfg.maxInputTokens && !it.exact {
			it.tokens, it.exact = e.count(x.Text), true
		}
		if it.tokens > e.cfg.maxInputTokens {
			if !e.cfg.truncate {
				return it, invalid("%d tokens, over the limit of %d per input (WithMaxInputTokens; WithTruncate cuts instead)",
					it.tokens, e.cfg.maxInputTokens)
			}
			it.wire = truncate(x.Text, e.cfg.maxInputTokens, e.count)
			it.tokens = e.count(it.wire)
			if it.wire == "" {
				return it, invalid("no prefix of the text fits in %d tokens", e.cfg.maxInputTokens)
			}
		}
		return it, nil
	case !hasImage && x.URI == "":
		// OpenAI: the input "cannot be an empty string" (API reference).
		return it, invalid("no text and no image")
	case !e.cfg.images:
		return it, invalid("an image input, and images are off (WithImages sends them to servers that take them)")
	}
	it.image = true
	switch {
	case len(x.Image) > 0 && x.Decoded != nil:
		return it, invalid("both Image and Decoded are set")
	case x.Decoded != nil:
		var buf bytes.Buffer
		if err := png.Encode(&buf, x.Decoded); err != nil {
			return it, invalid("encoding the decoded image as PNG: %v", err)
		}
		it.wire = dataURI("image/png", buf.Bytes())
	case len(x.Image) > 0:
		mime := x.MIMEType
		if mime == "" {
			mime = http.DetectContentType(x.Image)
		}
		if !strings.HasPrefix(mime, "image/") {
			return it, invalid("MIME type %q is not an image type", mime)
		}
		it.wire = dataURI(mime, x.Image)
	default:
		u, err := url.Parse(x.URI)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return it, invalid("URI %q: want an http or https URL the server can fetch", x.URI)
		}
		it.wire = x.URI
	}
	return it, nil
}

// dataURI returns the RFC 2397 data URI of b.
func dataURI(mime string, b []byte) string {
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b)
}

// requestSplitting sends items and writes their vectors into out at their
// positions. A request refused as invalid is split in halves, down to the
// input the server refuses.
func (e *Encoder) requestSplitting(ctx context.Context, items []item, out [][]float32) error {
	vecs, err := e.request(ctx, items, e.info.Dim)
	if err == nil {
		for i, it := range items {
			out[it.pos] = vecs[i]
		}
		return nil
	}
	var ce *callError
	if len(items) == 1 || !errors.As(err, &ce) || !errors.Is(err, embedding.ErrInvalidInput) {
		return err
	}
	half := len(items) / 2
	if err := e.requestSplitting(ctx, items[:half], out); err != nil {
		return err
	}
	return e.requestSplitting(ctx, items[half:], out)
}

// request sends one request and returns one vector per item, in order. A
// positive dim is the length every vector must have.
func (e *Encoder) request(ctx context.Context, items []item, dim int) ([][]float32, error) {
	wires := make([]string, len(items))
	for i, it := range items {
		wires[i] = it.wire
	}
	params := openai.EmbeddingNewParams{
		Model:          e.cfg.model,
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: wires},
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormat(e.cfg.format),
	}
	if e.cfg.dimensions > 0 {
		params.Dimensions = openai.Int(int64(e.cfg.dimensions))
	}
	var ropts []option.RequestOption
	if items[0].image {
		ropts = append(ropts, option.WithJSONSet("modality", "image"))
	}
	res, err := e.client.Embeddings.New(ctx, params, ropts...)
	if err != nil {
		return nil, e.mapError(ctx, err, items)
	}
	return decode(res, items, dim)
}

// decode checks an answer and converts its vectors, placed by their index
// field ("The index of the embedding in the list of embeddings", API
// reference). Errors wrap embedding.ErrBadOutput and name the input.
func decode(res *openai.CreateEmbeddingResponse, items []item, dim int) ([][]float32, error) {
	bad := func(it item, format string, args ...any) error {
		return fmt.Errorf("openai: %s: %w: %s", it.name(), embedding.ErrBadOutput, fmt.Sprintf(format, args...))
	}
	if len(res.Data) != len(items) {
		return nil, fmt.Errorf("openai: request of %d inputs from %s: %w: the server returned %d embeddings",
			len(items), items[0].name(), embedding.ErrBadOutput, len(res.Data))
	}
	out := make([][]float32, len(items))
	for k, d := range res.Data {
		if d.Index < 0 || d.Index >= int64(len(items)) {
			return nil, bad(items[min(k, len(items)-1)], "embedding %d of the answer has index %d, outside 0..%d", k, d.Index, len(items)-1)
		}
		it := items[d.Index]
		if out[d.Index] != nil {
			return nil, bad(it, "the answer has index %d twice", d.Index)
		}
		if len(d.Embedding) == 0 || (dim > 0 && len(d.Embedding) != dim) {
			return nil, bad(it, "vector of length %d, want %d", len(d.Embedding), dim)
		}
		v := make([]float32, len(d.Embedding))
		for j, x := range d.Embedding {
			v[j] = float32(x)
		}
		out[d.Index] = v
	}
	return out, nil
}

// unprefix drops this package's name from an error's text, for errors
// wrapped once more by this package.
func unprefix(err error) error {
	return &callError{msg: strings.TrimPrefix(err.Error(), "openai: "), errs: []error{err}}
}
