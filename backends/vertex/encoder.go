package vertex

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"math"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/backends/vertex/internal/rules"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
)

// Publisher models this package knows the request format and limits of.
const (
	// MultimodalEmbedding001 embeds images and text into one space;
	// dimension 128, 256, 512 or 1408 (default). One instance per request.
	MultimodalEmbedding001 = "multimodalembedding@001"
	// TextEmbedding005 embeds English text and code; 768 dimensions.
	TextEmbedding005 = "text-embedding-005"
	// TextMultilingualEmbedding002 embeds text in over 100 languages; 768
	// dimensions.
	TextMultilingualEmbedding002 = "text-multilingual-embedding-002"
	// GeminiEmbedding001 embeds text; 3072 dimensions, one instance per
	// request.
	GeminiEmbedding001 = "gemini-embedding-001"
)

// Request limits of the publisher models (Vertex AI documentation, "Get
// text embeddings" and "Get multimodal embeddings").
const (
	// TextMaxInstances is the text-embedding models' limit of inputs per
	// request.
	TextMaxInstances = rules.MaxTextInstances
	// TextMaxTokens is the text-embedding models' limit of input tokens
	// per request, counted before truncation; over it the service answers
	// InvalidArgument ("the input token count is N but the model supports
	// up to 20000").
	TextMaxTokens = rules.MaxRequestTokens
	// TextMaxBatchBytes is a text model's default Info().MaxBatchBytes:
	// TextMaxTokens less TextMaxInstances × [TokensPerInstance]. Since
	// [EstimateTokens] never exceeds a text's length in bytes, a batch
	// within it is one request within the token limit whatever its script
	// (English, digits, CJK or emoji).
	TextMaxBatchBytes = rules.MaxRequestTokens - rules.MaxTextInstances*rules.TokensPerInstance
	// TokensPerInstance is the per-input margin of the token budget.
	TokensPerInstance = rules.TokensPerInstance
	// MultimodalMaxImageBytes is the largest image multimodalembedding@001
	// accepts.
	MultimodalMaxImageBytes = 20 << 20
	// EndpointMaxRequestBytes is the online prediction request limit of a
	// public endpoint (1.5 MB); images travel base64-encoded, so custom
	// endpoints default to 3/4 of it, less headroom, as MaxBatchBytes.
	EndpointMaxRequestBytes = 1_500_000
	// DefaultEndpointMaxBatch is a custom endpoint's default MaxBatch.
	DefaultEndpointMaxBatch = 64
)

// EstimateTokens returns the conservative token count this package budgets
// a text-embedding request by (and vertextest enforces): a run of n ASCII
// letters counts ceil(n/2), a space before a letter 0, any other ASCII
// character (digits, punctuation) 1, and any other character one per UTF-8
// byte (3 for CJK, 4 for emoji, the byte-fallback worst case of rare
// scripts). It never exceeds len(text). A request counts the sum over its
// texts plus [TokensPerInstance] each, and stays within [TextMaxTokens]:
// Encode splits a larger batch into several requests, and splits again
// (in halves) a request the service refuses for its token count.
func EstimateTokens(text string) int { return rules.EstimateTokens(text) }

// PublisherModel returns the resource name of a Google publisher model,
// the target [NewEncoder] takes: projects/P/locations/L/publishers/google/models/M.
func PublisherModel(project, location, model string) string {
	return fmt.Sprintf("projects/%s/locations/%s/publishers/google/models/%s", project, location, model)
}

// Endpoint returns the resource name of an endpoint:
// projects/P/locations/L/endpoints/E.
func Endpoint(project, location, endpoint string) string {
	return fmt.Sprintf("projects/%s/locations/%s/endpoints/%s", project, location, endpoint)
}

var (
	publisherRE = regexp.MustCompile(`^projects/([^/]+)/locations/([^/]+)/publishers/([^/]+)/models/([^/]+)$`)
	endpointRE  = regexp.MustCompile(`^projects/([^/]+)/locations/([^/]+)/endpoints/([^/]+)$`)
)

type modelKind int

const (
	kindMultimodal modelKind = iota + 1
	kindText
	kindCustom
)

// InstanceBuilder turns an input into one prediction instance for a custom
// endpoint: a JSON-like value of map[string]any, []any, string, float64,
// bool or nil. An error is reported with the input's ID and
// embedding.ErrInvalidInput.
type InstanceBuilder func(in embedding.Input) (map[string]any, error)

// config is what the options set, for one constructor.
type config struct {
	ctor         string   // the constructor applying the options
	used         []string // the options passed, by name
	dim          int
	taskType     string
	autoTruncate *bool
	builder      InstanceBuilder
	predPath     []string
	params       map[string]any
	model        string
	normalized   *bool
	maxBatch     int
	maxBytes     int
	clientOpts   []option.ClientOption
	gcs          *storage.Client
	pollMin      time.Duration
	pollMax      time.Duration
	displayName  string
	trainer      trainerConfig
}

// WithDimension sets the vector length, for all three constructors.
// multimodalembedding@001: 128, 256, 512 or 1408 (default 1408). Text
// models: the output dimensionality, 1 to the model's full size (default:
// full size, 768 or 3072). Custom endpoints and registry models: required,
// the length the deployed model returns. NewTrainer: the trained model's
// dimension, passed to the container as --dimension (default 256).
//
// Applies to [NewEncoder], [NewBatchEncoder] and [NewTrainer].
func WithDimension(n int) Option {
	return newOption("WithDimension", forAll, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("dimension %d < 1", n)
		}
		c.dim = n
		return nil
	})
}

// Task types of the text-embedding models, for [WithTaskType].
var TaskTypes = []string{
	"RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION",
	"CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY",
}

// WithTaskType sets the text models' task_type (one of [TaskTypes];
// default: none, which the service treats as RETRIEVAL_QUERY). For the
// text-embedding publisher models only.
//
// Applies to [NewEncoder] and [NewBatchEncoder].
func WithTaskType(t string) Option {
	return newOption("WithTaskType", forEmbedders, func(c *config) error {
		for _, k := range TaskTypes {
			if t == k {
				c.taskType = t
				return nil
			}
		}
		return fmt.Errorf("task type %q (want one of %v)", t, TaskTypes)
	})
}

// WithAutoTruncate sets the text models' autoTruncate parameter (default
// true: the service truncates inputs over 2048 tokens; false makes such an
// input fail the request with InvalidArgument). For the text-embedding
// publisher models only.
//
// Applies to [NewEncoder] and [NewBatchEncoder].
func WithAutoTruncate(on bool) Option {
	return newOption("WithAutoTruncate", forEmbedders, func(c *config) error { c.autoTruncate = &on; return nil })
}

// WithInstanceBuilder sets how a custom endpoint's instances are built
// (default: {"text": Text} and/or {"image": {"bytesBase64Encoded" |
// "gcsUri", "mimeType"}}, the multimodal model's format). For endpoints and
// registry models only: with a publisher model it is an error.
//
// Applies to [NewEncoder], [NewBatchEncoder] and [NewTrainer].
func WithInstanceBuilder(b InstanceBuilder) Option {
	return newOption("WithInstanceBuilder", forAll, func(c *config) error {
		if b == nil {
			return fmt.Errorf("nil instance builder")
		}
		c.builder = b
		return nil
	})
}

// WithPredictionPath sets where a custom endpoint's prediction holds the
// vector, as dot-separated field names (for example "embeddings.values").
// Default: the prediction itself when it is a list of numbers, else its
// "embedding" field. For endpoints and registry models only.
//
// Applies to [NewEncoder], [NewBatchEncoder] and [NewTrainer].
func WithPredictionPath(p string) Option {
	return newOption("WithPredictionPath", forAll, func(c *config) error {
		if p == "" {
			c.predPath = nil
			return nil
		}
		parts := strings.Split(p, ".")
		for _, s := range parts {
			if s == "" {
				return fmt.Errorf("prediction path %q has an empty field", p)
			}
		}
		c.predPath = parts
		return nil
	})
}

// WithParameters sets a custom endpoint's request parameters (default
// none). Values must be JSON-like. For endpoints and registry models only:
// a publisher model's parameters come from the other options.
//
// Applies to [NewEncoder], [NewBatchEncoder] and [NewTrainer].
func WithParameters(p map[string]any) Option {
	return newOption("WithParameters", forAll, func(c *config) error {
		if _, err := structpb.NewStruct(p); err != nil {
			return fmt.Errorf("parameters: %v", err)
		}
		c.params = p
		return nil
	})
}

// WithModelName sets Info().Model (default: the publisher model and its
// dimension, for example "multimodalembedding@001/1408", or the endpoint's
// resource name). Name a fine-tuned model's version here so that store
// namespaces never mix two models.
//
// Applies to [NewEncoder] and [NewBatchEncoder].
func WithModelName(name string) Option {
	return newOption("WithModelName", forEmbedders, func(c *config) error {
		if name == "" {
			return fmt.Errorf("empty model name")
		}
		c.model = name
		return nil
	})
}

// WithNormalized sets Info().Normalized for a custom endpoint (default
// false). For endpoints and registry models only: a publisher model's is
// known.
//
// Applies to [NewEncoder], [NewBatchEncoder] and [NewTrainer].
func WithNormalized(on bool) Option {
	return newOption("WithNormalized", forAll, func(c *config) error { c.normalized = &on; return nil })
}

// WithMaxBatch overrides Info().MaxBatch, the inputs per request (defaults:
// 1 for multimodalembedding@001 and gemini-embedding-001, 250 for the other
// text models, 64 for custom endpoints). It cannot exceed a publisher
// model's limit.
//
// Applies to [NewEncoder].
func WithMaxBatch(n int) Option {
	return newOption("WithMaxBatch", forEncoder, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("max batch %d < 1", n)
		}
		c.maxBatch = n
		return nil
	})
}

// WithMaxBatchBytes overrides Info().MaxBatchBytes, the request budget as
// summed by embedding.Input.Size (defaults: [TextMaxBatchBytes] for text
// models, 1,025,000 for custom endpoints, none for multimodalembedding@001).
// Text models stay within the token budget above it too: Encode splits a
// batch whose [EstimateTokens] sum is over [TextMaxTokens].
//
// Applies to [NewEncoder].
func WithMaxBatchBytes(n int) Option {
	return newOption("WithMaxBatchBytes", forEncoder, func(c *config) error {
		if n < 0 {
			return fmt.Errorf("max batch bytes %d < 0", n)
		}
		c.maxBytes = n
		return nil
	})
}

// WithClientOptions passes options to the aiplatform client, after the
// regional endpoint this package derives from the target's location (so
// option.WithEndpoint here wins). Credentials default to Application
// Default Credentials.
//
// Applies to [NewEncoder], [NewBatchEncoder] and [NewTrainer].
func WithClientOptions(opts ...option.ClientOption) Option {
	return newOption("WithClientOptions", forAll, func(c *config) error {
		c.clientOpts = append(c.clientOpts, opts...)
		return nil
	})
}

// Encoder embeds inputs with a Vertex AI model through
// PredictionService.Predict: a publisher embedding model or a custom
// endpoint. It implements embedding.Encoder and is safe for concurrent
// use. Encode sends one request and never retries; embedding.EncodeAll
// batches within Info()'s limits and retries the errors this package marks
// retryable.
type Encoder struct {
	client    *aiplatform.PredictionClient
	target    string
	modelID   string
	kind      modelKind
	info      embedding.Info
	params    *structpb.Value
	cfg       config
	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
}

// NewEncoder returns an encoder for target: a publisher model
// (projects/P/locations/L/publishers/google/models/M, see
// [PublisherModel]) or an endpoint (projects/P/locations/L/endpoints/E, see
// [Endpoint]). It connects to the target location's regional API
// (L-aiplatform.googleapis.com) with Application Default Credentials
// unless [WithClientOptions] says otherwise. Close releases the client.
func NewEncoder(ctx context.Context, target string, opts ...Option) (*Encoder, error) {
	var c config
	if err := applyOptions(&c, ctorEncoder, opts); err != nil {
		return nil, err
	}
	e := &Encoder{target: target, cfg: c}
	var location string
	if m := publisherRE.FindStringSubmatch(target); m != nil {
		location, e.modelID = m[2], m[4]
		if err := e.setupPublisher(); err != nil {
			return nil, err
		}
	} else if m := endpointRE.FindStringSubmatch(target); m != nil {
		location = m[2]
		if err := e.setupCustom(); err != nil {
			return nil, err
		}
	} else {
		return nil, fmt.Errorf("%w: target %q is neither projects/P/locations/L/publishers/google/models/M nor projects/P/locations/L/endpoints/E", ErrInvalidOption, target)
	}
	client, err := aiplatform.NewPredictionClient(ctx, clientOptions(location, c.clientOpts)...)
	if err != nil {
		return nil, mapError(ctx, "new prediction client", err, ErrInvalidOption)
	}
	e.client = client
	return e, nil
}

// clientOptions puts the regional endpoint before the caller's options.
func clientOptions(location string, user []option.ClientOption) []option.ClientOption {
	var opts []option.ClientOption
	if location != "" && location != "global" {
		opts = append(opts, option.WithEndpoint(location+"-aiplatform.googleapis.com:443"))
	}
	return append(opts, user...)
}

func (e *Encoder) setupPublisher() error {
	c := &e.cfg
	id := e.modelID
	if err := c.rejectUsed("publisher model "+id, "its request and prediction formats are fixed",
		"WithInstanceBuilder", "WithPredictionPath", "WithParameters", "WithNormalized"); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(id, "multimodalembedding"):
		e.kind = kindMultimodal
		if err := c.rejectUsed(id, "it takes no task type or truncation setting", "WithTaskType", "WithAutoTruncate"); err != nil {
			return err
		}
		if c.dim == 0 {
			c.dim = 1408
		}
		switch c.dim {
		case 128, 256, 512, 1408:
		default:
			return fmt.Errorf("%w: %s dimension %d (want 128, 256, 512 or 1408)", ErrInvalidOption, id, c.dim)
		}
		if c.maxBatch > 1 {
			return fmt.Errorf("%w: %s takes 1 instance per request, not %d", ErrInvalidOption, id, c.maxBatch)
		}
		e.info = embedding.Info{Model: fmt.Sprintf("%s/%d", id, c.dim), Dim: c.dim, MaxBatch: 1, MaxBatchBytes: c.maxBytes}
		e.params = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
			"dimension": structpb.NewNumberValue(float64(c.dim)),
		}})
	case strings.Contains(id, "embedding") || strings.HasPrefix(id, "textembedding"):
		e.kind = kindText
		full, limit := 768, TextMaxInstances
		if strings.HasPrefix(id, "gemini-embedding") {
			full, limit = 3072, 1
		}
		if c.dim == 0 {
			c.dim = full
		}
		if c.dim > full {
			return fmt.Errorf("%w: %s dimension %d > %d", ErrInvalidOption, id, c.dim, full)
		}
		if c.maxBatch > limit {
			return fmt.Errorf("%w: %s takes at most %d instances per request, not %d", ErrInvalidOption, id, limit, c.maxBatch)
		}
		mb := limit
		if c.maxBatch > 0 {
			mb = c.maxBatch
		}
		bytes := TextMaxBatchBytes
		if c.maxBytes > 0 {
			bytes = c.maxBytes
		}
		e.info = embedding.Info{Model: fmt.Sprintf("%s/%d", id, c.dim), Dim: c.dim, Normalized: c.dim == full, MaxBatch: mb, MaxBatchBytes: bytes}
		p := map[string]*structpb.Value{"autoTruncate": structpb.NewBoolValue(c.autoTruncate == nil || *c.autoTruncate)}
		if c.dim != full {
			p["outputDimensionality"] = structpb.NewNumberValue(float64(c.dim))
		}
		e.params = structpb.NewStructValue(&structpb.Struct{Fields: p})
	default:
		return fmt.Errorf("%w: publisher model %q is not an embedding model this package knows (%s, %s, %s, %s); deploy it to an endpoint and use the endpoint",
			ErrInvalidOption, id, MultimodalEmbedding001, TextEmbedding005, TextMultilingualEmbedding002, GeminiEmbedding001)
	}
	if c.model != "" {
		e.info.Model = c.model
	}
	return nil
}

func (e *Encoder) setupCustom() error {
	c := &e.cfg
	e.kind = kindCustom
	if err := c.rejectUsed(e.target, "task type and truncation are settings of the text-embedding publisher models (use WithParameters)", "WithTaskType", "WithAutoTruncate"); err != nil {
		return err
	}
	if c.dim == 0 {
		return fmt.Errorf("%w: endpoint %s needs WithDimension", ErrInvalidOption, e.target)
	}
	mb, bytes := DefaultEndpointMaxBatch, EndpointMaxRequestBytes*3/4-100_000
	if c.maxBatch > 0 {
		mb = c.maxBatch
	}
	if c.maxBytes > 0 {
		bytes = c.maxBytes
	}
	e.info = embedding.Info{Model: e.target, Dim: c.dim, MaxBatch: mb, MaxBatchBytes: bytes}
	if c.model != "" {
		e.info.Model = c.model
	}
	if c.normalized != nil {
		e.info.Normalized = *c.normalized
	}
	if c.params != nil {
		s, _ := structpb.NewStruct(c.params) // checked by the option
		e.params = structpb.NewStructValue(s)
	}
	return nil
}

// Info describes the model: its name and dimension, and the request limits
// EncodeAll batches within.
func (e *Encoder) Info() embedding.Info { return e.info }

// Target returns the resource the encoder calls.
func (e *Encoder) Target() string { return e.target }

// Close releases the client. Encode after Close fails with index.ErrClosed.
func (e *Encoder) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.closeErr = e.client.Close()
	})
	return e.closeErr
}

// Encode embeds in with one Predict request and returns one vector per
// input, in order. Inputs the model cannot take and predictions that lack
// the vector or have the wrong length are reported with the input's ID
// (embedding.ErrInvalidInput, embedding.ErrBadOutput). Service errors are
// mapped as the package documentation describes; Unavailable and
// ResourceExhausted are retryable.
func (e *Encoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	if e.closed.Load() {
		return nil, fmt.Errorf("vertex: encoder %s: %w", e.target, index.ErrClosed)
	}
	if len(in) == 0 {
		return nil, nil
	}
	if e.info.MaxBatch > 0 && len(in) > e.info.MaxBatch {
		return nil, fmt.Errorf("vertex: %w: %d inputs in one call (first %q); %s takes at most %d", embedding.ErrInvalidInput, len(in), in[0].ID, e.info.Model, e.info.MaxBatch)
	}
	in, err := withPNG(in)
	if err != nil {
		return nil, fmt.Errorf("vertex: %w", err)
	}
	insts := make([]*structpb.Value, len(in))
	for i, x := range in {
		v, err := e.instance(x)
		if err != nil {
			return nil, fmt.Errorf("vertex: input %q: %w", x.ID, err)
		}
		insts[i] = v
	}
	if e.kind != kindText {
		return e.predict(ctx, in, insts)
	}
	// Text models: requests within the token budget (EstimateTokens), in
	// order; one input over it on its own is sent alone and the service
	// decides.
	out := make([][]float32, 0, len(in))
	for start := 0; start < len(in); {
		end, tokens := start, 0
		for end < len(in) {
			t := rules.RequestTokens(in[end].Text)
			if end > start && tokens+t > rules.MaxRequestTokens {
				break
			}
			tokens += t
			end++
		}
		vecs, err := e.predictSplitting(ctx, in[start:end], insts[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
		start = end
	}
	return out, nil
}

// predictSplitting is predict, except that a request the service refuses
// for its token count ("the input token count is N but the model supports
// up to 20000", TextEmbeddingsDoc) is split in halves that are sent in
// turn: the estimate is conservative for every script, but text made to
// defeat it must still get through.
func (e *Encoder) predictSplitting(ctx context.Context, in []embedding.Input, insts []*structpb.Value) ([][]float32, error) {
	vecs, err := e.predict(ctx, in, insts)
	if err == nil || len(in) == 1 {
		return vecs, err
	}
	if st, ok := status.FromError(err); !ok || st.Code() != codes.InvalidArgument || !rules.IsTokenLimitMessage(st.Message()) {
		return nil, err
	}
	h := len(in) / 2
	first, err := e.predictSplitting(ctx, in[:h], insts[:h])
	if err != nil {
		return nil, err
	}
	second, err := e.predictSplitting(ctx, in[h:], insts[h:])
	if err != nil {
		return nil, err
	}
	return append(first, second...), nil
}

// predict sends one Predict request of insts, the instances of in, and
// returns one checked vector per input.
func (e *Encoder) predict(ctx context.Context, in []embedding.Input, insts []*structpb.Value) ([][]float32, error) {
	req := &aiplatformpb.PredictRequest{Endpoint: e.target, Instances: insts, Parameters: e.params}
	resp, err := e.client.Predict(ctx, req)
	if err != nil {
		return nil, mapError(ctx, fmt.Sprintf("predict %d inputs (first %q)", len(in), in[0].ID), err, embedding.ErrInvalidInput)
	}
	preds := resp.GetPredictions()
	if len(preds) != len(in) {
		return nil, fmt.Errorf("vertex: %w: %d predictions for %d inputs (first %q)", embedding.ErrBadOutput, len(preds), len(in), in[0].ID)
	}
	out := make([][]float32, len(in))
	for i, p := range preds {
		v, err := e.vector(p, in[i])
		if err != nil {
			return nil, fmt.Errorf("vertex: input %q: %w", in[i].ID, err)
		}
		out[i] = v
	}
	return out, nil
}

// instance builds the request instance of one input.
func (e *Encoder) instance(x embedding.Input) (*structpb.Value, error) {
	switch e.kind {
	case kindText:
		if x.Text == "" {
			return nil, fmt.Errorf("%w: %s embeds text and the input has none", embedding.ErrInvalidInput, e.modelID)
		}
		f := map[string]*structpb.Value{"content": structpb.NewStringValue(x.Text)}
		if e.cfg.taskType != "" {
			f["task_type"] = structpb.NewStringValue(e.cfg.taskType)
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: f}), nil
	case kindMultimodal:
		f := map[string]*structpb.Value{}
		if len(x.Image) > 0 || x.URI != "" {
			img, err := imageValue(x)
			if err != nil {
				return nil, err
			}
			f["image"] = img
		} else if x.Text != "" {
			f["text"] = structpb.NewStringValue(x.Text)
		} else {
			return nil, fmt.Errorf("%w: no text, image or URI", embedding.ErrInvalidInput)
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: f}), nil
	default:
		if e.cfg.builder != nil {
			m, err := e.cfg.builder(x)
			if err != nil {
				return nil, fmt.Errorf("%w: instance builder: %w", embedding.ErrInvalidInput, err)
			}
			s, err := structpb.NewStruct(m)
			if err != nil {
				return nil, fmt.Errorf("%w: instance builder returned a non-JSON value: %v", embedding.ErrInvalidInput, err)
			}
			return structpb.NewStructValue(s), nil
		}
		f := map[string]*structpb.Value{}
		if x.Text != "" {
			f["text"] = structpb.NewStringValue(x.Text)
		}
		if len(x.Image) > 0 || x.URI != "" {
			img, err := imageValue(x)
			if err != nil {
				return nil, err
			}
			f["image"] = img
		}
		if len(f) == 0 {
			return nil, fmt.Errorf("%w: no text, image or URI", embedding.ErrInvalidInput)
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: f}), nil
	}
}

// withPNG returns in with every Input.Decoded image encoded as PNG bytes
// in Image (Vertex takes encoded images); in itself when none has one.
func withPNG(in []embedding.Input) ([]embedding.Input, error) {
	var out []embedding.Input
	for i, x := range in {
		if x.Decoded == nil {
			continue
		}
		if len(x.Image) > 0 {
			return nil, fmt.Errorf("%w: input %q: Image and Decoded both set", embedding.ErrInvalidInput, x.ID)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, x.Decoded); err != nil {
			return nil, fmt.Errorf("%w: input %q: encode the decoded image as PNG: %v", embedding.ErrInvalidInput, x.ID, err)
		}
		if out == nil {
			out = slices.Clone(in)
		}
		out[i].Image, out[i].MIMEType, out[i].Decoded = buf.Bytes(), "image/png", nil
	}
	if out == nil {
		return in, nil
	}
	return out, nil
}

var imageTypes = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".bmp": "image/bmp"}

// imageValue is {"bytesBase64Encoded"|"gcsUri", "mimeType"}.
func imageValue(x embedding.Input) (*structpb.Value, error) {
	f := map[string]*structpb.Value{}
	mime := x.MIMEType
	if len(x.Image) > 0 {
		if len(x.Image) > MultimodalMaxImageBytes {
			return nil, fmt.Errorf("%w: image of %d bytes exceeds %d", embedding.ErrInvalidInput, len(x.Image), MultimodalMaxImageBytes)
		}
		if mime == "" {
			mime = http.DetectContentType(x.Image)
		}
		f["bytesBase64Encoded"] = structpb.NewStringValue(base64.StdEncoding.EncodeToString(x.Image))
	} else {
		if !strings.HasPrefix(x.URI, "gs://") || len(x.URI) <= len("gs://") {
			return nil, fmt.Errorf("%w: image URI %q is not a gs:// URI", embedding.ErrInvalidInput, x.URI)
		}
		if mime == "" {
			mime = imageTypes[strings.ToLower(path.Ext(x.URI))]
		}
		f["gcsUri"] = structpb.NewStringValue(x.URI)
	}
	if mime != "" && !strings.HasPrefix(mime, "image/") {
		return nil, fmt.Errorf("%w: MIME type %q is not an image", embedding.ErrInvalidInput, mime)
	}
	if mime != "" {
		f["mimeType"] = structpb.NewStringValue(mime)
	}
	return structpb.NewStructValue(&structpb.Struct{Fields: f}), nil
}

// vector extracts and checks the vector of one prediction.
func (e *Encoder) vector(p *structpb.Value, x embedding.Input) ([]float32, error) {
	var field []string
	switch e.kind {
	case kindText:
		field = []string{"embeddings", "values"}
	case kindMultimodal:
		if len(x.Image) > 0 || x.URI != "" {
			field = []string{"imageEmbedding"}
		} else {
			field = []string{"textEmbedding"}
		}
	default:
		field = e.cfg.predPath
		if field == nil && p.GetListValue() == nil {
			field = []string{"embedding"}
		}
	}
	return extractVector(p, field, e.info.Dim)
}

// extractVector follows path in p to a list of numbers of length dim.
func extractVector(p *structpb.Value, path []string, dim int) ([]float32, error) {
	v := p
	for i, name := range path {
		s := v.GetStructValue()
		if s == nil {
			return nil, fmt.Errorf("%w: prediction has no field %q (%s is not an object)", embedding.ErrBadOutput, strings.Join(path, "."), describePath(path[:i]))
		}
		next, ok := s.GetFields()[name]
		if !ok {
			return nil, fmt.Errorf("%w: prediction has no field %q", embedding.ErrBadOutput, strings.Join(path, "."))
		}
		v = next
	}
	l := v.GetListValue()
	if l == nil {
		return nil, fmt.Errorf("%w: prediction field %s is not a list of numbers", embedding.ErrBadOutput, describePath(path))
	}
	if len(l.GetValues()) != dim {
		return nil, fmt.Errorf("%w: prediction field %s has %d values, want %d", embedding.ErrBadOutput, describePath(path), len(l.GetValues()), dim)
	}
	out := make([]float32, dim)
	for i, n := range l.GetValues() {
		nv, ok := n.GetKind().(*structpb.Value_NumberValue)
		if !ok {
			return nil, fmt.Errorf("%w: prediction field %s: element %d is not a number", embedding.ErrBadOutput, describePath(path), i)
		}
		f := float32(nv.NumberValue)
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("%w: prediction field %s: element %d is %v", embedding.ErrBadOutput, describePath(path), i, nv.NumberValue)
		}
		out[i] = f
	}
	return out, nil
}

func describePath(p []string) string {
	if len(p) == 0 {
		return "(the prediction)"
	}
	return fmt.Sprintf("%q", strings.Join(p, "."))
}
