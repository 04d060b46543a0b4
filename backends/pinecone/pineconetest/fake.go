package pineconetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	_ "github.com/pinecone-io/go-pinecone/v5/pinecone" // registers the data-plane descriptors
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

// Pinecone's limits, enforced by the fake. Sources:
// operation limits, https://docs.pinecone.io/reference/api/database-limits/operation-limits
// (upsert: 1,000 records up to 2 MB; query: top_k ≤ 10,000, result ≤ 4 MB;
// fetch and delete: 1,000 IDs); metadata,
// https://docs.pinecone.io/guides/data/understanding-metadata (40 KB per
// vector); identifiers,
// https://docs.pinecone.io/reference/api/database-limits/identifier-limits
// (record IDs: 512 characters, UTF-8 except \0, not empty); list,
// https://docs.pinecone.io/guides/manage-data/list-record-ids (limit ≤ 100).
const (
	// MaxUpsertVectors is the most vectors in one upsert request.
	MaxUpsertVectors = 1000
	// MaxUpsertBytes is the largest UpsertRequest message, in wire bytes.
	MaxUpsertBytes = 2 << 20
	// MaxMetadataBytes is the largest metadata of one vector, as JSON.
	MaxMetadataBytes = 40 << 10
	// MaxTopK is the largest top_k of a query.
	MaxTopK = 10000
	// MaxQueryResponseBytes is the largest QueryResponse message, in wire
	// bytes ("Max result size 4MB").
	MaxQueryResponseBytes = 4 << 20
	// MaxIDsPerRequest is the most IDs in one fetch or delete request.
	MaxIDsPerRequest = 1000
	// MaxIDLength is the longest record ID, in characters.
	MaxIDLength = 512
	// MaxListLimit is the largest page of a list request.
	MaxListLimit     = 100
	defaultListLimit = 100
	maxRecvMsgBytes  = 8 << 20
)

// Call describes one data-plane request, given to the observer.
type Call struct {
	Method string // e.g. "Upsert"
	N      int    // the 1-based number of this call among all data-plane calls
	// IDs are the vector IDs of an Upsert, Fetch or Delete request.
	IDs []string
	// Request is the request message exactly as it arrived: its protobuf
	// wire bytes (decode them with the client's registered descriptors,
	// e.g. protoregistry.GlobalTypes.FindMessageByName("QueryRequest")).
	// The fake does not reuse them; fn may keep them.
	Request []byte
}

// Faults configures injected failures. The zero value injects nothing.
type Faults struct {
	// Latency is how long every data-plane call takes, from its arrival
	// to its answer: the fake's own work (decoding, storing) counts
	// towards it, as a real server's does.
	Latency time.Duration
	// UnavailableRate is the fraction of calls (0..1) answered with gRPC
	// Unavailable before they touch the data.
	UnavailableRate float64
	// RateLimitRate is the fraction of calls answered with ResourceExhausted
	// and a retry-after trailer of RetryAfter.
	RateLimitRate float64
	// RetryAfter is sent with injected rate limits.
	RetryAfter time.Duration
	// FailAfter, when positive, makes every call after the first FailAfter
	// fail with Unavailable.
	FailAfter int
	// Seed seeds the fault choice (deterministic per call number).
	Seed uint64
}

// Server is the fake. Create it with [New]; it is safe for concurrent use.
type Server struct {
	apiKey   string // immutable after New
	http     *httptest.Server
	grpc     *grpc.Server
	upsert   upsertSchema
	calls    atomic.Int64
	mu       sync.Mutex
	faults   Faults
	observer func(Call)
	indexes  map[string]*fakeIndex
}

type fakeIndex struct {
	name   string
	dim    int
	metric index.Metric
	spec   json.RawMessage
	store  *memory.Store
	lis    net.Listener
	host   string
}

type config struct {
	apiKey string
	faults Faults
}

// Option configures [New].
type Option func(*config) error

// WithAPIKey sets the key the fake accepts (default "test-key"); it must
// not be empty.
func WithAPIKey(k string) Option {
	return func(c *config) error {
		if k == "" {
			return errors.New("WithAPIKey: empty key")
		}
		c.apiKey = k
		return nil
	}
}

// WithFaults sets the initial fault injection (default none); rates must
// lie in [0, 1] and durations must not be negative.
func WithFaults(f Faults) Option {
	return func(c *config) error {
		if f.UnavailableRate < 0 || f.RateLimitRate < 0 || f.UnavailableRate+f.RateLimitRate > 1 {
			return fmt.Errorf("WithFaults: rates %v and %v must lie in [0, 1] together", f.UnavailableRate, f.RateLimitRate)
		}
		if f.Latency < 0 || f.RetryAfter < 0 || f.FailAfter < 0 {
			return errors.New("WithFaults: Latency, RetryAfter and FailAfter must not be negative")
		}
		c.faults = f
		return nil
	}
}

// New starts a fake on 127.0.0.1 and registers its shutdown with cleanup when
// cleanup is non-nil (pass t.Cleanup).
func New(cleanup func(func()), opts ...Option) (*Server, error) {
	cfg := config{apiKey: "test-key"}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("pineconetest: %w", err)
		}
	}
	s := &Server{apiKey: cfg.apiKey, faults: cfg.faults, indexes: map[string]*fakeIndex{}}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName("VectorService")
	if err != nil {
		return nil, fmt.Errorf("pineconetest: VectorService descriptor: %w", err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("pineconetest: VectorService is a %T", d)
	}
	up := sd.Methods().ByName("Upsert")
	if up == nil {
		return nil, fmt.Errorf("pineconetest: VectorService has no Upsert")
	}
	if s.upsert, err = newUpsertSchema(up.Input(), up.Output()); err != nil {
		return nil, fmt.Errorf("pineconetest: %w", err)
	}
	s.grpc = grpc.NewServer(grpc.MaxRecvMsgSize(maxRecvMsgBytes), grpc.ForceServerCodecV2(rawCodec{encoding.GetCodecV2("proto")}))
	s.grpc.RegisterService(s.serviceDesc(sd), s)
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	if cleanup != nil {
		cleanup(s.Close)
	}
	return s, nil
}

// Close stops both servers.
func (s *Server) Close() {
	s.grpc.Stop()
	s.http.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fi := range s.indexes {
		_ = fi.store.Close()
	}
}

// ControlURL is the control-plane URL to give the client as its Host.
func (s *Server) ControlURL() string { return s.http.URL }

// Host returns the data-plane host of index name ("http://127.0.0.1:PORT"),
// or "" if there is no such index. Each index has its own listener, as each
// Pinecone index has its own host.
func (s *Server) Host(name string) string {
	if fi := s.lookup(name); fi != nil {
		return fi.host
	}
	return ""
}

// APIKey returns the key the fake accepts.
func (s *Server) APIKey() string { return s.apiKey }

// SetFaults replaces the fault injection.
func (s *Server) SetFaults(f Faults) { s.mu.Lock(); s.faults = f; s.mu.Unlock() }

// SetObserver installs fn to be called with every data-plane request that
// passed authentication (nil removes it). fn must be safe for concurrent use.
func (s *Server) SetObserver(fn func(Call)) { s.mu.Lock(); s.observer = fn; s.mu.Unlock() }

// Calls returns the number of data-plane calls so far.
func (s *Server) Calls() int { return int(s.calls.Load()) }

// CreateIndex creates an index directly (as if through the console).
func (s *Server) CreateIndex(name string, dim int, m index.Metric) error {
	_, err := s.createIndex(name, dim, m, json.RawMessage(`{"serverless":{"cloud":"aws","region":"us-east-1","read_capacity":{"mode":"OnDemand","status":{"state":"Ready"}}}}`))
	return err
}

func (s *Server) createIndex(name string, dim int, m index.Metric, spec json.RawMessage) (*fakeIndex, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.indexes[name]; ok {
		return nil, errConflict
	}
	st, err := memory.New(memory.WithMetric(m), memory.WithDimension(dim))
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("pineconetest: listen: %w", err)
	}
	fi := &fakeIndex{name: name, dim: dim, metric: m, spec: spec, store: st, lis: lis, host: "http://" + lis.Addr().String()}
	s.indexes[name] = fi
	go func() { _ = s.grpc.Serve(lis) }()
	return fi, nil
}

var errConflict = fmt.Errorf("index already exists")

// Contents returns every record of namespace ns of index name, sorted by ID,
// as stored (metadata numbers are float64, as on the wire).
func (s *Server) Contents(ctx context.Context, name, ns string) ([]index.Record, error) {
	fi := s.lookup(name)
	if fi == nil {
		return nil, fmt.Errorf("pineconetest: no index %q", name)
	}
	var out []index.Record
	for r, err := range fi.store.Scan(ctx, storeNS(ns), index.Filter{}) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b index.Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *Server) lookup(name string) *fakeIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.indexes[name]
}

// dataIndex is the index whose listener the call arrived on.
func (s *Server) dataIndex(ctx context.Context) (*fakeIndex, error) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.LocalAddr == nil {
		return nil, status.Error(codes.Internal, "pineconetest: no local address")
	}
	addr := p.LocalAddr.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fi := range s.indexes {
		if fi.lis.Addr().String() == addr {
			return fi, nil
		}
	}
	return nil, status.Error(codes.NotFound, "index not found")
}

func storeNS(ns string) string {
	if ns == "__default__" {
		return ""
	}
	return ns
}

// ---- control plane ----

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Api-Key") != s.apiKey {
		httpError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Invalid API Key")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/indexes")
	switch {
	case r.Method == http.MethodPost && (path == "" || path == "/"):
		var req struct {
			Name      string          `json:"name"`
			Dimension int             `json:"dimension"`
			Metric    string          `json:"metric"`
			Spec      json.RawMessage `json:"spec"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.Dimension <= 0 {
			httpError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad create request")
			return
		}
		m, err := index.ParseMetric(req.Metric)
		if err != nil {
			httpError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad metric "+strconv.Quote(req.Metric))
			return
		}
		spec := normaliseSpec(req.Spec)
		fi, err := s.createIndex(req.Name, req.Dimension, m, spec)
		if err == errConflict {
			httpError(w, http.StatusConflict, "ALREADY_EXISTS", "Resource already exists")
			return
		} else if err != nil {
			httpError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, s.indexJSON(fi))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/") && len(path) > 1:
		fi := s.lookup(path[1:])
		if fi == nil {
			httpError(w, http.StatusNotFound, "NOT_FOUND", "Resource "+path[1:]+" not found")
			return
		}
		writeJSON(w, http.StatusOK, s.indexJSON(fi))
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "/") && len(path) > 1:
		s.mu.Lock()
		fi := s.indexes[path[1:]]
		delete(s.indexes, path[1:])
		s.mu.Unlock()
		if fi == nil {
			httpError(w, http.StatusNotFound, "NOT_FOUND", "Resource "+path[1:]+" not found")
			return
		}
		_ = fi.lis.Close()
		_ = fi.store.Close()
		w.WriteHeader(http.StatusAccepted)
	default:
		httpError(w, http.StatusNotFound, "NOT_FOUND", "no route "+r.Method+" "+r.URL.Path)
	}
}

func normaliseSpec(raw json.RawMessage) json.RawMessage {
	var spec map[string]map[string]any
	if json.Unmarshal(raw, &spec) != nil {
		return raw
	}
	if sl, ok := spec["serverless"]; ok {
		sl["read_capacity"] = map[string]any{"mode": "OnDemand", "status": map[string]any{"state": "Ready"}}
	}
	out, _ := json.Marshal(spec)
	return out
}

func (s *Server) indexJSON(fi *fakeIndex) map[string]any {
	metric := map[index.Metric]string{index.Cosine: "cosine", index.DotProduct: "dotproduct", index.Euclidean: "euclidean"}[fi.metric]
	return map[string]any{
		"name": fi.name, "dimension": fi.dim, "metric": metric,
		"host":                fi.host,
		"spec":                fi.spec,
		"status":              map[string]any{"ready": true, "state": "Ready"},
		"deletion_protection": "disabled",
		"vector_type":         "dense",
	}
}

func httpError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": status, "message": msg}, "status": code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ---- data plane ----

func (s *Server) serviceDesc(sd protoreflect.ServiceDescriptor) *grpc.ServiceDesc {
	desc := &grpc.ServiceDesc{ServiceName: string(sd.FullName()), HandlerType: (*any)(nil)}
	methods := sd.Methods()
	for i := 0; i < methods.Len(); i++ {
		m := methods.Get(i)
		desc.Methods = append(desc.Methods, grpc.MethodDesc{
			MethodName: string(m.Name()),
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				// The call answers Faults.Latency after it arrived: the
				// fake's own work, the reply's encoding included, counts
				// towards it, as a real server's does.
				arrived := time.Now()
				reply, err := s.call(ctx, m, dec)
				if werr := s.waitLatency(ctx, arrived); werr != nil {
					return nil, werr
				}
				return reply, err
			},
		})
	}
	return desc
}

// call decodes, serves and encodes one data-plane call. Every request is
// read as wire bytes first, so that its size can be checked and observed.
func (s *Server) call(ctx context.Context, m protoreflect.MethodDescriptor, dec func(any) error) (any, error) {
	var raw rawMessage
	if err := dec(&raw); err != nil {
		return nil, err
	}
	if m.Name() == "Upsert" {
		// A request that breaks the metadata rules is still observed (with
		// the vectors before the bad one), then refused.
		ns, vs, perr := s.upsert.parseUpsert(raw.b)
		if _, err := s.serve(ctx, "Upsert", wireRequest{Namespace: ns, upserts: vs, raw: raw.b, decodeErr: perr}); err != nil {
			return nil, err
		}
		return s.upsert.upsertReply(len(vs)), nil
	}
	in := newMessage(m.Input())
	if err := proto.Unmarshal(raw.b, in); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "decode: %v", err)
	}
	var req wireRequest
	b, err := protojson.Marshal(in)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "decode: %v", err)
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "decode: %v", err)
	}
	req.raw = raw.b
	out, err := s.serve(ctx, string(m.Name()), req)
	if err != nil {
		return nil, err
	}
	reply := dynamicpb.NewMessage(m.Output())
	if b, err = json.Marshal(out); err != nil {
		return nil, status.Errorf(codes.Internal, "encode reply: %v", err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, reply); err != nil {
		return nil, status.Errorf(codes.Internal, "encode reply: %v", err)
	}
	// Pinecone fails a query whose result exceeds 4 MB (operation limits,
	// above). Its exact status and message are not in its documentation
	// or public issues; the fake answers InvalidArgument, as for its other
	// request limits, in the documentation's words.
	if m.Name() == "Query" {
		if n := proto.Size(reply); n > MaxQueryResponseBytes {
			return nil, status.Errorf(codes.InvalidArgument, "query result size %d bytes exceeds the 4MB result size limit (%d bytes); choose a lower top_k, or set include_metadata or include_values to false", n, MaxQueryResponseBytes)
		}
	}
	return reply, nil
}

type wireVector struct {
	ID       string         `json:"id"`
	Values   []float32      `json:"values,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Score    *float32       `json:"score,omitempty"`
}

type wireRequest struct {
	Vectors         []wireVector   `json:"vectors"`
	Namespace       string         `json:"namespace"`
	IDs             []string       `json:"ids"`
	DeleteAll       bool           `json:"deleteAll"`
	Filter          map[string]any `json:"filter"`
	TopK            int            `json:"topK"`
	Vector          []float32      `json:"vector"`
	IncludeValues   bool           `json:"includeValues"`
	IncludeMetadata bool           `json:"includeMetadata"`
	Prefix          *string        `json:"prefix"`
	Limit           *int           `json:"limit"`
	PaginationToken *string        `json:"paginationToken"`

	upserts   []upsertVector // Upsert, read from the wire
	raw       []byte         // the request's wire bytes
	decodeErr error          // Upsert: why it could not be read
}

// waitLatency waits until Faults.Latency has passed since arrived, or ctx
// ends.
func (s *Server) waitLatency(ctx context.Context, arrived time.Time) error {
	s.mu.Lock()
	latency := s.faults.Latency
	s.mu.Unlock()
	d := time.Until(arrived.Add(latency))
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

// newMessage makes a message of type d: the client's own generated type,
// found in the global registry (fast to decode), or a dynamicpb message.
func newMessage(d protoreflect.MessageDescriptor) proto.Message {
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(d.FullName()); err == nil {
		return mt.New().Interface()
	}
	return dynamicpb.NewMessage(d)
}

// serve checks the API key, counts the call, injects faults and serves it.
func (s *Server) serve(ctx context.Context, method string, req wireRequest) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if keys := md.Get("api-key"); len(keys) != 1 || keys[0] != s.apiKey {
		return nil, status.Error(codes.Unauthenticated, "Invalid API Key")
	}
	n := int(s.calls.Add(1))
	s.mu.Lock()
	f, obs := s.faults, s.observer
	s.mu.Unlock()
	if obs != nil {
		c := Call{Method: method, N: n, IDs: req.IDs, Request: req.raw}
		for _, v := range req.upserts {
			c.IDs = append(c.IDs, v.ID)
		}
		obs(c)
	}
	if f.FailAfter > 0 && n > f.FailAfter {
		return nil, status.Error(codes.Unavailable, "injected: failing after "+strconv.Itoa(f.FailAfter)+" calls")
	}
	if u := unit(f.Seed, uint64(n)); u < f.UnavailableRate {
		return nil, status.Error(codes.Unavailable, "injected: unavailable")
	} else if u < f.UnavailableRate+f.RateLimitRate {
		if f.RetryAfter > 0 {
			_ = grpc.SetTrailer(ctx, metadata.Pairs("retry-after", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds())))))
		}
		return nil, status.Error(codes.ResourceExhausted, "injected: too many requests")
	}
	if req.decodeErr != nil {
		return nil, status.Errorf(codes.InvalidArgument, "decode: %v", req.decodeErr)
	}
	fi, err := s.dataIndex(ctx)
	if err != nil {
		return nil, err
	}
	ns := storeNS(req.Namespace)
	switch method {
	case "Upsert":
		return fi.upsert(ctx, ns, req.upserts, len(req.raw))
	case "Fetch":
		return fi.fetch(ctx, ns, req.IDs)
	case "Delete":
		return fi.delete(ctx, ns, req)
	case "Query":
		return fi.query(ctx, ns, req)
	case "List":
		return fi.list(ctx, ns, req)
	case "DescribeIndexStats":
		return fi.stats(ctx)
	case "ListNamespaces":
		return fi.namespaces(ctx)
	}
	return nil, status.Errorf(codes.Unimplemented, "pineconetest: %s is not implemented", method)
}

// unit is a deterministic pseudo-random number in [0,1) for call n.
func unit(seed, n uint64) float64 {
	x := seed*0x9E3779B97F4A7C15 + n*0xBF58476D1CE4E5B9 + 1
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func (fi *fakeIndex) upsert(ctx context.Context, ns string, vs []upsertVector, wireBytes int) (any, error) {
	if len(vs) == 0 {
		return nil, status.Error(codes.InvalidArgument, "no vectors to upsert")
	}
	if len(vs) > MaxUpsertVectors {
		return nil, status.Errorf(codes.InvalidArgument, "upsert of %d vectors exceeds the limit of %d", len(vs), MaxUpsertVectors)
	}
	if wireBytes > MaxUpsertBytes {
		return nil, status.Errorf(codes.InvalidArgument, "request size %d bytes exceeds the limit of %d bytes", wireBytes, MaxUpsertBytes)
	}
	recs := make([]index.Record, len(vs))
	for i, v := range vs {
		if err := checkID(v.ID); err != nil {
			return nil, err
		}
		for k := range v.Metadata {
			// The filter language reads a "$" name as an operator
			// (https://docs.pinecone.io/guides/search/filter-by-metadata), and
			// Pinecone's metadata format says keys "must not start with a $"
			// (https://docs.pinecone.io/guides/assistant/file-metadata).
			if strings.HasPrefix(k, "$") {
				return nil, status.Errorf(codes.InvalidArgument, "Metadata key %q must not start with '$' (id %s)", k, v.ID)
			}
		}
		if len(v.Values) != fi.dim {
			return nil, status.Errorf(codes.InvalidArgument, "Vector dimension %d does not match the dimension of the index %d", len(v.Values), fi.dim)
		}
		if fi.metric == index.Cosine && allZero(v.Values) {
			return nil, status.Errorf(codes.InvalidArgument, "Dense vectors must contain at least one non-zero value (id %s)", v.ID)
		}
		// Pinecone measures metadata as JSON. A string's JSON is at most
		// six bytes per byte (\u00XX) and a number's 24 bytes: below that
		// bound the exact size need not be computed.
		if 6*v.metaWire+24*len(v.Metadata) > MaxMetadataBytes {
			if b, _ := json.Marshal(v.Metadata); len(b) > MaxMetadataBytes {
				return nil, status.Errorf(codes.InvalidArgument, "Metadata size is %d bytes, which exceeds the limit of %d bytes per vector (id %s)", len(b), MaxMetadataBytes, v.ID)
			}
		}
		recs[i] = index.Record{ID: v.ID, Vector: v.Values, Metadata: v.Metadata}
	}
	if err := fi.store.Upsert(ctx, ns, recs); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	return map[string]any{"upsertedCount": len(recs)}, nil
}

// checkID applies Pinecone's identifier limits to a record ID (see the
// limits above).
func checkID(id string) error {
	switch {
	case id == "":
		return status.Error(codes.InvalidArgument, "Vector ID must not be empty")
	case !utf8.ValidString(id) || strings.ContainsRune(id, 0):
		return status.Errorf(codes.InvalidArgument, "Vector ID %q must be UTF-8 without \\0", id)
	case utf8.RuneCountInString(id) > MaxIDLength:
		return status.Errorf(codes.InvalidArgument, "Vector ID of %d characters exceeds the limit of %d", utf8.RuneCountInString(id), MaxIDLength)
	}
	return nil
}

func (fi *fakeIndex) fetch(ctx context.Context, ns string, ids []string) (any, error) {
	if len(ids) > MaxIDsPerRequest {
		return nil, status.Errorf(codes.InvalidArgument, "fetch of %d ids exceeds the limit of %d", len(ids), MaxIDsPerRequest)
	}
	recs, err := fi.store.Fetch(ctx, ns, ids)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	vs := map[string]wireVector{}
	for _, r := range recs {
		vs[r.ID] = toWire(r, true, true)
	}
	return map[string]any{"vectors": vs, "namespace": ns}, nil
}

func toWire(r index.Record, values, md bool) wireVector {
	w := wireVector{ID: r.ID}
	if values {
		w.Values = r.Vector
	}
	if md && len(r.Metadata) > 0 {
		w.Metadata = map[string]any(r.Metadata)
	}
	return w
}

func (fi *fakeIndex) delete(ctx context.Context, ns string, req wireRequest) (any, error) {
	if len(req.IDs) > MaxIDsPerRequest {
		return nil, status.Errorf(codes.InvalidArgument, "delete of %d ids exceeds the limit of %d", len(req.IDs), MaxIDsPerRequest)
	}
	if req.DeleteAll || req.Filter != nil {
		return nil, status.Error(codes.Unimplemented, "pineconetest: delete by filter or all is not implemented")
	}
	if err := fi.store.Delete(ctx, ns, req.IDs); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	return map[string]any{}, nil
}

func (fi *fakeIndex) query(ctx context.Context, ns string, req wireRequest) (any, error) {
	if req.TopK < 1 || req.TopK > MaxTopK {
		return nil, status.Errorf(codes.InvalidArgument, "top_k %d must be between 1 and %d", req.TopK, MaxTopK)
	}
	if len(req.Vector) != fi.dim {
		return nil, status.Errorf(codes.InvalidArgument, "Query vector dimension %d does not match the dimension of the index %d", len(req.Vector), fi.dim)
	}
	pred, err := compileFilter(req.Filter)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "filter: %v", err)
	}
	type scored struct {
		r index.Record
		s float64
	}
	var all []scored
	for r, err := range fi.store.Scan(ctx, ns, index.Filter{}) {
		if err != nil {
			return nil, status.Errorf(codes.Internal, "%v", err)
		}
		if pred(r.Metadata) {
			all = append(all, scored{r, pineconeScore(fi.metric, req.Vector, r.Vector)})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		better := all[i].s > all[j].s
		if fi.metric == index.Euclidean {
			better = all[i].s < all[j].s // Pinecone returns the squared distance
		}
		if all[i].s == all[j].s {
			return all[i].r.ID < all[j].r.ID
		}
		return better
	})
	if len(all) > req.TopK {
		all = all[:req.TopK]
	}
	matches := make([]wireVector, len(all))
	for i, m := range all {
		w := toWire(m.r, req.IncludeValues, req.IncludeMetadata)
		sc := float32(m.s)
		w.Score = &sc
		matches[i] = w
	}
	return map[string]any{"matches": matches, "namespace": ns}, nil
}

// pineconeScore scores as Pinecone does: cosine similarity, dot product, or
// the squared Euclidean distance (smaller is closer).
func pineconeScore(m index.Metric, a, b []float32) float64 {
	var dot, na, nb, l2 float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
		l2 += (x - y) * (x - y)
	}
	switch m {
	case index.Cosine:
		if na == 0 || nb == 0 {
			return 0
		}
		return dot / math.Sqrt(na*nb)
	case index.Euclidean:
		return l2
	}
	return dot
}

func (fi *fakeIndex) list(ctx context.Context, ns string, req wireRequest) (any, error) {
	limit := defaultListLimit
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 1 || limit > MaxListLimit {
		return nil, status.Errorf(codes.InvalidArgument, "limit %d must be between 1 and %d", limit, MaxListLimit)
	}
	var ids []string
	for r, err := range fi.store.Scan(ctx, ns, index.Filter{}) {
		if err != nil {
			return nil, status.Errorf(codes.Internal, "%v", err)
		}
		if req.Prefix == nil || strings.HasPrefix(r.ID, *req.Prefix) {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	if req.PaginationToken != nil && *req.PaginationToken != "" {
		after := *req.PaginationToken
		i, _ := slices.BinarySearch(ids, after)
		for i < len(ids) && ids[i] <= after {
			i++
		}
		ids = ids[i:]
	}
	out := map[string]any{"namespace": ns}
	if len(ids) > limit {
		ids = ids[:limit]
		out["pagination"] = map[string]any{"next": ids[limit-1]}
	}
	items := make([]map[string]string, len(ids))
	for i, id := range ids {
		items[i] = map[string]string{"id": id}
	}
	out["vectors"] = items
	return out, nil
}

func (fi *fakeIndex) nsCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	nss, err := fi.store.Namespaces(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	for _, ns := range nss {
		n, err := fi.store.Count(ctx, ns)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "%v", err)
		}
		if n > 0 {
			out[ns] = n
		}
	}
	return out, nil
}

func (fi *fakeIndex) stats(ctx context.Context) (any, error) {
	counts, err := fi.nsCounts(ctx)
	if err != nil {
		return nil, err
	}
	nss := map[string]any{}
	total := 0
	for ns, n := range counts {
		if ns == "" {
			ns = "__default__"
		}
		nss[ns] = map[string]any{"vectorCount": n}
		total += n
	}
	return map[string]any{"namespaces": nss, "dimension": fi.dim, "totalVectorCount": total, "metric": fi.metric.String()}, nil
}

func (fi *fakeIndex) namespaces(ctx context.Context) (any, error) {
	counts, err := fi.nsCounts(ctx)
	if err != nil {
		return nil, err
	}
	var list []map[string]any
	for ns, n := range counts {
		if ns == "" {
			ns = "__default__"
		}
		list = append(list, map[string]any{"name": ns, "recordCount": n})
	}
	return map[string]any{"namespaces": list, "totalCount": len(list)}, nil
}

func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
