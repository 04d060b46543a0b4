package milvus

import (
	"context"
	"errors"
	"fmt"
	"github.com/shoalhq/shoal/index/driver"
	"io"
	"iter"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milvus-io/milvus-sdk-go/v2/client"
	"github.com/milvus-io/milvus-sdk-go/v2/entity"
	"google.golang.org/grpc"

	"github.com/shoalhq/shoal/index"
)

// Store is an index.VectorStore on one Milvus collection. Namespaces map
// onto a partition-key field (see the package documentation). It is safe for
// concurrent use; Close releases the connection.
type Store struct {
	c          client.Client
	collection string
	dim        int
	metric     index.Metric
	indexType  IndexType
	cfg        config
	secrets    []string

	mu     sync.RWMutex
	closed bool
}

var (
	_ index.VectorStore = (*Store)(nil)
)

var collectionName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)

// Open connects to the Milvus server at addr ("host:port", or an
// "https://" URL for TLS) and opens the collection, creating it (with
// [WithDimension], required then) when it does not exist, creating its
// vector index when it has none, and loading it. An existing collection's
// schema is checked: a different dimension is reported with
// index.ErrDimension, a different metric (when [WithMetric] is given) or a
// schema Shoal did not create with index.ErrInvalidArgument. Give ctx a
// deadline: without one, Open waits at most 30 s to connect.
func Open(ctx context.Context, addr, collection string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("milvus: %w", err)
		}
	}
	if ctx == nil {
		return nil, fmt.Errorf("milvus: %w: nil context", index.ErrInvalidArgument)
	}
	if addr == "" {
		return nil, fmt.Errorf("milvus: %w: empty address", index.ErrInvalidArgument)
	}
	if !collectionName.MatchString(collection) {
		return nil, fmt.Errorf("milvus: %w: collection name %q: want a letter or '_' then letters, digits or '_' (at most 255)", index.ErrInvalidArgument, collection)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	dial := append([]grpc.DialOption{}, client.DefaultGrpcOpts...)
	dial = append(dial, grpc.WithChainUnaryInterceptor(statusInterceptor))
	dial = append(dial, cfg.dialOpts...)
	secrets := []string{cfg.pass, cfg.apiKey}
	c, err := client.NewClient(ctx, client.Config{
		Address:        addr,
		Username:       cfg.user,
		Password:       cfg.pass,
		APIKey:         cfg.apiKey,
		DBName:         cfg.dbName,
		EnableTLSAuth:  cfg.tls,
		DialOptions:    dial,
		RetryRateLimit: &client.RetryRateLimitOption{MaxRetry: 1, MaxBackoff: time.Millisecond},
	})
	if err != nil {
		return nil, mapError(ctx, "connect to "+addr, secrets, err)
	}
	s := &Store{c: c, collection: collection, cfg: cfg, secrets: secrets, metric: cfg.metric, dim: cfg.dim, indexType: cfg.index.Type}
	if err := s.setup(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) setup(ctx context.Context) error {
	has, err := s.c.HasCollection(ctx, s.collection)
	if err != nil {
		return mapError(ctx, "has collection "+s.collection, s.secrets, err)
	}
	if !has {
		if s.cfg.dim == 0 {
			return fmt.Errorf("milvus: collection %q: %w: it does not exist; give WithDimension to create it", s.collection, index.ErrNotFound)
		}
		if err := s.create(ctx); err != nil {
			return err
		}
	} else if err := s.checkSchema(ctx); err != nil {
		return err
	}
	if err := s.checkIndex(ctx); err != nil {
		return err
	}
	return s.load(ctx)
}

func (s *Store) create(ctx context.Context) error {
	schema := entity.NewSchema().WithName(s.collection).WithDescription("Shoal vector store").
		WithField(entity.NewField().WithName(fieldPK).WithDataType(entity.FieldTypeVarChar).WithIsPrimaryKey(true).WithMaxLength(maxVarChar)).
		WithField(entity.NewField().WithName(fieldNamespace).WithDataType(entity.FieldTypeVarChar).WithIsPartitionKey(true).WithMaxLength(maxVarChar)).
		WithField(entity.NewField().WithName(fieldID).WithDataType(entity.FieldTypeVarChar).WithMaxLength(maxVarChar)).
		WithField(entity.NewField().WithName(fieldVector).WithDataType(entity.FieldTypeFloatVector).WithDim(int64(s.cfg.dim))).
		WithField(entity.NewField().WithName(fieldMetadata).WithDataType(entity.FieldTypeJSON))
	err := s.c.CreateCollection(ctx, schema, s.cfg.shards, client.WithConsistencyLevel(consistencyLevel(s.cfg.consistency)))
	if err != nil {
		err = mapError(ctx, "create collection "+s.collection, s.secrets, err)
		// Another process may have created it meanwhile: check that one.
		if has, herr := s.c.HasCollection(ctx, s.collection); herr != nil || !has {
			return err
		}
		return s.checkSchema(ctx)
	}
	return nil
}

// checkSchema compares an existing collection with what the Store needs.
func (s *Store) checkSchema(ctx context.Context) error {
	coll, err := s.c.DescribeCollection(ctx, s.collection)
	if err != nil {
		return mapError(ctx, "describe collection "+s.collection, s.secrets, err)
	}
	fields := map[string]*entity.Field{}
	if coll.Schema != nil {
		for _, f := range coll.Schema.Fields {
			fields[f.Name] = f
		}
	}
	want := []struct {
		name string
		typ  entity.FieldType
	}{{fieldPK, entity.FieldTypeVarChar}, {fieldNamespace, entity.FieldTypeVarChar}, {fieldID, entity.FieldTypeVarChar}, {fieldVector, entity.FieldTypeFloatVector}, {fieldMetadata, entity.FieldTypeJSON}}
	for _, w := range want {
		f, ok := fields[w.name]
		if !ok || f.DataType != w.typ {
			return fmt.Errorf("milvus: collection %q: %w: schema mismatch: want a %s field %q (a collection Shoal created)", s.collection, index.ErrInvalidArgument, w.typ.Name(), w.name)
		}
	}
	if !fields[fieldPK].PrimaryKey {
		return fmt.Errorf("milvus: collection %q: %w: schema mismatch: field %q is not the primary key", s.collection, index.ErrInvalidArgument, fieldPK)
	}
	dim, err := strconv.Atoi(fields[fieldVector].TypeParams[entity.TypeParamDim])
	if err != nil || dim <= 0 {
		return fmt.Errorf("milvus: collection %q: %w: vector field has no valid dimension", s.collection, index.ErrInvalidArgument)
	}
	if s.cfg.dim != 0 && dim != s.cfg.dim {
		return fmt.Errorf("milvus: collection %q: %w: the collection's vectors have dimension %d, the store was opened with %d", s.collection, index.ErrDimension, dim, s.cfg.dim)
	}
	s.dim = dim
	return nil
}

// checkIndex creates the vector index when missing, or checks its metric.
func (s *Store) checkIndex(ctx context.Context) error {
	idxs, err := s.c.DescribeIndex(ctx, s.collection, fieldVector)
	if err != nil {
		err = mapError(ctx, "describe index of "+s.collection, s.secrets, err)
		if !errors.Is(err, index.ErrNotFound) {
			return err
		}
	}
	if len(idxs) == 0 {
		idx, err := s.newIndex()
		if err != nil {
			return err
		}
		if err := s.c.CreateIndex(ctx, s.collection, fieldVector, idx, false); err != nil {
			return mapError(ctx, "create index on "+s.collection, s.secrets, err)
		}
		return nil
	}
	params := idxs[0].Params()
	m, ok := metricFromMilvus(params["metric_type"])
	if !ok {
		return fmt.Errorf("milvus: collection %q: %w: index metric %q is not one Shoal supports (COSINE, IP, L2)", s.collection, index.ErrInvalidArgument, params["metric_type"])
	}
	if s.cfg.metricSet && m != s.cfg.metric {
		return fmt.Errorf("milvus: collection %q: %w: metric mismatch: the collection's index scores with %s (%v), the store was opened with %v", s.collection, index.ErrInvalidArgument, params["metric_type"], m, s.cfg.metric)
	}
	s.metric = m
	switch t := IndexType(params["index_type"]); t {
	case HNSW, IVFFlat:
		s.indexType = t
	default:
		s.indexType = AutoIndex
	}
	return nil
}

func (s *Store) newIndex() (entity.Index, error) {
	mt := metricToMilvus(s.metric)
	var idx entity.Index
	var err error
	switch s.cfg.index.Type {
	case HNSW:
		idx, err = entity.NewIndexHNSW(mt, s.cfg.index.M, s.cfg.index.EfConstruction)
	case IVFFlat:
		idx, err = entity.NewIndexIvfFlat(mt, s.cfg.index.NList)
	default:
		idx, err = entity.NewIndexAUTOINDEX(mt)
	}
	if err != nil {
		return nil, fmt.Errorf("milvus: %w: index: %v", index.ErrInvalidArgument, err)
	}
	return idx, nil
}

func (s *Store) load(ctx context.Context) error {
	if err := s.c.LoadCollection(ctx, s.collection, true); err != nil {
		return mapError(ctx, "load collection "+s.collection, s.secrets, err)
	}
	deadline := time.Now().Add(s.cfg.loadTimeout)
	for {
		p, err := s.c.GetLoadingProgress(ctx, s.collection, nil)
		if err != nil {
			return mapError(ctx, "loading progress of "+s.collection, s.secrets, err)
		}
		if p >= 100 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("milvus: collection %q: %w: loaded %d%% after %v", s.collection, index.ErrUnavailable, p, s.cfg.loadTimeout)
		}
		t := time.NewTimer(s.cfg.pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("milvus: loading collection %q: %w", s.collection, context.Cause(ctx))
		case <-t.C:
		}
	}
}

func metricToMilvus(m index.Metric) entity.MetricType {
	switch m {
	case index.DotProduct:
		return entity.IP
	case index.Euclidean:
		return entity.L2
	}
	return entity.COSINE
}

func metricFromMilvus(s string) (index.Metric, bool) {
	switch strings.ToUpper(s) {
	case "COSINE":
		return index.Cosine, true
	case "IP":
		return index.DotProduct, true
	case "L2":
		return index.Euclidean, true
	}
	return 0, false
}

func consistencyLevel(c Consistency) entity.ConsistencyLevel {
	switch c {
	case Bounded:
		return entity.ClBounded
	case Session:
		return entity.ClSession
	case Eventually:
		return entity.ClEventually
	}
	return entity.ClStrong
}

// Dimension returns the collection's vector length.
func (s *Store) Dimension() int { return s.dim }

// Metric returns the collection's metric.
func (s *Store) Metric() index.Metric { return s.metric }

// Collection returns the collection's name.
func (s *Store) Collection() string { return s.collection }

// Close closes the connection. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.c.Close(); err != nil {
		return mapError(context.Background(), "close", s.secrets, err)
	}
	return nil
}

// begin checks that the store is open, the context live and the namespace
// valid.
func (s *Store) begin(ctx context.Context, namespace string) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("milvus: %w", index.ErrClosed)
	}
	if err := driver.CheckCall(ctx, namespace); err != nil {
		return fmt.Errorf("milvus: %w", err)
	}
	return nil
}

func nsExpr(namespace string) string { return fieldNamespace + " == " + quote(namespace) }

func (s *Store) readOpts(extra ...client.SearchQueryOptionFunc) []client.SearchQueryOptionFunc {
	return append([]client.SearchQueryOptionFunc{client.WithSearchQueryConsistencyLevel(consistencyLevel(s.cfg.consistency))}, extra...)
}

// Upsert writes recs, in requests of at most the configured rows and
// bytes (see [WithRequestLimits]). Every record is checked before anything
// is sent: a bad ID, vector (wrong dimension; all zeros under cosine) or
// metadata fails the whole call with an *index.ItemError naming it.
// Requests are sent in order; when one fails, earlier ones stay written
// (upserts are idempotent, so retrying the call is safe).
func (s *Store) Upsert(ctx context.Context, namespace string, recs []index.Record) error {
	if err := s.begin(ctx, namespace); err != nil {
		return err
	}
	mds, err := driver.CheckUpsert(ctx, namespace, recs, s.dim) // after begin: only the records are left to check
	if err != nil {
		return fmt.Errorf("milvus: upsert: %w", err)
	}
	// All metadata JSON goes into one buffer, cut into one slice per record
	// once it is complete.
	var buf []byte
	ends := make([]int, len(recs))
	sizes := make([]int, len(recs))
	for i := range recs {
		r := &recs[i]
		if s.metric == index.Cosine && allZero(r.Vector) {
			return &index.ItemError{Index: i, ID: r.ID, Err: fmt.Errorf("%w: all elements are zero, which has no cosine", index.ErrInvalidVector)}
		}
		start := len(buf)
		if buf, err = appendMetadata(buf, mds[i]); err != nil {
			return &index.ItemError{Index: i, ID: r.ID, Err: err}
		}
		ends[i] = len(buf)
		sizes[i] = 2*len(r.ID) + 2*len(namespace) + 4*len(r.Vector) + (ends[i] - start) + 64
		if sizes[i] > s.cfg.maxBytes {
			return &index.ItemError{Index: i, ID: r.ID, Err: fmt.Errorf("%w: record of about %d bytes exceeds the %d-byte request limit", index.ErrInvalidArgument, sizes[i], s.cfg.maxBytes)}
		}
	}
	for start := 0; start < len(recs); {
		end, bytes := start, 0
		for end < len(recs) && end-start < s.cfg.maxRows && bytes+sizes[end] <= s.cfg.maxBytes {
			bytes += sizes[end]
			end++
		}
		n := end - start
		pks, nss, ids := make([]string, n), make([]string, n), make([]string, n)
		vecs, jsons := make([][]float32, n), make([][]byte, n)
		for i, r := range recs[start:end] {
			k, from := start+i, 0
			if k > 0 {
				from = ends[k-1]
			}
			pks[i], nss[i], ids[i], vecs[i] = primaryKey(namespace, r.ID), namespace, r.ID, r.Vector
			jsons[i] = buf[from:ends[k]:ends[k]]
		}
		_, err := s.c.Upsert(ctx, s.collection, "",
			entity.NewColumnVarChar(fieldPK, pks),
			entity.NewColumnVarChar(fieldNamespace, nss),
			entity.NewColumnVarChar(fieldID, ids),
			entity.NewColumnFloatVector(fieldVector, s.dim, vecs),
			entity.NewColumnJSONBytes(fieldMetadata, jsons))
		if err != nil {
			return mapError(ctx, fmt.Sprintf("upsert records %d..%d (ids %q..%q)", start, end-1, recs[start].ID, recs[end-1].ID), s.secrets, err)
		}
		start = end
	}
	return nil
}

// Query returns the TopK nearest records of the namespace that match the
// filter, with their metadata and, when asked, their vectors. Scores follow
// Shoal's convention: cosine similarity (Milvus COSINE), dot product
// (Milvus IP), or the negated squared Euclidean distance (Milvus L2 reports
// the squared distance; the Store negates it).
func (s *Store) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	if err := s.begin(ctx, q.Namespace); err != nil {
		return nil, err
	}
	if err := driver.ValidateQuery(q, s.dim); err != nil {
		return nil, fmt.Errorf("milvus: query: %w", err)
	}
	expr, err := s.expr(q.Namespace, q.Filter)
	if err != nil {
		return nil, fmt.Errorf("milvus: query: %w", err)
	}
	out := []string{fieldID, fieldMetadata}
	if q.IncludeVectors {
		out = append(out, fieldVector)
	}
	sp, err := s.searchParam(q.TopK)
	if err != nil {
		return nil, err
	}
	res, err := s.c.Search(ctx, s.collection, nil, expr, out, []entity.Vector{entity.FloatVector(q.Vector)}, fieldVector,
		metricToMilvus(s.metric), q.TopK, sp, s.readOpts()...)
	if err != nil {
		return nil, mapError(ctx, "query", s.secrets, err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	r := res[0]
	if r.Err != nil {
		return nil, mapError(ctx, "query", s.secrets, r.Err)
	}
	matches := make([]index.Match, 0, r.ResultCount)
	idCol, mdCol, vecCol := r.Fields.GetColumn(fieldID), r.Fields.GetColumn(fieldMetadata), r.Fields.GetColumn(fieldVector)
	for i := 0; i < r.ResultCount; i++ {
		rec, err := decodeRow(i, idCol, mdCol, vecCol)
		if err != nil {
			return nil, fmt.Errorf("milvus: query: %w", err)
		}
		score := r.Scores[i]
		if s.metric == index.Euclidean {
			score = -score
		}
		matches = append(matches, index.Match{ID: rec.ID, Score: score, Metadata: rec.Metadata, Vector: rec.Vector})
	}
	return matches, nil
}

func (s *Store) searchParam(topK int) (entity.SearchParam, error) {
	var sp entity.SearchParam
	var err error
	switch s.indexType {
	case HNSW:
		spec, _ := IndexSpec{Type: HNSW, M: s.cfg.index.M, EfConstruction: s.cfg.index.EfConstruction, Ef: s.cfg.index.Ef}.withDefaults()
		sp, err = entity.NewIndexHNSWSearchParam(max(spec.Ef, topK))
	case IVFFlat:
		spec, _ := IndexSpec{Type: IVFFlat, NList: s.cfg.index.NList, NProbe: s.cfg.index.NProbe}.withDefaults()
		sp, err = entity.NewIndexIvfFlatSearchParam(spec.NProbe)
	default:
		sp, err = entity.NewIndexAUTOINDEXSearchParam(1)
	}
	if err != nil {
		return nil, fmt.Errorf("milvus: %w: search parameters: %v", index.ErrInvalidArgument, err)
	}
	return sp, nil
}

// expr is the namespace restriction and the translated filter.
func (s *Store) expr(namespace string, f index.Filter) (string, error) {
	fe, err := TranslateFilter(f)
	if err != nil {
		return "", err
	}
	e := nsExpr(namespace)
	if fe != "" {
		e += " and " + fe
	}
	return e, nil
}

// decodeRow reads row i of the id, metadata and (optional) vector columns.
func decodeRow(i int, idCol, mdCol, vecCol entity.Column) (index.Record, error) {
	if idCol == nil {
		return index.Record{}, fmt.Errorf("%w: reply has no %q field", index.ErrCorrupt, fieldID)
	}
	id, err := idCol.GetAsString(i)
	if err != nil {
		return index.Record{}, fmt.Errorf("%w: row %d: id: %v", index.ErrCorrupt, i, err)
	}
	r := index.Record{ID: id}
	if mdCol != nil {
		raw, err := mdCol.Get(i)
		if err != nil {
			return r, fmt.Errorf("%w: record %q: metadata: %v", index.ErrCorrupt, id, err)
		}
		b, _ := raw.([]byte)
		if r.Metadata, err = decodeMetadata(b); err != nil {
			return r, fmt.Errorf("record %q: %w", id, err)
		}
	}
	if vc, ok := vecCol.(*entity.ColumnFloatVector); ok && vc != nil && i < vc.Len() {
		r.Vector = append([]float32(nil), vc.Data()[i]...)
	}
	return r, nil
}

func pkList(namespace string, ids []string) string {
	var b strings.Builder
	b.WriteString(fieldPK + " in [")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(primaryKey(namespace, id)))
	}
	b.WriteByte(']')
	return b.String()
}

// Fetch returns the records with the given IDs that exist, in the order of
// ids (each once), asking for at most 1000 per request. IDs that are not
// valid (driver.ValidateID) cannot exist and are skipped.
func (s *Store) Fetch(ctx context.Context, namespace string, ids []string) ([]index.Record, error) {
	if err := s.begin(ctx, namespace); err != nil {
		return nil, err
	}
	valid := make([]string, 0, len(ids))
	seenReq := make(map[string]bool, len(ids))
	for _, id := range ids {
		if driver.ValidateID(id) == nil && !seenReq[id] {
			seenReq[id] = true
			valid = append(valid, id)
		}
	}
	found := make(map[string]index.Record, len(valid))
	for start := 0; start < len(valid); start += idsPerRequest {
		chunk := valid[start:min(start+idsPerRequest, len(valid))]
		rs, err := s.c.Query(ctx, s.collection, nil, pkList(namespace, chunk), []string{fieldID, fieldVector, fieldMetadata}, s.readOpts()...)
		if err != nil {
			return nil, mapError(ctx, "fetch", s.secrets, err)
		}
		recs, err := decodeResultSet(rs)
		if err != nil {
			return nil, fmt.Errorf("milvus: fetch: %w", err)
		}
		for _, r := range recs {
			found[r.ID] = r
		}
	}
	out := make([]index.Record, 0, len(found))
	for _, id := range valid {
		if r, ok := found[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func decodeResultSet(rs client.ResultSet) ([]index.Record, error) {
	idCol, mdCol, vecCol := rs.GetColumn(fieldID), rs.GetColumn(fieldMetadata), rs.GetColumn(fieldVector)
	if idCol == nil {
		if rs.Len() == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: reply has no %q field", index.ErrCorrupt, fieldID)
	}
	out := make([]index.Record, idCol.Len())
	for i := range out {
		r, err := decodeRow(i, idCol, mdCol, vecCol)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// Delete removes the records with the given IDs (missing ones are not an
// error), at most 1000 per request. An invalid ID fails the call with an
// *index.ItemError before anything is deleted.
func (s *Store) Delete(ctx context.Context, namespace string, ids []string) error {
	if err := s.begin(ctx, namespace); err != nil {
		return err
	}
	for i, id := range ids {
		if err := driver.ValidateID(id); err != nil {
			return &index.ItemError{Index: i, ID: id, Err: err}
		}
	}
	for start := 0; start < len(ids); start += idsPerRequest {
		chunk := ids[start:min(start+idsPerRequest, len(ids))]
		if err := s.c.Delete(ctx, s.collection, "", pkList(namespace, chunk)); err != nil {
			return mapError(ctx, "delete", s.secrets, err)
		}
	}
	return nil
}

// Scan yields the namespace's records that match f (translated into the
// query expression and evaluated by Milvus), page by page with the SDK's
// query iterator, which walks the primary key in order. Its reads use the
// collection's consistency level. Records written during a scan may or may
// not be seen.
func (s *Store) Scan(ctx context.Context, namespace string, f index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		if err := s.begin(ctx, namespace); err != nil {
			yield(index.Record{}, err)
			return
		}
		expr, err := s.expr(namespace, f)
		if err != nil {
			yield(index.Record{}, fmt.Errorf("milvus: scan: %w", err))
			return
		}
		it, err := s.c.QueryIterator(ctx, client.NewQueryIteratorOption(s.collection).
			WithExpr(expr).WithOutputFields(fieldPK, fieldID, fieldVector, fieldMetadata).WithBatchSize(scanPageSize))
		if err != nil {
			yield(index.Record{}, mapError(ctx, "scan", s.secrets, err))
			return
		}
		for {
			if err := ctx.Err(); err != nil {
				yield(index.Record{}, context.Cause(ctx))
				return
			}
			rs, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(index.Record{}, mapError(ctx, "scan", s.secrets, err))
				return
			}
			recs, err := decodeResultSet(rs)
			if err != nil {
				yield(index.Record{}, fmt.Errorf("milvus: scan: %w", err))
				return
			}
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
