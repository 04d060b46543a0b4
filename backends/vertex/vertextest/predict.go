package vertextest

import (
	"context"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/backends/vertex/internal/rules"
)

var (
	publisherRE = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/publishers/google/models/([^/]+)$`)
	endpointRE  = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/endpoints/[^/]+$`)
)

// Predict answers like Vertex's publisher embedding models
// (multimodalembedding@*, text-embedding-*, text-multilingual-embedding-*,
// gemini-embedding-*) and like an endpoint whose deployed model returns
// {"embedding": [...]}.
func (s *Server) Predict(ctx context.Context, req *aiplatformpb.PredictRequest) (*aiplatformpb.PredictResponse, error) {
	start := time.Now()
	s.mu.Lock()
	s.calls++
	n := s.calls
	latency, observe, malform := s.latency, s.onPredict, s.malform
	var fail error
	switch {
	case s.failAfter >= 0 && n > s.failAfter:
		fail = s.failErr
		if fail == nil {
			fail = status.Error(codes.Internal, "vertextest: injected failure")
		}
	case s.errRate > 0 && s.rng.Float64() < s.errRate:
		if s.rng.IntN(2) == 0 {
			fail = status.Error(codes.Unavailable, "vertextest: injected transient failure")
		} else {
			fail = status.Error(codes.ResourceExhausted, "vertextest: injected quota exceeded")
		}
	}
	s.mu.Unlock()

	resp, err := func() (*aiplatformpb.PredictResponse, error) {
		// The call answers latency after it arrived: the fake's own work
		// counts towards it, as a real server's does.
		var resp *aiplatformpb.PredictResponse
		err := fail
		if err == nil {
			resp, err = s.predict(req, malform)
		}
		if serr := sleepCtx(ctx, time.Until(start.Add(latency))); serr != nil {
			return nil, serr
		}
		return resp, err
	}()
	if observe != nil {
		call := PredictCall{Endpoint: req.GetEndpoint(), Err: err, Instances: make([]any, len(req.GetInstances()))}
		if req.GetParameters() != nil {
			call.Parameters = req.GetParameters().AsInterface()
		}
		for i, v := range req.GetInstances() {
			call.Instances[i] = v.AsInterface()
		}
		observe(call)
	}
	return resp, err
}

func (s *Server) predict(req *aiplatformpb.PredictRequest, malform func(any) Malformation) (*aiplatformpb.PredictResponse, error) {
	ep := req.GetEndpoint()
	if len(req.GetInstances()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "no instances")
	}
	params := req.GetParameters().GetStructValue().AsMap()
	var (
		model string
		dim   int
		shape func(vec []float32, in map[string]any, m Malformation) (*structpb.Value, error)
	)
	if m := publisherRE.FindStringSubmatch(ep); m != nil {
		model = m[1]
		var err error
		dim, shape, err = publisherShape(model, params, len(req.GetInstances()))
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		limit := s.maxTokens
		s.mu.Unlock()
		if err := checkTokens(model, params, req.GetInstances(), limit); err != nil {
			return nil, err
		}
	} else if endpointRE.MatchString(ep) {
		s.mu.Lock()
		d, ok := s.dims[ep]
		s.mu.Unlock()
		if !ok {
			return nil, notFound("Endpoint", ep)
		}
		model, dim = ep, d
		shape = func(vec []float32, _ map[string]any, m Malformation) (*structpb.Value, error) {
			f := map[string]*structpb.Value{}
			if m != MissingField {
				f["embedding"] = list(vec)
			}
			return structpb.NewStructValue(&structpb.Struct{Fields: f}), nil
		}
	} else {
		return nil, status.Errorf(codes.InvalidArgument, "endpoint %q is not a publisher model or an endpoint", ep)
	}
	resp := &aiplatformpb.PredictResponse{Predictions: make([]*structpb.Value, len(req.GetInstances())), DeployedModelId: "1", Model: model}
	for i, v := range req.GetInstances() {
		in := v.AsInterface()
		m, _ := in.(map[string]any)
		if m == nil {
			return nil, status.Errorf(codes.InvalidArgument, "instance %d is not an object", i)
		}
		vec := Vector(Key(in), dim)
		mf := WellFormed
		if malform != nil {
			mf = malform(in)
		}
		if mf == WrongDimension {
			vec = vec[:len(vec)-1]
		}
		p, err := shape(vec, m, mf)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "instance %d: %v", i, err)
		}
		resp.Predictions[i] = p
	}
	return resp, nil
}

func list(vec []float32) *structpb.Value {
	vals := make([]*structpb.Value, len(vec))
	for i, x := range vec {
		vals[i] = structpb.NewNumberValue(float64(x))
	}
	return structpb.NewListValue(&structpb.ListValue{Values: vals})
}

type errString string

func (e errString) Error() string { return string(e) }

// publisherShape returns the dimension and prediction format of a
// publisher model.
func publisherShape(model string, params map[string]any, n int) (int, func([]float32, map[string]any, Malformation) (*structpb.Value, error), error) {
	switch {
	case strings.HasPrefix(model, "multimodalembedding"):
		if n != 1 {
			return 0, nil, status.Errorf(codes.InvalidArgument, "%s accepts 1 instance per request, got %d", model, n)
		}
		dim := 1408
		if d, ok := params["dimension"].(float64); ok {
			dim = int(d)
		}
		switch dim {
		case 128, 256, 512, 1408:
		default:
			return 0, nil, status.Errorf(codes.InvalidArgument, "dimension %d not in [128, 256, 512, 1408]", dim)
		}
		return dim, func(vec []float32, in map[string]any, m Malformation) (*structpb.Value, error) {
			f := map[string]*structpb.Value{}
			_, hasImage := in["image"]
			_, hasText := in["text"]
			if !hasImage && !hasText {
				return nil, errString("needs text or image")
			}
			if img, ok := in["image"].(map[string]any); ok {
				_, b64 := img["bytesBase64Encoded"].(string)
				u, gcs := img["gcsUri"].(string)
				if b64 == gcs {
					return nil, errString("image needs exactly one of bytesBase64Encoded and gcsUri")
				}
				if gcs && !strings.HasPrefix(u, "gs://") {
					return nil, errString("gcsUri must start with gs://")
				}
			}
			if m != MissingField {
				if hasImage {
					f["imageEmbedding"] = list(vec)
				}
				if hasText {
					tv := vec
					if hasImage {
						tv = Vector(Key(map[string]any{"text": in["text"]}), len(vec))
					}
					f["textEmbedding"] = list(tv)
				}
			}
			return structpb.NewStructValue(&structpb.Struct{Fields: f}), nil
		}, nil
	case strings.Contains(model, "embedding"):
		full, limit := 768, 250
		if strings.HasPrefix(model, "gemini-embedding") {
			full, limit = 3072, 1
		}
		if n > limit {
			return 0, nil, status.Errorf(codes.InvalidArgument, "%s accepts at most %d instances per request, got %d", model, limit, n)
		}
		dim := full
		if d, ok := params["outputDimensionality"].(float64); ok {
			if d < 1 || int(d) > full {
				return 0, nil, status.Errorf(codes.InvalidArgument, "outputDimensionality %v out of range [1, %d]", d, full)
			}
			dim = int(d)
		}
		return dim, func(vec []float32, in map[string]any, m Malformation) (*structpb.Value, error) {
			c, ok := in["content"].(string)
			if !ok {
				return nil, errString("missing content")
			}
			tokens := rules.EstimateTokens(c)
			emb := map[string]*structpb.Value{
				"statistics": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
					"token_count": structpb.NewNumberValue(float64(min(tokens, rules.MaxTextTokens))),
					"truncated":   structpb.NewBoolValue(tokens > rules.MaxTextTokens),
				}}),
			}
			if m != MissingField {
				emb["values"] = list(vec)
			}
			return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
				"embeddings": structpb.NewStructValue(&structpb.Struct{Fields: emb}),
			}}), nil
		}, nil
	}
	return 0, nil, status.Errorf(codes.NotFound, "publisher model %q not found", model)
}

// checkTokens enforces the token limits of the text-embedding models
// (rules.TextEmbeddingsDoc), counting with rules.EstimateTokens, which is at
// least the service's count for digits, CJK, emoji and rare scripts: at
// most 20,000 input tokens per request, counted before truncation, else
// the service's own message (rules.TokenLimitMessage); and with
// autoTruncate false, at most 2,048 per text.
func checkTokens(model string, params map[string]any, instances []*structpb.Value, limit int) error {
	if strings.HasPrefix(model, "multimodalembedding") || !strings.Contains(model, "embedding") {
		return nil
	}
	truncate := true
	if b, ok := params["autoTruncate"].(bool); ok {
		truncate = b
	}
	total := 0
	for i, v := range instances {
		c, _ := v.GetStructValue().GetFields()["content"].GetKind().(*structpb.Value_StringValue)
		if c == nil {
			continue // reported as "missing content" with the instance
		}
		t := rules.EstimateTokens(c.StringValue)
		if !truncate && t > rules.MaxTextTokens {
			return status.Errorf(codes.InvalidArgument, "instance %d has %d input tokens, over the limit of %d, and autoTruncate is false", i, t, rules.MaxTextTokens)
		}
		total += t + rules.TokensPerInstance
	}
	if total > limit {
		return status.Error(codes.InvalidArgument, rules.TokenLimitMessage(total, limit))
	}
	return nil
}
