package milvustest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	//lint:ignore SA1019 milvus-proto v2.4 is old-style generated code, which this package's Marshal/Unmarshal/Clone handle directly.
	"github.com/golang/protobuf/proto"
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Milvus error codes (merr) the fake answers with.
const (
	CodeServiceNotReady    int32 = 1
	CodeRateLimit          int32 = 8
	CodeCollectionNotFound int32 = 100
	CodeCollectionNotLoad  int32 = 101
	CodeIndexNotFound      int32 = 700
	CodeParameterInvalid   int32 = 1100
	CodeNotAuthenticated   int32 = 1400
)

// maxTopK is Milvus's limit on topk.
const maxTopK = 16384

// Server is an in-process Milvus: a gRPC server registering
// milvuspb.MilvusServiceServer on 127.0.0.1, which the official Go SDK
// talks to as to a real Milvus. It implements the RPCs a vector store needs
// (Connect; Create/Has/Describe/Drop collection; Create/Has/Show partitions;
// Create/Describe index; Load/Release collection, GetLoadingProgress;
// Insert, Upsert, Delete, Query, Search, Flush), evaluates the boolean
// expressions described at [ParseExpr], and stores each collection's rows
// in an index/memory store. Fault injection: latency per call, transient
// failures (a rate-limit status) at a given rate, failure of every data call
// after N, and an observer of every request. Safe for concurrent use.
type Server struct {
	lis  net.Listener
	grpc *grpc.Server

	mu     sync.Mutex
	colls  map[string]*collection
	nextID int64

	faultMu     sync.Mutex
	latency     time.Duration
	failRate    float64
	failAfter   int64 // data calls allowed before failing; -1: never
	failCode    int32
	rng         *rand.Rand
	observer    func(method string, req any)
	dataCalls   atomic.Int64
	calls       sync.Map // method → *atomic.Int64
	faultsTotal atomic.Int64
	token       string

	milvuspb.UnimplementedMilvusServiceServer
}

type field struct {
	schema *schemapb.FieldSchema
	kind   FieldKind
}

type collection struct {
	id          int64
	schema      *schemapb.CollectionSchema
	fields      map[string]field
	kinds       map[string]FieldKind
	pk          string
	vec         string
	dim         int
	consistency commonpb.ConsistencyLevel
	shards      int32
	partitions  []string
	index       *milvuspb.IndexDescription
	loaded      bool
	rows        *memory.Store
	version     atomic.Int64 // incremented by every write

	cacheMu  sync.Mutex
	cache    []cachedRow
	cacheVer int64
	created  uint64
}

// Option configures [Start]; an invalid value makes Start fail.
type Option func(*Server) error

// WithLatency makes every call answer d (at least 0) after it arrived
// (default 0); the fake's own work happens within d.
func WithLatency(d time.Duration) Option {
	return func(s *Server) error {
		if d < 0 {
			return fmt.Errorf("WithLatency: negative latency %v", d)
		}
		s.latency = d
		return nil
	}
}

// WithFailureRate makes a fraction p of data calls (Insert, Upsert, Delete,
// Query, Search) fail with a retriable rate-limit status; for writes, half
// of the failures happen after the write was applied (the reply is lost),
// as a real network fault can. p is in [0, 1] (default 0); seed makes the
// choice reproducible.
func WithFailureRate(p float64, seed uint64) Option {
	return func(s *Server) error {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("WithFailureRate: rate %v out of range [0, 1]", p)
		}
		s.failRate = p
		s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		return nil
	}
}

// WithFailAfter makes every data call after the first n (at least 0) fail
// with code (e.g. CodeServiceNotReady; not 0, which is success). Default:
// no such failures.
func WithFailAfter(n int, code int32) Option {
	return func(s *Server) error {
		if n < 0 || code == 0 {
			return fmt.Errorf("WithFailAfter: want n >= 0 and a non-zero code, got %d and %d", n, code)
		}
		s.failAfter, s.failCode = int64(n), code
		return nil
	}
}

// WithObserver calls fn with the method name and request of every call,
// before it is served (default none). fn must be safe for concurrent use.
func WithObserver(fn func(method string, req any)) Option {
	return func(s *Server) error {
		if fn == nil {
			return fmt.Errorf("WithObserver: nil function")
		}
		s.observer = fn
		return nil
	}
}

// WithToken requires every call to carry this token (what the SDK sends
// for Config.APIKey, or "user:password") and answers others with a
// not-authenticated status (default: no credentials needed).
func WithToken(token string) Option {
	return func(s *Server) error {
		if token == "" {
			return fmt.Errorf("WithToken: empty token")
		}
		s.token = token
		return nil
	}
}

// Start serves a new fake on 127.0.0.1 (a free port). Close it when done.
func Start(opts ...Option) (*Server, error) {
	s := &Server{colls: map[string]*collection{}, failAfter: -1, rng: rand.New(rand.NewPCG(1, 2))}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return nil, fmt.Errorf("milvustest: %w", err)
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("milvustest: listen: %w", err)
	}
	s.lis = lis
	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.intercept), grpc.StatsHandler(arrivals{}),
		grpc.MaxRecvMsgSize(256<<20), grpc.MaxSendMsgSize(256<<20))
	milvuspb.RegisterMilvusServiceServer(s.grpc, s)
	go func() { _ = s.grpc.Serve(lis) }()
	return s, nil
}

// Addr is the "127.0.0.1:port" address to give the client.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Close stops the server and releases every collection.
func (s *Server) Close() {
	s.grpc.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.colls {
		_ = c.rows.Close()
	}
	s.colls = map[string]*collection{}
}

// SetLatency changes the per-call latency.
func (s *Server) SetLatency(d time.Duration) {
	s.faultMu.Lock()
	s.latency = d
	s.faultMu.Unlock()
}

// SetFailureRate changes the fraction of data calls that fail transiently.
func (s *Server) SetFailureRate(p float64) {
	s.faultMu.Lock()
	s.failRate = p
	s.faultMu.Unlock()
}

// FailAfter makes every data call after n more fail with code; n < 0 turns
// it off.
func (s *Server) FailAfter(n int, code int32) {
	s.faultMu.Lock()
	if n < 0 {
		s.failAfter = -1
	} else {
		s.failAfter = s.dataCalls.Load() + int64(n)
	}
	s.failCode = code
	s.faultMu.Unlock()
}

// Calls returns how many calls of method (e.g. "Upsert") were received.
func (s *Server) Calls(method string) int {
	if v, ok := s.calls.Load(method); ok {
		return int(v.(*atomic.Int64).Load())
	}
	return 0
}

// Faults returns how many faults were injected.
func (s *Server) Faults() int { return int(s.faultsTotal.Load()) }

// Row is one stored row: the primary key, the vector, and the other fields
// (VarChar as string, JSON as its raw text, Int64, Bool, Double).
type Row struct {
	PK     string
	Vector []float32
	Fields map[string]any
}

// Rows returns every row of a collection, sorted by primary key.
func (s *Server) Rows(ctx context.Context, collection string) ([]Row, error) {
	s.mu.Lock()
	c := s.colls[collection]
	s.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("milvustest: no collection %q", collection)
	}
	var recs []index.Record
	for r, err := range c.rows.Scan(ctx, "", index.Filter{}) {
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	c.sortByPK(recs)
	out := make([]Row, len(recs))
	for i, r := range recs {
		fields := map[string]any(r.Metadata.Clone())
		delete(fields, c.pk)
		out[i] = Row{PK: c.pkOf(r), Vector: r.Vector, Fields: fields}
	}
	return out, nil
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:]
	v, _ := s.calls.LoadOrStore(method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	s.faultMu.Lock()
	lat, obs := s.latency, s.observer
	s.faultMu.Unlock()
	if obs != nil {
		obs(method, req)
	}
	arrived, ok := ctx.Value(arrivedKey{}).(time.Time)
	if !ok {
		arrived = time.Now()
	}
	resp, err := handler(ctx, req)
	// The call answers the latency after it arrived (before its request
	// was decoded): the fake's own work overlaps the wait, as a server's
	// does with the network's.
	if d := time.Until(arrived.Add(lat)); lat > 0 && d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return resp, err
}

// arrivals stamps each call with the time it arrived, before its request
// is decoded.
type arrivals struct{}

type arrivedKey struct{}

func (arrivals) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, arrivedKey{}, time.Now())
}
func (arrivals) HandleRPC(context.Context, stats.RPCStats) {}
func (arrivals) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (arrivals) HandleConn(context.Context, stats.ConnStats) {}

// fault decides whether a data call fails: before applying it, after, or
// not at all.
type fault struct {
	st    *commonpb.Status
	after bool
}

func (s *Server) dataFault(ctx context.Context, write bool) fault {
	if st := s.auth(ctx); st != nil {
		return fault{st: st}
	}
	n := s.dataCalls.Add(1)
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if s.failAfter >= 0 && n > s.failAfter {
		s.faultsTotal.Add(1)
		return fault{st: status(s.failCode, fmt.Sprintf("injected failure after %d calls", s.failAfter), false)}
	}
	if s.failRate > 0 && s.rng.Float64() < s.failRate {
		s.faultsTotal.Add(1)
		st := status(CodeRateLimit, "injected transient failure: rate limit exceeded", true)
		return fault{st: st, after: write && s.rng.IntN(2) == 0}
	}
	return fault{}
}

// lockCollection authenticates the call, locks the server and finds the
// collection called name. On success the server stays locked and the
// caller must unlock s.mu; on failure (not authenticated, no such
// collection) it returns the status to answer with, unlocked.
func (s *Server) lockCollection(ctx context.Context, name string) (*collection, *commonpb.Status) {
	if st := s.auth(ctx); st != nil {
		return nil, st
	}
	s.mu.Lock()
	c := s.colls[name]
	if c == nil {
		s.mu.Unlock()
		return nil, notFound(name)
	}
	return c, nil
}

// auth checks the call's token, when the server has one.
func (s *Server) auth(ctx context.Context) *commonpb.Status {
	if s.token == "" {
		return nil
	}
	if tokenFromContext(ctx) != s.token {
		return status(CodeNotAuthenticated, "not authenticated: missing or wrong token", false)
	}
	return nil
}

func ok() *commonpb.Status { return &commonpb.Status{ErrorCode: commonpb.ErrorCode_Success} }

func status(code int32, reason string, retriable bool) *commonpb.Status {
	legacy := commonpb.ErrorCode_UnexpectedError
	switch code {
	case CodeRateLimit:
		legacy = commonpb.ErrorCode_RateLimit
	case CodeCollectionNotFound:
		legacy = commonpb.ErrorCode_CollectionNotExists
	case CodeIndexNotFound:
		legacy = commonpb.ErrorCode_IndexNotExist
	case CodeParameterInvalid:
		legacy = commonpb.ErrorCode_IllegalArgument
	case CodeNotAuthenticated:
		legacy = commonpb.ErrorCode_PermissionDenied
	case CodeServiceNotReady:
		legacy = commonpb.ErrorCode_NotReadyServe
	}
	return &commonpb.Status{ErrorCode: legacy, Code: code, Reason: reason, Retriable: retriable}
}

func invalid(format string, args ...any) *commonpb.Status {
	return status(CodeParameterInvalid, "invalid parameter: "+fmt.Sprintf(format, args...), false)
}

func notFound(name string) *commonpb.Status {
	return status(CodeCollectionNotFound, fmt.Sprintf("collection not found[collection=%s]", name), false)
}

func (s *Server) coll(name string) *collection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.colls[name]
}

func now() uint64 { return uint64(time.Now().UnixMilli()) << 18 }

// Connect answers the SDK's handshake; without it the SDK disables JSON
// fields and partition keys.
func (s *Server) Connect(ctx context.Context, req *milvuspb.ConnectRequest) (*milvuspb.ConnectResponse, error) {
	if st := s.auth(ctx); st != nil {
		return &milvuspb.ConnectResponse{Status: st}, nil
	}
	return &milvuspb.ConnectResponse{Status: ok(), ServerInfo: &commonpb.ServerInfo{BuildTags: "v2.4.10-shoal-fake"}, Identifier: 1}, nil
}

// CreateCollection creates a collection from a marshalled schema.
func (s *Server) CreateCollection(ctx context.Context, req *milvuspb.CreateCollectionRequest) (*commonpb.Status, error) {
	if st := s.auth(ctx); st != nil {
		return st, nil
	}
	var sch schemapb.CollectionSchema
	if err := proto.Unmarshal(req.GetSchema(), &sch); err != nil {
		return invalid("schema: %v", err), nil
	}
	c := &collection{cacheVer: -1, schema: &sch, fields: map[string]field{}, kinds: map[string]FieldKind{}, consistency: req.GetConsistencyLevel(), shards: req.GetShardsNum(), partitions: []string{"_default"}}
	for _, f := range sch.GetFields() {
		if _, dup := c.fields[f.GetName()]; dup || f.GetName() == "" {
			return invalid("field name %q empty or repeated", f.GetName()), nil
		}
		kind := KindScalar
		switch f.GetDataType() {
		case schemapb.DataType_VarChar, schemapb.DataType_Int64, schemapb.DataType_Bool, schemapb.DataType_Double:
		case schemapb.DataType_JSON:
			kind = KindJSON
		case schemapb.DataType_FloatVector:
			if c.vec != "" {
				return invalid("the fake supports one vector field"), nil
			}
			dim, err := strconv.Atoi(kvGet(f.GetTypeParams(), "dim"))
			if err != nil || dim <= 0 || dim > 32768 {
				return invalid("field %q: bad dim", f.GetName()), nil
			}
			c.vec, c.dim = f.GetName(), dim
		default:
			return invalid("field %q: data type %v not supported by the fake", f.GetName(), f.GetDataType()), nil
		}
		if f.GetIsPrimaryKey() {
			if c.pk != "" || (f.GetDataType() != schemapb.DataType_VarChar && f.GetDataType() != schemapb.DataType_Int64) {
				return invalid("one primary key of type VarChar or Int64 is required"), nil
			}
			if f.GetAutoID() {
				return invalid("the fake does not generate IDs"), nil
			}
			c.pk = f.GetName()
		}
		c.fields[f.GetName()] = field{schema: f, kind: kind}
		if f.GetDataType() != schemapb.DataType_FloatVector {
			c.kinds[f.GetName()] = kind
		}
	}
	if c.pk == "" || c.vec == "" {
		return invalid("schema needs a primary key and a float vector field"), nil
	}
	rows, err := memory.New(memory.WithDimension(c.dim), memory.WithMetric(index.DotProduct))
	if err != nil {
		return status(65535, err.Error(), false), nil
	}
	c.rows = rows
	name := req.GetCollectionName()
	if sch.Name == "" {
		sch.Name = name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.colls[name]; exists {
		_ = rows.Close()
		return invalid("collection %s already exists", name), nil
	}
	s.nextID++
	c.id = s.nextID
	c.created = now()
	s.colls[name] = c
	return ok(), nil
}

func kvGet(kvs []*commonpb.KeyValuePair, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue()
		}
	}
	return ""
}

// HasCollection reports whether a collection exists.
func (s *Server) HasCollection(ctx context.Context, req *milvuspb.HasCollectionRequest) (*milvuspb.BoolResponse, error) {
	if st := s.auth(ctx); st != nil {
		return &milvuspb.BoolResponse{Status: st}, nil
	}
	return &milvuspb.BoolResponse{Status: ok(), Value: s.coll(req.GetCollectionName()) != nil}, nil
}

// DescribeCollection returns a collection's schema.
func (s *Server) DescribeCollection(ctx context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	if st := s.auth(ctx); st != nil {
		return &milvuspb.DescribeCollectionResponse{Status: st}, nil
	}
	c := s.coll(req.GetCollectionName())
	if c == nil {
		return &milvuspb.DescribeCollectionResponse{Status: notFound(req.GetCollectionName())}, nil
	}
	return &milvuspb.DescribeCollectionResponse{
		Status: ok(), Schema: c.schema, CollectionID: c.id, CollectionName: req.GetCollectionName(),
		ConsistencyLevel: c.consistency, ShardsNum: c.shards, CreatedTimestamp: c.created,
	}, nil
}

// DropCollection removes a collection and its rows.
func (s *Server) DropCollection(ctx context.Context, req *milvuspb.DropCollectionRequest) (*commonpb.Status, error) {
	if st := s.auth(ctx); st != nil {
		return st, nil
	}
	s.mu.Lock()
	c := s.colls[req.GetCollectionName()]
	delete(s.colls, req.GetCollectionName())
	s.mu.Unlock()
	if c != nil {
		_ = c.rows.Close()
	}
	return ok(), nil
}

// CreatePartition records a partition name (rows are not partitioned).
func (s *Server) CreatePartition(ctx context.Context, req *milvuspb.CreatePartitionRequest) (*commonpb.Status, error) {
	c, st := s.lockCollection(ctx, req.GetCollectionName())
	if st != nil {
		return st, nil
	}
	defer s.mu.Unlock()
	if !slices.Contains(c.partitions, req.GetPartitionName()) {
		c.partitions = append(c.partitions, req.GetPartitionName())
	}
	return ok(), nil
}

// HasPartition reports whether a partition exists.
func (s *Server) HasPartition(ctx context.Context, req *milvuspb.HasPartitionRequest) (*milvuspb.BoolResponse, error) {
	c, st := s.lockCollection(ctx, req.GetCollectionName())
	if st != nil {
		return &milvuspb.BoolResponse{Status: st}, nil
	}
	defer s.mu.Unlock()
	return &milvuspb.BoolResponse{Status: ok(), Value: slices.Contains(c.partitions, req.GetPartitionName())}, nil
}

// ShowPartitions lists partitions.
func (s *Server) ShowPartitions(ctx context.Context, req *milvuspb.ShowPartitionsRequest) (*milvuspb.ShowPartitionsResponse, error) {
	c, st := s.lockCollection(ctx, req.GetCollectionName())
	if st != nil {
		return &milvuspb.ShowPartitionsResponse{Status: st}, nil
	}
	defer s.mu.Unlock()
	ids := make([]int64, len(c.partitions))
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	return &milvuspb.ShowPartitionsResponse{Status: ok(), PartitionNames: slices.Clone(c.partitions), PartitionIDs: ids}, nil
}

// CreateIndex records the vector index (built at once).
func (s *Server) CreateIndex(ctx context.Context, req *milvuspb.CreateIndexRequest) (*commonpb.Status, error) {
	c, st := s.lockCollection(ctx, req.GetCollectionName())
	if st != nil {
		return st, nil
	}
	defer s.mu.Unlock()
	if req.GetFieldName() != c.vec {
		return invalid("the fake indexes only the vector field %q", c.vec), nil
	}
	params := req.GetExtraParams()
	switch kvGet(params, "metric_type") {
	case "COSINE", "IP", "L2":
	default:
		return invalid("metric_type %q", kvGet(params, "metric_type")), nil
	}
	switch it := kvGet(params, "index_type"); it {
	case "AUTOINDEX", "FLAT", "HNSW", "IVF_FLAT":
	default:
		return invalid("index_type %q", it), nil
	}
	if c.index != nil {
		return status(702, "at most one distinct index is allowed per field", false), nil
	}
	name := req.GetIndexName()
	if name == "" {
		name = req.GetFieldName()
	}
	c.index = &milvuspb.IndexDescription{IndexName: name, IndexID: c.id, Params: params, FieldName: c.vec, State: commonpb.IndexState_Finished}
	return ok(), nil
}

// DescribeIndex returns the vector index, or an index-not-found status.
func (s *Server) DescribeIndex(ctx context.Context, req *milvuspb.DescribeIndexRequest) (*milvuspb.DescribeIndexResponse, error) {
	c, st := s.lockCollection(ctx, req.GetCollectionName())
	if st != nil {
		return &milvuspb.DescribeIndexResponse{Status: st}, nil
	}
	defer s.mu.Unlock()
	if c.index == nil || (req.GetFieldName() != "" && req.GetFieldName() != c.vec) {
		return &milvuspb.DescribeIndexResponse{Status: status(CodeIndexNotFound, "index not found[collection="+req.GetCollectionName()+"]", false)}, nil
	}
	d := proto.Clone(c.index).(*milvuspb.IndexDescription)
	return &milvuspb.DescribeIndexResponse{Status: ok(), IndexDescriptions: []*milvuspb.IndexDescription{d}}, nil
}

// LoadCollection marks a collection loaded (it needs an index, as in Milvus).
func (s *Server) LoadCollection(ctx context.Context, req *milvuspb.LoadCollectionRequest) (*commonpb.Status, error) {
	c, st := s.lockCollection(ctx, req.GetCollectionName())
	if st != nil {
		return st, nil
	}
	defer s.mu.Unlock()
	if c.index == nil {
		return status(CodeIndexNotFound, "there is no vector index on field "+c.vec+", please create index firstly", false), nil
	}
	c.loaded = true
	return ok(), nil
}

// ReleaseCollection marks a collection not loaded.
func (s *Server) ReleaseCollection(ctx context.Context, req *milvuspb.ReleaseCollectionRequest) (*commonpb.Status, error) {
	if st := s.auth(ctx); st != nil {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.colls[req.GetCollectionName()]; c != nil {
		c.loaded = false
	}
	return ok(), nil
}

// GetLoadingProgress reports 100 for a loaded collection, 0 otherwise.
func (s *Server) GetLoadingProgress(ctx context.Context, req *milvuspb.GetLoadingProgressRequest) (*milvuspb.GetLoadingProgressResponse, error) {
	c, st := s.lockCollection(ctx, req.GetCollectionName())
	if st != nil {
		return &milvuspb.GetLoadingProgressResponse{Status: st}, nil
	}
	defer s.mu.Unlock()
	p := int64(0)
	if c.loaded {
		p = 100
	}
	return &milvuspb.GetLoadingProgressResponse{Status: ok(), Progress: p, RefreshProgress: p}, nil
}

// Flush is a no-op: writes are visible at once.
func (s *Server) Flush(ctx context.Context, req *milvuspb.FlushRequest) (*milvuspb.FlushResponse, error) {
	if st := s.auth(ctx); st != nil {
		return &milvuspb.FlushResponse{Status: st}, nil
	}
	return &milvuspb.FlushResponse{Status: ok()}, nil
}

// Insert writes rows; unlike Milvus, an existing primary key is replaced
// rather than duplicated.
func (s *Server) Insert(ctx context.Context, req *milvuspb.InsertRequest) (*milvuspb.MutationResult, error) {
	res := s.write(ctx, req.GetCollectionName(), req.GetFieldsData(), req.GetNumRows())
	res.InsertCnt = res.UpsertCnt
	res.UpsertCnt = 0
	return res, nil
}

// Upsert writes rows, replacing those with the same primary key.
func (s *Server) Upsert(ctx context.Context, req *milvuspb.UpsertRequest) (*milvuspb.MutationResult, error) {
	return s.write(ctx, req.GetCollectionName(), req.GetFieldsData(), req.GetNumRows()), nil
}

func (s *Server) write(ctx context.Context, name string, data []*schemapb.FieldData, numRows uint32) *milvuspb.MutationResult {
	f := s.dataFault(ctx, true)
	if f.st != nil && !f.after {
		return &milvuspb.MutationResult{Status: f.st}
	}
	c := s.coll(name)
	if c == nil {
		return &milvuspb.MutationResult{Status: notFound(name)}
	}
	recs, pks, st := c.decodeRows(data, int(numRows))
	if st != nil {
		return &milvuspb.MutationResult{Status: st}
	}
	if err := c.rows.Upsert(ctx, "", recs); err != nil {
		return &milvuspb.MutationResult{Status: invalid("%v", err)}
	}
	c.version.Add(1)
	if f.st != nil {
		return &milvuspb.MutationResult{Status: f.st}
	}
	return &milvuspb.MutationResult{Status: ok(), IDs: pks, UpsertCnt: int64(len(recs)), Timestamp: now()}
}

// decodeRows turns columns into memory records: ID = primary key, Vector,
// and the other fields as metadata (JSON as its raw text).
func (c *collection) decodeRows(data []*schemapb.FieldData, numRows int) ([]index.Record, *schemapb.IDs, *commonpb.Status) {
	cols := map[string]*schemapb.FieldData{}
	for _, fd := range data {
		if _, known := c.fields[fd.GetFieldName()]; !known {
			return nil, nil, invalid("unknown field %q", fd.GetFieldName())
		}
		cols[fd.GetFieldName()] = fd
	}
	for name := range c.fields {
		if cols[name] == nil {
			return nil, nil, invalid("field %q is missing", name)
		}
	}
	vec := cols[c.vec].GetVectors()
	if vec.GetDim() != int64(c.dim) {
		return nil, nil, invalid("the dimension of the vector field %q is %d, the collection's is %d", c.vec, vec.GetDim(), c.dim)
	}
	flat := vec.GetFloatVector().GetData()
	if numRows == 0 || len(flat) != numRows*c.dim {
		return nil, nil, invalid("vector field %q holds %d floats, want %d rows × %d", c.vec, len(flat), numRows, c.dim)
	}
	recs := make([]index.Record, numRows)
	seen := make(map[string]bool, numRows)
	var strIDs []string
	var intIDs []int64
	for i := range recs {
		recs[i].Vector = flat[i*c.dim : (i+1)*c.dim]
		recs[i].Metadata = index.Metadata{}
	}
	for name, fd := range cols {
		if name == c.vec {
			continue
		}
		f := c.fields[name]
		sc := fd.GetScalars()
		var vals []any
		switch f.schema.GetDataType() {
		case schemapb.DataType_VarChar:
			maxLen, _ := strconv.Atoi(kvGet(f.schema.GetTypeParams(), "max_length"))
			for _, v := range sc.GetStringData().GetData() {
				if maxLen > 0 && len(v) > maxLen {
					return nil, nil, invalid("field %q: length %d exceeds max_length %d", name, len(v), maxLen)
				}
				vals = append(vals, v)
			}
		case schemapb.DataType_JSON:
			for _, v := range sc.GetJsonData().GetData() {
				if !json.Valid(v) {
					return nil, nil, invalid("field %q: not valid JSON", name)
				}
				vals = append(vals, string(v))
			}
		case schemapb.DataType_Int64:
			for _, v := range sc.GetLongData().GetData() {
				vals = append(vals, v)
			}
		case schemapb.DataType_Bool:
			for _, v := range sc.GetBoolData().GetData() {
				vals = append(vals, v)
			}
		case schemapb.DataType_Double:
			for _, v := range sc.GetDoubleData().GetData() {
				vals = append(vals, v)
			}
		}
		if len(vals) != numRows {
			return nil, nil, invalid("field %q holds %d values, want %d", name, len(vals), numRows)
		}
		for i, v := range vals {
			if name == c.pk {
				id := fmt.Sprint(v)
				if seen[id] {
					return nil, nil, invalid("duplicate primary key %q in one request", id)
				}
				seen[id] = true
				recs[i].ID = memID(id)
				recs[i].Metadata[name] = v
				if s, ok := v.(string); ok {
					strIDs = append(strIDs, s)
				} else {
					intIDs = append(intIDs, v.(int64))
				}
				continue
			}
			recs[i].Metadata[name] = v
		}
	}
	ids := &schemapb.IDs{}
	if strIDs != nil {
		ids.IdField = &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: strIDs}}
	} else {
		ids.IdField = &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: intIDs}}
	}
	return recs, ids, nil
}

// evalRow is the row as the expression evaluator sees it.
func (c *collection) evalRow(r index.Record) map[string]any {
	row := make(map[string]any, len(r.Metadata))
	for k, v := range r.Metadata {
		if c.fields[k].kind == KindJSON {
			s, _ := v.(string)
			if d, err := DecodeJSON([]byte(s)); err == nil {
				v = d
			}
		}
		row[k] = v
	}
	return row
}

// cachedRow is a row with its evaluator view and primary key, in the
// collection's pk-ordered snapshot.
type cachedRow struct {
	rec  index.Record
	eval map[string]any
	pk   string
}

// snapshot returns every row ordered by primary key, rebuilt from the
// memory store when a write happened since the last one.
func (c *collection) snapshot(ctx context.Context) ([]cachedRow, error) {
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	v := c.version.Load()
	if c.cacheVer == v {
		return c.cache, nil
	}
	var rows []cachedRow
	for r, err := range c.rows.Scan(ctx, "", index.Filter{}) {
		if err != nil {
			return nil, err
		}
		rows = append(rows, cachedRow{rec: r, eval: c.evalRow(r), pk: c.pkOf(r)})
	}
	intPK := c.fields[c.pk].schema.GetDataType() == schemapb.DataType_Int64
	sort.Slice(rows, func(i, j int) bool {
		if intPK {
			return rows[i].rec.Metadata[c.pk].(int64) < rows[j].rec.Metadata[c.pk].(int64)
		}
		return rows[i].pk < rows[j].pk
	})
	c.cache, c.cacheVer = rows, v
	return rows, nil
}

// match returns the rows matching e, ordered by primary key, at most limit
// of them (0: all). When e requires "pk in [...]", only those keys are
// read; when it requires pk > "x" (the SDK's query iterator), the walk
// starts there.
func (c *collection) match(ctx context.Context, e Expr, limit int) ([]index.Record, error) {
	if keys := pkKeys(e, c.pk); keys != nil {
		cand, err := c.rows.Fetch(ctx, "", keys)
		if err != nil {
			return nil, err
		}
		out := cand[:0]
		for _, r := range cand {
			if e.Eval(c.evalRow(r)) {
				out = append(out, r)
			}
		}
		c.sortByPK(out)
		if limit > 0 && len(out) > limit {
			out = out[:limit]
		}
		return out, nil
	}
	rows, err := c.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	start := 0
	if lo, ok := pkLower(e, c.pk); ok && c.fields[c.pk].schema.GetDataType() == schemapb.DataType_VarChar {
		start = sort.Search(len(rows), func(i int) bool { return rows[i].pk > lo })
	}
	var out []index.Record
	for _, r := range rows[start:] {
		if e.Eval(r.eval) {
			out = append(out, r.rec)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// pkLower finds a required conjunct pk > "x".
func pkLower(e Expr, pk string) (string, bool) {
	switch x := e.(type) {
	case cmpExpr:
		if s, ok := x.lit.(string); ok && x.o.field == pk && x.o.key == nil && x.op == ">" {
			return s, true
		}
	case andExpr:
		if s, ok := pkLower(x.l, pk); ok {
			return s, true
		}
		return pkLower(x.r, pk)
	}
	return "", false
}

// pkOf returns a row's primary key as text.
func (c *collection) pkOf(r index.Record) string { return fmt.Sprint(r.Metadata[c.pk]) }

// sortByPK orders rows by primary key (numerically for Int64 keys).
func (c *collection) sortByPK(rows []index.Record) {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i].Metadata[c.pk], rows[j].Metadata[c.pk]
		if x, ok := a.(int64); ok {
			y, _ := b.(int64)
			return x < y
		}
		return fmt.Sprint(a) < fmt.Sprint(b)
	})
}

// memID is the memory store's ID of a primary key: its SHA-256, since keys
// may be longer than index.MaxIDLength. The key itself is kept in the row's
// metadata under the primary key's field name.
func memID(pk string) string {
	h := sha256.Sum256([]byte(pk))
	return hex.EncodeToString(h[:])
}

// pkKeys extracts the keys of a "pk in [...]" term the expression requires.
func pkKeys(e Expr, pk string) []string {
	switch x := e.(type) {
	case inExpr:
		if x.o.field == pk && x.o.key == nil {
			keys := make([]string, 0, len(x.lits))
			for _, l := range x.lits {
				keys = append(keys, memID(fmt.Sprint(l)))
			}
			return keys
		}
	case andExpr:
		if k := pkKeys(x.l, pk); k != nil {
			return k
		}
		return pkKeys(x.r, pk)
	}
	return nil
}

// Delete removes the rows matching the expression.
func (s *Server) Delete(ctx context.Context, req *milvuspb.DeleteRequest) (*milvuspb.MutationResult, error) {
	f := s.dataFault(ctx, true)
	if f.st != nil && !f.after {
		return &milvuspb.MutationResult{Status: f.st}, nil
	}
	c := s.coll(req.GetCollectionName())
	if c == nil {
		return &milvuspb.MutationResult{Status: notFound(req.GetCollectionName())}, nil
	}
	e, err := ParseExpr(req.GetExpr(), c.kinds)
	if err != nil || strings.TrimSpace(req.GetExpr()) == "" {
		return &milvuspb.MutationResult{Status: invalid("cannot parse expression %q: %v", req.GetExpr(), err)}, nil
	}
	rows, err := c.match(ctx, e, 0)
	if err != nil {
		return &milvuspb.MutationResult{Status: invalid("%v", err)}, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	if len(ids) > 0 {
		if err := c.rows.Delete(ctx, "", ids); err != nil {
			return &milvuspb.MutationResult{Status: invalid("%v", err)}, nil
		}
		c.version.Add(1)
	}
	if f.st != nil {
		return &milvuspb.MutationResult{Status: f.st}, nil
	}
	return &milvuspb.MutationResult{Status: ok(), DeleteCnt: int64(len(ids)), Timestamp: now()}, nil
}

// Query returns the rows matching the expression, by primary key order,
// with offset and limit.
func (s *Server) Query(ctx context.Context, req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	if f := s.dataFault(ctx, false); f.st != nil {
		return &milvuspb.QueryResults{Status: f.st}, nil
	}
	c := s.coll(req.GetCollectionName())
	if c == nil {
		return &milvuspb.QueryResults{Status: notFound(req.GetCollectionName())}, nil
	}
	if !c.loaded {
		return &milvuspb.QueryResults{Status: status(CodeCollectionNotLoad, "collection not loaded", false)}, nil
	}
	e, err := ParseExpr(req.GetExpr(), c.kinds)
	if err != nil {
		return &milvuspb.QueryResults{Status: invalid("cannot parse expression %q: %v", req.GetExpr(), err)}, nil
	}
	offset, _ := strconv.Atoi(kvGet(req.GetQueryParams(), "offset"))
	limit, _ := strconv.Atoi(kvGet(req.GetQueryParams(), "limit"))
	count := slices.Equal(req.GetOutputFields(), []string{"count(*)"})
	if strings.TrimSpace(req.GetExpr()) == "" && limit <= 0 && !count {
		return &milvuspb.QueryResults{Status: invalid("empty expression should be used with limit")}, nil
	}
	want := 0
	if limit > 0 && !count {
		want = offset + limit
	}
	rows, err := c.match(ctx, e, want)
	if err != nil {
		return &milvuspb.QueryResults{Status: invalid("%v", err)}, nil
	}
	if count {
		fd := &schemapb.FieldData{Type: schemapb.DataType_Int64, FieldName: "count(*)", Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{int64(len(rows))}}}}}}
		return &milvuspb.QueryResults{Status: ok(), FieldsData: []*schemapb.FieldData{fd}, CollectionName: req.GetCollectionName(), OutputFields: []string{"count(*)"}}, nil
	}
	rows = rows[min(offset, len(rows)):]
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	out, st := c.outputFields(req.GetOutputFields())
	if st != nil {
		return &milvuspb.QueryResults{Status: st}, nil
	}
	fds := c.fieldData(rows, out)
	return &milvuspb.QueryResults{Status: ok(), FieldsData: fds, CollectionName: req.GetCollectionName(), OutputFields: out}, nil
}

// outputFields validates the requested fields and adds the primary key.
func (c *collection) outputFields(req []string) ([]string, *commonpb.Status) {
	out := []string{c.pk}
	for _, f := range req {
		if _, ok := c.fields[f]; !ok {
			return nil, invalid("field %s not exist", f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

func (c *collection) fieldData(rows []index.Record, names []string) []*schemapb.FieldData {
	fds := make([]*schemapb.FieldData, 0, len(names))
	for _, name := range names {
		f := c.fields[name]
		fd := &schemapb.FieldData{Type: f.schema.GetDataType(), FieldName: name, FieldId: f.schema.GetFieldID()}
		switch {
		case name == c.vec:
			flat := make([]float32, 0, len(rows)*c.dim)
			for _, r := range rows {
				flat = append(flat, r.Vector...)
			}
			fd.Field = &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: int64(c.dim), Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: flat}}}}
		case name == c.pk && f.schema.GetDataType() == schemapb.DataType_VarChar:
			vals := make([]string, len(rows))
			for i, r := range rows {
				vals[i] = c.pkOf(r)
			}
			fd.Field = scalarStrings(vals)
		case name == c.pk:
			vals := make([]int64, len(rows))
			for i, r := range rows {
				vals[i], _ = r.Metadata[c.pk].(int64)
			}
			fd.Field = &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: vals}}}}
		default:
			switch f.schema.GetDataType() {
			case schemapb.DataType_VarChar:
				vals := make([]string, len(rows))
				for i, r := range rows {
					vals[i], _ = r.Metadata[name].(string)
				}
				fd.Field = scalarStrings(vals)
			case schemapb.DataType_JSON:
				vals := make([][]byte, len(rows))
				for i, r := range rows {
					s, _ := r.Metadata[name].(string)
					vals[i] = []byte(s)
				}
				fd.Field = &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_JsonData{JsonData: &schemapb.JSONArray{Data: vals}}}}
			case schemapb.DataType_Int64:
				vals := make([]int64, len(rows))
				for i, r := range rows {
					vals[i], _ = r.Metadata[name].(int64)
				}
				fd.Field = &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: vals}}}}
			case schemapb.DataType_Bool:
				vals := make([]bool, len(rows))
				for i, r := range rows {
					vals[i], _ = r.Metadata[name].(bool)
				}
				fd.Field = &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_BoolData{BoolData: &schemapb.BoolArray{Data: vals}}}}
			case schemapb.DataType_Double:
				vals := make([]float64, len(rows))
				for i, r := range rows {
					vals[i], _ = r.Metadata[name].(float64)
				}
				fd.Field = &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_DoubleData{DoubleData: &schemapb.DoubleArray{Data: vals}}}}
			}
		}
		fds = append(fds, fd)
	}
	return fds
}

func scalarStrings(vals []string) *schemapb.FieldData_Scalars {
	return &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: vals}}}}
}

// Search scores the rows matching the expression against each query
// vector: COSINE similarity, IP (dot product) or L2 (squared distance),
// best first (ties by primary key).
func (s *Server) Search(ctx context.Context, req *milvuspb.SearchRequest) (*milvuspb.SearchResults, error) {
	if f := s.dataFault(ctx, false); f.st != nil {
		return &milvuspb.SearchResults{Status: f.st}, nil
	}
	c := s.coll(req.GetCollectionName())
	if c == nil {
		return &milvuspb.SearchResults{Status: notFound(req.GetCollectionName())}, nil
	}
	s.mu.Lock()
	loaded, idx := c.loaded, c.index
	s.mu.Unlock()
	if !loaded || idx == nil {
		return &milvuspb.SearchResults{Status: status(CodeCollectionNotLoad, "collection not loaded", false)}, nil
	}
	params := req.GetSearchParams()
	if f := kvGet(params, "anns_field"); f != "" && f != c.vec {
		return &milvuspb.SearchResults{Status: invalid("anns_field %q is not the vector field", f)}, nil
	}
	metric := kvGet(idx.GetParams(), "metric_type")
	if m := kvGet(params, "metric_type"); m != "" && m != metric {
		return &milvuspb.SearchResults{Status: invalid("metric type not match: invalid parameter[expected=%s][actual=%s]", metric, m)}, nil
	}
	topK, err := strconv.Atoi(kvGet(params, "topk"))
	if err != nil || topK < 1 || topK > maxTopK {
		return &milvuspb.SearchResults{Status: invalid("topk %q out of range [1, %d]", kvGet(params, "topk"), maxTopK)}, nil
	}
	if st := checkSearchParams(kvGet(idx.GetParams(), "index_type"), kvGet(params, "params"), topK); st != nil {
		return &milvuspb.SearchResults{Status: st}, nil
	}
	offset, _ := strconv.Atoi(kvGet(params, "offset"))
	queries, st := decodePlaceholders(req.GetPlaceholderGroup(), c.dim)
	if st != nil {
		return &milvuspb.SearchResults{Status: st}, nil
	}
	e, err := ParseExpr(req.GetDsl(), c.kinds)
	if err != nil {
		return &milvuspb.SearchResults{Status: invalid("cannot parse expression %q: %v", req.GetDsl(), err)}, nil
	}
	rows, err := c.match(ctx, e, 0)
	if err != nil {
		return &milvuspb.SearchResults{Status: invalid("%v", err)}, nil
	}
	out, st := c.outputFields(req.GetOutputFields())
	if st != nil {
		return &milvuspb.SearchResults{Status: st}, nil
	}
	out = out[1:] // the primary key travels in Ids
	res := &schemapb.SearchResultData{NumQueries: int64(len(queries)), TopK: int64(topK), OutputFields: out}
	var ids []string
	var hits []index.Record
	for _, q := range queries {
		type scored struct {
			i     int
			score float32
		}
		sc := make([]scored, len(rows))
		qn := float32(vecmath.Norm(q))
		for i, r := range rows {
			var v float32
			switch metric {
			case "IP":
				v = vecmath.Dot(q, r.Vector)
			case "L2":
				v = vecmath.SquaredL2(q, r.Vector)
			default:
				d := qn * float32(vecmath.Norm(r.Vector))
				if d == 0 {
					v = 0
				} else {
					v = vecmath.Dot(q, r.Vector) / d
				}
			}
			sc[i] = scored{i, v}
		}
		sort.SliceStable(sc, func(a, b int) bool {
			if metric == "L2" {
				return sc[a].score < sc[b].score
			}
			return sc[a].score > sc[b].score
		})
		sc = sc[min(offset, len(sc)):]
		if len(sc) > topK {
			sc = sc[:topK]
		}
		res.Topks = append(res.Topks, int64(len(sc)))
		for _, x := range sc {
			res.Scores = append(res.Scores, x.score)
			ids = append(ids, c.pkOf(rows[x.i]))
			hits = append(hits, rows[x.i])
		}
	}
	res.Ids = &schemapb.IDs{IdField: &schemapb.IDs_StrId{StrId: &schemapb.StringArray{Data: ids}}}
	res.FieldsData = c.fieldData(hits, out)
	return &milvuspb.SearchResults{Status: ok(), Results: res, CollectionName: req.GetCollectionName()}, nil
}

// checkSearchParams enforces Milvus's rules for the index's search
// parameters: HNSW needs ef ≥ topk, IVF_FLAT needs nprobe ≥ 1.
func checkSearchParams(indexType, raw string, topK int) *commonpb.Status {
	var p map[string]any
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return invalid("search params %q: %v", raw, err)
		}
	}
	num := func(k string) (float64, bool) {
		v, ok := p[k].(float64)
		return v, ok
	}
	switch indexType {
	case "HNSW":
		ef, ok := num("ef")
		if !ok || ef < float64(topK) || ef > 32768 {
			return invalid("ef(%v) should be larger than k(%d) and at most 32768", p["ef"], topK)
		}
	case "IVF_FLAT":
		if np, ok := num("nprobe"); !ok || np < 1 || np > 65536 {
			return invalid("nprobe %v out of range [1, 65536]", p["nprobe"])
		}
	}
	return nil
}

// decodePlaceholders reads the query vectors (little-endian float32).
func decodePlaceholders(b []byte, dim int) ([][]float32, *commonpb.Status) {
	var pg commonpb.PlaceholderGroup
	if err := proto.Unmarshal(b, &pg); err != nil {
		return nil, invalid("placeholder group: %v", err)
	}
	if len(pg.GetPlaceholders()) != 1 {
		return nil, invalid("want one placeholder, got %d", len(pg.GetPlaceholders()))
	}
	ph := pg.GetPlaceholders()[0]
	if ph.GetType() != commonpb.PlaceholderType_FloatVector {
		return nil, invalid("placeholder type %v, want FloatVector", ph.GetType())
	}
	var out [][]float32
	for _, v := range ph.GetValues() {
		if len(v) != 4*dim {
			return nil, invalid("query vector of %d bytes, want dimension %d", len(v), dim)
		}
		q := make([]float32, dim)
		for i := range q {
			q[i] = math.Float32frombits(binary.LittleEndian.Uint32(v[4*i:]))
		}
		out = append(out, q)
	}
	if len(out) == 0 {
		return nil, invalid("no query vectors")
	}
	return out, nil
}
