package vertextest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/shoalhq/shoal/backends/vertex/internal/rules"
)

// Malformation is a way the fake can break a prediction, for
// [Server.Malform].
type Malformation int

const (
	// WellFormed leaves the prediction alone.
	WellFormed Malformation = iota
	// WrongDimension returns a vector one element short.
	WrongDimension
	// MissingField drops the vector's field from the prediction.
	MissingField
)

// PredictCall describes one Predict call, for [Server.OnPredict].
type PredictCall struct {
	// Endpoint is the request's endpoint or publisher model.
	Endpoint string
	// Instances are the request's instances as JSON-like values.
	Instances []any
	// Parameters are the request's parameters as a JSON-like value (nil
	// when absent).
	Parameters any
	// Err is the error the fake answered with (nil for a success).
	Err error
}

// Option configures [NewServer]. An option with an unusable value makes
// NewServer fail with an error naming it.
type Option func(*Server) error

// WithStorage backs batch prediction and custom jobs with a Cloud Storage
// client (for example fakestorage.Server.Client()). Default: none; such
// jobs then still run their state machines but read and write nothing.
func WithStorage(c *storage.Client) Option {
	return func(s *Server) error {
		if c == nil {
			return fmt.Errorf("vertextest: WithStorage: nil client")
		}
		s.storage = c
		return nil
	}
}

// WithJobSteps sets how many Get calls a job spends in each of PENDING and
// RUNNING (default 1).
func WithJobSteps(n int) Option {
	return func(s *Server) error {
		if n < 1 {
			return fmt.Errorf("vertextest: WithJobSteps: %d steps (want at least 1)", n)
		}
		s.jobSteps = n
		return nil
	}
}

// WithSeed seeds the fault injection's random choices (default 1).
func WithSeed(seed uint64) Option {
	return func(s *Server) error {
		s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		return nil
	}
}

// WithDefaultDimension sets the vector length of endpoints whose model
// does not say (default 64).
func WithDefaultDimension(n int) Option {
	return func(s *Server) error {
		if n < 1 {
			return fmt.Errorf("vertextest: WithDefaultDimension: dimension %d (want at least 1)", n)
		}
		s.defaultDim = n
		return nil
	}
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	aiplatformpb.UnimplementedPredictionServiceServer

	grpc *grpc.Server
	lis  net.Listener

	storage    *storage.Client
	jobSteps   int
	defaultDim int

	mu          sync.Mutex
	rng         *rand.Rand
	latency     time.Duration
	errRate     float64
	failAfter   int
	failErr     error
	calls       int
	malform     func(instance any) Malformation
	onPredict   func(PredictCall)
	onJobCall   func(method, name string)
	maxTokens   int
	failJobs    string
	holdJobs    bool
	nextID      int
	batchJobs   map[string]*batchJob
	customJobs  map[string]*customJob
	models      map[string]*aiplatformpb.Model
	endpoints   map[string]*aiplatformpb.Endpoint
	operations  map[string]*longrunningpb.Operation
	jobRequests []string
	dims        map[string]int
	jobFailures int
	jobFailErr  error
	tables      map[string][]map[string]any
}

// NewServer starts a fake on 127.0.0.1. Close stops it.
func NewServer(opts ...Option) (*Server, error) {
	s := &Server{
		jobSteps:   1,
		defaultDim: 64,
		failAfter:  -1,
		maxTokens:  rules.MaxRequestTokens,
		batchJobs:  map[string]*batchJob{},
		customJobs: map[string]*customJob{},
		models:     map[string]*aiplatformpb.Model{},
		endpoints:  map[string]*aiplatformpb.Endpoint{},
		operations: map[string]*longrunningpb.Operation{},
	}
	_ = WithSeed(1)(s)
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("vertextest: listen: %w", err)
	}
	s.lis = lis
	s.grpc = grpc.NewServer()
	aiplatformpb.RegisterPredictionServiceServer(s.grpc, s)
	aiplatformpb.RegisterJobServiceServer(s.grpc, &jobService{s: s})
	aiplatformpb.RegisterModelServiceServer(s.grpc, &modelService{s: s})
	aiplatformpb.RegisterEndpointServiceServer(s.grpc, &endpointService{s: s})
	longrunningpb.RegisterOperationsServer(s.grpc, &operationsService{s: s})
	go func() { _ = s.grpc.Serve(lis) }()
	return s, nil
}

// Addr returns the host:port the fake listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// ClientOptions returns the options that point an aiplatform client at the
// fake: its address, no authentication, and a plaintext connection.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.Addr()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// Close stops the server, ending open calls.
func (s *Server) Close() {
	s.grpc.Stop()
}

// SetLatency makes every Predict call answer d after it arrived, its own
// work included (0: as soon as possible).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetTransientErrorRate makes that fraction of Predict calls fail, before
// doing any work, with Unavailable or ResourceExhausted (chosen at random
// from the seeded generator). 0 turns it off.
func (s *Server) SetTransientErrorRate(rate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errRate = rate
}

// FailAfter makes every Predict call after the first n fail with err (a
// gRPC status error, for example status.Error(codes.Internal, "boom")).
// n < 0 turns it off.
func (s *Server) FailAfter(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAfter, s.failErr = n, err
}

// SetMaxRequestTokens sets the input token limit of a text-embedding
// request (default 20,000, the service's; see vertex.EstimateTokens for how
// the fake counts). A lower limit plays a tokenizer that counts more than
// the estimate, so that a client's handling of the service's answer, an
// InvalidArgument "the input token count is N but the model supports up to
// M", can be tested.
func (s *Server) SetMaxRequestTokens(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxTokens = n
}

// Malform has fn choose, for every instance, whether its prediction is
// broken (nil: none is).
func (s *Server) Malform(fn func(instance any) Malformation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.malform = fn
}

// OnPredict has fn called after every Predict call, from the serving
// goroutine (nil: none).
func (s *Server) OnPredict(fn func(PredictCall)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onPredict = fn
}

// Calls returns the number of Predict calls received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// FailJobs makes jobs created from now on end in JOB_STATE_FAILED with
// message ("": they succeed).
func (s *Server) FailJobs(message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failJobs = message
}

// HoldJobs keeps jobs created from now on RUNNING until cancelled (or
// until HoldJobs(false)).
func (s *Server) HoldJobs(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdJobs = on
}

// JobRequests returns the job service calls received so far, as
// "Method name" lines, in order.
func (s *Server) JobRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.jobRequests...)
}

// FailJobCalls makes the next n calls to the job, model and endpoint
// services fail with err (a gRPC status error such as
// status.Error(codes.Unavailable, "try again")), before doing anything.
func (s *Server) FailJobCalls(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobFailures, s.jobFailErr = n, err
}

// OnJobCall has fn called at the start of every call to the job, model and
// endpoint services, with the method and the resource it names (the parent
// for Create calls), from the serving goroutine and before the call does
// anything (nil: none). Tests use it to act at a known point of a job's
// life, for example to cancel a caller's context once its job exists.
func (s *Server) OnJobCall(fn func(method, name string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onJobCall = fn
}

// logJob records a job service call, calls the OnJobCall hook and returns
// the injected failure, if one is due.
func (s *Server) logJob(method, name string) error {
	s.mu.Lock()
	s.jobRequests = append(s.jobRequests, method+" "+name)
	hook := s.onJobCall
	var fail error
	if s.jobFailures > 0 {
		s.jobFailures--
		fail = s.jobFailErr
	}
	s.mu.Unlock()
	if hook != nil {
		hook(method, name)
	}
	return fail
}

// AddEndpoint registers an endpoint that serves vectors of length dim, as
// if a model had been deployed to it, and returns its resource name
// (projects/P/locations/L/endpoints/N).
func (s *Server) AddEndpoint(project, location string, dim int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	name := fmt.Sprintf("projects/%s/locations/%s/endpoints/%d", project, location, 1000+s.nextID)
	s.endpoints[name] = &aiplatformpb.Endpoint{Name: name, DisplayName: "vertextest",
		DeployedModels: []*aiplatformpb.DeployedModel{{Id: "1", Model: "vertextest", DisplayName: fmt.Sprintf("dim=%d", dim)}}}
	s.endpointDims(name, dim)
	return name
}

func (s *Server) endpointDims(name string, dim int) {
	if s.dims == nil {
		s.dims = map[string]int{}
	}
	s.dims[name] = dim
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-t.C:
		return nil
	}
}

func (s *Server) newID() int {
	s.nextID++
	return s.nextID
}

func notFound(kind, name string) error {
	return status.Errorf(codes.NotFound, "%s %q not found", kind, name)
}
