package pinecone

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"sync"
	"time"

	pc "github.com/pinecone-io/go-pinecone/v5/pinecone"
	"google.golang.org/grpc"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
)

// Pinecone's operation limits, which the Store honours by splitting
// requests (https://docs.pinecone.io/reference/api/database-limits/operation-limits;
// metadata: https://docs.pinecone.io/guides/data/understanding-metadata).
const (
	// MaxUpsertVectors is the most vectors one upsert request carries.
	MaxUpsertVectors = 1000
	// MaxUpsertBytes is the largest upsert request, measured as the
	// UpsertRequest message on the wire.
	MaxUpsertBytes = 2 << 20
	// MaxMetadataBytes is the largest metadata of one vector, as JSON.
	MaxMetadataBytes = 40 << 10
	// MaxIDsPerRequest is the most IDs one fetch or delete request carries.
	MaxIDsPerRequest = 1000
	// MaxTopK is the largest top_k of a query.
	MaxTopK = 10000
	// MaxQueryResponseBytes is the largest query result Pinecone returns
	// ("Max result size 4MB"); see [Store.Query] for how the Store stays
	// below it.
	MaxQueryResponseBytes = 4 << 20
	// listPageSize is the page size of the List calls behind Scan.
	listPageSize = 100
	// maxRecvBytes caps a data-plane response the client accepts.
	maxRecvBytes = 160 << 20
)

// Store is an index.VectorStore on one Pinecone index. Shoal namespaces are
// Pinecone namespaces (Shoal's "" is Pinecone's default namespace). It is
// safe for concurrent use; Close releases the connection.
type Store struct {
	client *pc.Client
	conn   *pc.IndexConnection
	name   string
	host   string
	dim    int
	metric index.Metric
	secret string

	mu     sync.RWMutex
	closed bool
}

var (
	_ index.VectorStore = (*Store)(nil)
	_ index.Namespacer  = (*Store)(nil)
	_ index.Counter     = (*Store)(nil)
)

// Spec says how to create an index that does not exist yet; pass it with
// [WithCreate]. Exactly one of Serverless and Pod is used (Serverless when
// both are set).
type Spec struct {
	// Dimension of the index's vectors (required, > 0).
	Dimension int
	// Metric the index scores with (default index.Cosine).
	Metric index.Metric
	// Serverless places the index in a cloud region, e.g. {"aws","us-east-1"}.
	Serverless *ServerlessSpec
	// Pod creates a pod-based index.
	Pod *PodSpec
}

// ServerlessSpec places a serverless index.
type ServerlessSpec struct {
	Cloud  string // "aws", "gcp" or "azure"
	Region string // e.g. "us-east-1"
}

// PodSpec sizes a pod-based index.
type PodSpec struct {
	Environment string // e.g. "us-east1-gcp"
	PodType     string // e.g. "p1.x1"
	Shards      int    // default 1
	Replicas    int    // default 1
}

type config struct {
	controller   string
	host         string
	create       *Spec
	readyTimeout time.Duration
	poll         time.Duration
	httpClient   *http.Client
	dialOpts     []grpc.DialOption
}

// Option configures [Open].
type Option func(*config) error

// WithControllerURL sets the control-plane URL (default Pinecone's
// https://api.pinecone.io). Tests point it at pineconetest.
func WithControllerURL(u string) Option {
	return func(c *config) error {
		if u == "" {
			return fmt.Errorf("%w: empty controller URL", index.ErrInvalidArgument)
		}
		c.controller = u
		return nil
	}
}

// WithHost connects to the index's data-plane host directly (as shown in
// the console), skipping the describe call; the dimension is then read
// from the index's statistics and the metric must be given with
// [WithMetric] (default index.Cosine).
func WithHost(host string) Option {
	return func(c *config) error {
		if host == "" {
			return fmt.Errorf("%w: empty host", index.ErrInvalidArgument)
		}
		c.host = host
		return nil
	}
}

// WithMetric declares the metric of an index opened with [WithHost].
func WithMetric(m index.Metric) Option {
	return func(c *config) error {
		if !m.Valid() {
			return fmt.Errorf("%w: invalid metric %v", index.ErrInvalidArgument, m)
		}
		if c.create == nil {
			c.create = &Spec{}
		}
		c.create.Metric = m
		return nil
	}
}

// WithCreate creates the index with spec when it does not exist, then waits
// until it is ready (see [WithReadyTimeout]). By default Open fails with
// index.ErrNotFound for a missing index.
func WithCreate(spec Spec) Option {
	return func(c *config) error {
		if spec.Dimension <= 0 {
			return fmt.Errorf("%w: create: dimension %d must be positive", index.ErrInvalidArgument, spec.Dimension)
		}
		if !spec.Metric.Valid() {
			return fmt.Errorf("%w: create: invalid metric %v", index.ErrInvalidArgument, spec.Metric)
		}
		if spec.Serverless == nil && spec.Pod == nil {
			return fmt.Errorf("%w: create: give a Serverless or a Pod spec", index.ErrInvalidArgument)
		}
		s := spec
		c.create = &s
		return nil
	}
}

// WithReadyTimeout bounds the wait for a created index to become ready
// (default 5 minutes), polling every interval (default 2 s).
func WithReadyTimeout(timeout, interval time.Duration) Option {
	return func(c *config) error {
		if timeout <= 0 || interval <= 0 {
			return fmt.Errorf("%w: ready timeout and interval must be positive", index.ErrInvalidArgument)
		}
		c.readyTimeout, c.poll = timeout, interval
		return nil
	}
}

// WithHTTPClient sets the control plane's HTTP client (default
// http.DefaultClient).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { c.httpClient = hc; return nil }
}

// WithDialOptions adds gRPC dial options for the data plane.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) error { c.dialOpts = append(c.dialOpts, opts...); return nil }
}

// Open connects to the Pinecone index called name with apiKey. The key is
// required (the PINECONE_API_KEY variable is not read here; pass
// os.Getenv("PINECONE_API_KEY") explicitly) and never appears in errors.
func Open(ctx context.Context, apiKey, name string, opts ...Option) (*Store, error) {
	if apiKey == "" {
		return nil, fmt.Errorf("pinecone: %w: empty API key", index.ErrUnauthenticated)
	}
	cfg := config{readyTimeout: 5 * time.Minute, poll: 2 * time.Second}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("pinecone: %w", err)
		}
	}
	if name == "" && cfg.host == "" {
		return nil, fmt.Errorf("pinecone: %w: give an index name or WithHost", index.ErrInvalidArgument)
	}
	client, err := pc.NewClient(pc.NewClientParams{ApiKey: apiKey, Host: cfg.controller, RestClient: cfg.httpClient, SourceTag: "shoal"})
	if err != nil {
		return nil, mapError(ctx, "new client", apiKey, err)
	}
	s := &Store{client: client, name: name, secret: apiKey}
	if cfg.host != "" {
		s.host = cfg.host
		if cfg.create != nil {
			s.metric = cfg.create.Metric
		}
	} else if err := s.describe(ctx, &cfg); err != nil {
		return nil, err
	}
	dial := append([]grpc.DialOption{
		grpc.WithChainUnaryInterceptor(trailerInterceptor),
		// A fetch of 1000 vectors of 20,000 dimensions with 40 KB of
		// metadata each is about 120 MB; gRPC's default cap is 4 MB.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvBytes)),
	}, cfg.dialOpts...)
	conn, err := client.Index(pc.NewIndexConnParams{Host: s.host}, dial...)
	if err != nil {
		return nil, mapError(ctx, "connect", apiKey, err)
	}
	s.conn = conn
	if cfg.host != "" {
		st, err := conn.DescribeIndexStats(ctx)
		if err != nil {
			_ = conn.Close()
			return nil, mapError(ctx, "describe index stats", apiKey, err)
		}
		if st.Dimension != nil {
			s.dim = int(*st.Dimension)
		}
	}
	return s, nil
}

func (s *Store) describe(ctx context.Context, cfg *config) error {
	idx, err := s.client.DescribeIndex(ctx, s.name)
	if err != nil {
		err = mapError(ctx, "describe index "+s.name, s.secret, err)
		if !errors.Is(err, index.ErrNotFound) || cfg.create == nil || cfg.create.Dimension == 0 {
			return err
		}
		if idx, err = s.createIndex(ctx, cfg.create); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(cfg.readyTimeout)
	for idx.Status == nil || !idx.Status.Ready {
		if time.Now().After(deadline) {
			return fmt.Errorf("pinecone: index %q: %w: not ready after %v", s.name, index.ErrUnavailable, cfg.readyTimeout)
		}
		t := time.NewTimer(cfg.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pinecone: waiting for index %q: %w", s.name, context.Cause(ctx))
		case <-t.C:
		}
		if idx, err = s.client.DescribeIndex(ctx, s.name); err != nil {
			return mapError(ctx, "describe index "+s.name, s.secret, err)
		}
	}
	m, err := index.ParseMetric(string(idx.Metric))
	if err != nil {
		return fmt.Errorf("pinecone: index %q: %w", s.name, err)
	}
	if idx.Dimension == nil || *idx.Dimension <= 0 {
		return fmt.Errorf("pinecone: index %q: %w: not a dense index with a dimension", s.name, index.ErrInvalidArgument)
	}
	s.metric, s.dim, s.host = m, int(*idx.Dimension), idx.Host
	return nil
}

func (s *Store) createIndex(ctx context.Context, sp *Spec) (*pc.Index, error) {
	metric := map[index.Metric]pc.IndexMetric{index.Cosine: pc.Cosine, index.DotProduct: pc.Dotproduct, index.Euclidean: pc.Euclidean}[sp.Metric]
	dim := int32(sp.Dimension)
	var idx *pc.Index
	var err error
	if sp.Serverless != nil {
		idx, err = s.client.CreateServerlessIndex(ctx, &pc.CreateServerlessIndexRequest{
			Name: s.name, Cloud: pc.Cloud(sp.Serverless.Cloud), Region: sp.Serverless.Region, Metric: &metric, Dimension: &dim,
		})
	} else {
		shards, replicas := int32(max(sp.Pod.Shards, 1)), int32(max(sp.Pod.Replicas, 1))
		idx, err = s.client.CreatePodIndex(ctx, &pc.CreatePodIndexRequest{
			Name: s.name, Dimension: dim, Environment: sp.Pod.Environment, PodType: sp.Pod.PodType, Shards: shards, Replicas: replicas, Metric: &metric,
		})
	}
	if err != nil {
		return nil, mapError(ctx, "create index "+s.name, s.secret, err)
	}
	return idx, nil
}

// Dimension returns the index's vector length.
func (s *Store) Dimension() int { return s.dim }

// Metric returns the index's metric.
func (s *Store) Metric() index.Metric { return s.metric }

// Close closes the data-plane connection. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.conn.Close(); err != nil {
		return mapError(context.Background(), "close", s.secret, err)
	}
	return nil
}

// ns returns a connection for namespace, or ErrClosed.
func (s *Store) ns(namespace string) (*pc.IndexConnection, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("pinecone: %w", index.ErrClosed)
	}
	return s.conn.WithNamespace(namespace), nil
}

// Upsert writes recs, splitting them into requests of at most
// MaxUpsertVectors vectors and MaxUpsertBytes bytes, each record counted at
// its exact size on the wire (its Vector message as the client encodes
// it). Every record is checked before anything is sent: a bad ID, vector or
// metadata (over MaxMetadataBytes as JSON, or an integer beyond ±2^53)
// fails the whole call with an *index.ItemError naming the record. Requests
// are sent in order; when one fails, earlier ones stay written (upserts are
// idempotent, so retrying the call is safe).
func (s *Store) Upsert(ctx context.Context, namespace string, recs []index.Record) error {
	conn, err := s.ns(namespace)
	if err != nil {
		return err
	}
	// Check everything first: nothing is sent if one record is bad.
	mds, err := driver.CheckUpsert(ctx, namespace, recs, s.dim)
	if err != nil {
		return fmt.Errorf("pinecone: upsert: %w", err)
	}
	framing := upsertFraming(namespace)
	vecs := make([]*pc.Vector, len(recs))
	sizes := make([]int, len(recs))
	for i, md := range mds {
		r := &recs[i]
		if err := s.checkRecord(r, md); err != nil {
			return fmt.Errorf("pinecone: upsert: %w", &index.ItemError{Index: i, ID: r.ID, Err: err})
		}
		st, err := toStruct(md)
		if err != nil {
			return fmt.Errorf("pinecone: upsert: %w", &index.ItemError{Index: i, ID: r.ID, Err: err})
		}
		vecs[i] = &pc.Vector{Id: r.ID, Values: &r.Vector, Metadata: st}
		sizes[i] = vectorEntrySize(r.ID, len(r.Vector), st)
		if framing+sizes[i] > MaxUpsertBytes {
			return fmt.Errorf("pinecone: upsert: %w", &index.ItemError{Index: i, ID: r.ID,
				Err: fmt.Errorf("%w: record of %d bytes on the wire exceeds Pinecone's %d-byte request limit", index.ErrInvalidArgument, sizes[i], MaxUpsertBytes)})
		}
	}
	for start := 0; start < len(vecs); {
		end, bytes := start, framing
		for end < len(vecs) && end-start < MaxUpsertVectors && bytes+sizes[end] <= MaxUpsertBytes {
			bytes += sizes[end]
			end++
		}
		if _, err := conn.UpsertVectors(ctx, vecs[start:end]); err != nil {
			return mapError(ctx, fmt.Sprintf("upsert records %d..%d (ids %q..%q)", start, end-1, vecs[start].Id, vecs[end-1].Id), s.secret, err)
		}
		start = end
	}
	return nil
}

// checkRecord applies Pinecone's own rules to a record that passed Shoal's
// checks: metadata at most MaxMetadataBytes as JSON, and no all-zero
// vector in a cosine index.
func (s *Store) checkRecord(r *index.Record, md index.Metadata) error {
	// A string's JSON is at most six bytes per byte (\u00XX): below an
	// eighth of the limit by Size, the exact JSON size need not be computed.
	if md.Size() > MaxMetadataBytes/8 {
		if n := metadataJSONSize(md); n > MaxMetadataBytes {
			return fmt.Errorf("%w: %d bytes as JSON, more than Pinecone's %d per vector", index.ErrInvalidMetadata, n, MaxMetadataBytes)
		}
	}
	if s.metric == index.Cosine && allZero(r.Vector) {
		return fmt.Errorf("%w: all elements are zero, which has no cosine (Pinecone rejects it)", index.ErrInvalidVector)
	}
	return nil
}

// Query returns the TopK (≤ MaxTopK) nearest records, best first, with
// their metadata and, when asked, their vectors, in the order Pinecone
// ranks them. Scores follow Shoal's convention: cosine similarity, dot
// product, or the negated squared Euclidean distance (Pinecone reports the
// squared distance; the Store negates it).
//
// Pinecone fails a query whose result exceeds MaxQueryResponseBytes. When
// TopK matches at Pinecone's largest record (a 512-byte ID, 40 KB of
// metadata and, when asked, the vector) could exceed it — TopK above about
// 30 — the Store asks for IDs and scores only and then fetches the
// matches' metadata and vectors, at most MaxIDsPerRequest IDs per request.
// A match deleted between the two steps is left out. The ID-only answer
// still counts: with IDs averaging over about 400 bytes, a TopK of 10,000
// can exceed the limit on its own, and Pinecone then refuses the query.
func (s *Store) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	conn, err := s.ns(q.Namespace)
	if err != nil {
		return nil, err
	}
	if err := driver.CheckQuery(ctx, q, s.dim); err != nil {
		return nil, fmt.Errorf("pinecone: query: %w", err)
	}
	if q.TopK > MaxTopK {
		return nil, fmt.Errorf("pinecone: query: %w: top_k %d exceeds Pinecone's %d", index.ErrInvalidArgument, q.TopK, MaxTopK)
	}
	filter, err := translateFilter(q.Filter)
	if err != nil {
		return nil, fmt.Errorf("pinecone: query: %w", err)
	}
	whole := q.TopK <= s.wholeMatches(q.IncludeVectors)
	res, err := conn.QueryByVectorValues(ctx, &pc.QueryByVectorValuesRequest{
		Vector: q.Vector, TopK: uint32(q.TopK), MetadataFilter: filter,
		IncludeValues: whole && q.IncludeVectors, IncludeMetadata: whole,
	})
	if err != nil {
		return nil, mapError(ctx, "query", s.secret, err)
	}
	out := make([]index.Match, 0, len(res.Matches))
	for _, m := range res.Matches {
		if m == nil || m.Vector == nil {
			continue
		}
		md, err := fromPineconeMetadata(m.Vector.Metadata)
		if err != nil {
			return nil, fmt.Errorf("pinecone: query: match %q: %w", m.Vector.Id, err)
		}
		match := index.Match{ID: m.Vector.Id, Score: s.score(m.Score), Metadata: md}
		if q.IncludeVectors && m.Vector.Values != nil {
			match.Vector = *m.Vector.Values
		}
		out = append(out, match)
	}
	if whole {
		return out, nil
	}
	return s.fillMatches(ctx, q.Namespace, out, q.IncludeVectors)
}

// Bounds of one query match on the wire (a ScoredVector in
// QueryResponse.matches), from Pinecone's limits: metadata of at most
// MaxMetadataBytes as JSON takes at most 16 wire bytes per 5 JSON bytes (a
// one-letter key holding a number, `"a":1`, is a 16-byte map entry), so
// 3.2 × 40 KB = 128 KB; an ID of at most index.MaxIDLength bytes; the rest
// (tags, lengths, the score) under 32 bytes.
const (
	maxMatchMetadataBytes = MaxMetadataBytes * 16 / 5
	matchOverheadBytes    = 32
)

// wholeMatches is the largest TopK whose matches, metadata (and vectors
// when withVectors) included, stay within MaxQueryResponseBytes whatever
// the index holds.
func (s *Store) wholeMatches(withVectors bool) int {
	per := matchOverheadBytes + index.MaxIDLength + maxMatchMetadataBytes
	if withVectors {
		per += 4*s.dim + 8
	}
	return MaxQueryResponseBytes / per
}

// fillMatches fetches the metadata (and the vectors, when withVectors) of
// matches, keeping their order; matches whose record no longer exists are
// dropped.
func (s *Store) fillMatches(ctx context.Context, namespace string, matches []index.Match, withVectors bool) ([]index.Match, error) {
	ids := make([]string, len(matches))
	for i, m := range matches {
		ids[i] = m.ID
	}
	recs, err := s.Fetch(ctx, namespace, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]index.Record, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
	}
	out := matches[:0]
	for _, m := range matches {
		r, ok := byID[m.ID]
		if !ok {
			continue
		}
		m.Metadata = r.Metadata
		if withVectors {
			m.Vector = r.Vector
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Store) score(x float32) float32 {
	if s.metric == index.Euclidean {
		return -x
	}
	return x
}

// Fetch returns the records with the given IDs that exist, in the order of
// ids (each once), asking for at most MaxIDsPerRequest per request. IDs
// that are not valid (driver.ValidateID) cannot exist and are skipped.
// Numbers in metadata come back as float64.
func (s *Store) Fetch(ctx context.Context, namespace string, ids []string) ([]index.Record, error) {
	conn, err := s.ns(namespace)
	if err != nil {
		return nil, err
	}
	if err := driver.CheckCall(ctx, namespace); err != nil {
		return nil, fmt.Errorf("pinecone: fetch: %w", err)
	}
	// An invalid ID cannot name a stored record: it is skipped, not sent.
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if driver.ValidateID(id) == nil {
			valid = append(valid, id)
		}
	}
	found := make(map[string]index.Record, len(valid))
	for start := 0; start < len(valid); start += MaxIDsPerRequest {
		chunk := valid[start:min(start+MaxIDsPerRequest, len(valid))]
		res, err := conn.FetchVectors(ctx, chunk)
		if err != nil {
			return nil, mapError(ctx, "fetch", s.secret, err)
		}
		for id, v := range res.Vectors {
			if v == nil {
				continue
			}
			r, err := toRecord(id, v)
			if err != nil {
				return nil, fmt.Errorf("pinecone: fetch: %w", err)
			}
			found[id] = r
		}
	}
	out := make([]index.Record, 0, len(found))
	seen := make(map[string]bool, len(found))
	for _, id := range ids {
		if r, ok := found[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, r)
		}
	}
	return out, nil
}

func toRecord(id string, v *pc.Vector) (index.Record, error) {
	md, err := fromPineconeMetadata(v.Metadata)
	if err != nil {
		return index.Record{}, fmt.Errorf("record %q: %w", id, err)
	}
	r := index.Record{ID: id, Metadata: md}
	if v.Values != nil {
		r.Vector = *v.Values
	}
	return r, nil
}

// Delete removes the records with the given IDs (missing ones are not an
// error), at most MaxIDsPerRequest per request.
func (s *Store) Delete(ctx context.Context, namespace string, ids []string) error {
	conn, err := s.ns(namespace)
	if err != nil {
		return err
	}
	if err := driver.CheckCall(ctx, namespace); err != nil {
		return fmt.Errorf("pinecone: delete: %w", err)
	}
	for i, id := range ids {
		if err := driver.ValidateID(id); err != nil {
			return &index.ItemError{Index: i, ID: id, Err: err}
		}
	}
	for start := 0; start < len(ids); start += MaxIDsPerRequest {
		chunk := ids[start:min(start+MaxIDsPerRequest, len(ids))]
		if err := conn.DeleteVectorsById(ctx, chunk); err != nil {
			return mapError(ctx, "delete", s.secret, err)
		}
	}
	return nil
}

// Scan lists the namespace's IDs page by page (serverless indexes), fetches
// each page and yields the records that match f (evaluated with
// index.Filter.Match on the fetched metadata). Records written during a scan
// may or may not be seen.
func (s *Store) Scan(ctx context.Context, namespace string, f index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		conn, err := s.ns(namespace)
		if err != nil {
			yield(index.Record{}, err)
			return
		}
		if err := driver.CheckCall(ctx, namespace); err != nil {
			yield(index.Record{}, fmt.Errorf("pinecone: scan: %w", err))
			return
		}
		if err := f.Validate(); err != nil {
			yield(index.Record{}, fmt.Errorf("pinecone: scan: %w", err))
			return
		}
		var token *string
		limit := uint32(listPageSize)
		for {
			if err := ctx.Err(); err != nil {
				yield(index.Record{}, context.Cause(ctx))
				return
			}
			page, err := conn.ListVectors(ctx, &pc.ListVectorsRequest{Limit: &limit, PaginationToken: token})
			if err != nil {
				yield(index.Record{}, mapError(ctx, "scan: list", s.secret, err))
				return
			}
			ids := make([]string, 0, len(page.VectorIds))
			for _, id := range page.VectorIds {
				if id != nil {
					ids = append(ids, *id)
				}
			}
			if len(ids) > 0 {
				recs, err := s.Fetch(ctx, namespace, ids)
				if err != nil {
					yield(index.Record{}, err)
					return
				}
				for _, r := range recs {
					if f.Match(r.Metadata) && !yield(r, nil) {
						return
					}
				}
			}
			if page.NextPaginationToken == nil || *page.NextPaginationToken == "" || len(ids) == 0 {
				return
			}
			token = page.NextPaginationToken
		}
	}
}

// Namespaces returns the index's non-empty namespaces ("" for Pinecone's
// default namespace), sorted.
func (s *Store) Namespaces(ctx context.Context) ([]string, error) {
	st, err := s.stats(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for name, ns := range st.Namespaces {
		if ns == nil || ns.VectorCount == 0 {
			continue
		}
		if name == "__default__" {
			name = ""
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// Count returns the number of records in namespace, from the index's
// statistics (on Pinecone these lag writes by a little).
func (s *Store) Count(ctx context.Context, namespace string) (int, error) {
	st, err := s.stats(ctx)
	if err != nil {
		return 0, err
	}
	name := namespace
	if name == "" {
		name = "__default__"
	}
	if ns := st.Namespaces[name]; ns != nil {
		return int(ns.VectorCount), nil
	}
	if namespace == "" {
		if ns := st.Namespaces[""]; ns != nil {
			return int(ns.VectorCount), nil
		}
	}
	return 0, nil
}

func (s *Store) stats(ctx context.Context) (*pc.DescribeIndexStatsResponse, error) {
	conn, err := s.ns("")
	if err != nil {
		return nil, err
	}
	if err := driver.CheckCall(ctx, ""); err != nil {
		return nil, fmt.Errorf("pinecone: describe index stats: %w", err)
	}
	st, err := conn.DescribeIndexStats(ctx)
	if err != nil {
		return nil, mapError(ctx, "describe index stats", s.secret, err)
	}
	return st, nil
}

func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
