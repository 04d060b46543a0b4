package milvus

import (
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/shoalhq/shoal/index"
)

// Consistency is the consistency level of the Store's reads.
type Consistency int

// The consistency levels Milvus offers.
const (
	// Strong reads see every write acknowledged before the read started
	// (the default: curation workflows read right after they write, and
	// weaker levels return deleted records for a while).
	Strong Consistency = iota
	// Bounded reads may miss writes of the last few seconds.
	Bounded
	// Session reads see the writes of this client.
	Session
	// Eventually reads may miss any recent write; the fastest.
	Eventually
)

// String returns the level's name.
func (c Consistency) String() string {
	switch c {
	case Strong:
		return "strong"
	case Bounded:
		return "bounded"
	case Session:
		return "session"
	case Eventually:
		return "eventually"
	}
	return fmt.Sprintf("Consistency(%d)", int(c))
}

// IndexType names a vector index type.
type IndexType string

// The vector index types the Store can create.
const (
	// AutoIndex lets Milvus choose (the default).
	AutoIndex IndexType = "AUTOINDEX"
	// HNSW is a graph index; tune it with IndexSpec.M, EfConstruction and Ef.
	HNSW IndexType = "HNSW"
	// IVFFlat is an inverted-file index; tune it with IndexSpec.NList and NProbe.
	IVFFlat IndexType = "IVF_FLAT"
)

// IndexSpec describes the vector index the Store creates on a new
// collection. Zero fields take the documented defaults.
type IndexSpec struct {
	// Type is the index type (default AutoIndex).
	Type IndexType
	// M is HNSW's maximum degree (default 16, range 4..64).
	M int
	// EfConstruction is HNSW's build-time candidate list (default 200,
	// range 8..512).
	EfConstruction int
	// Ef is HNSW's search-time candidate list (default 64, range 1..32768;
	// raised to TopK when smaller, as Milvus requires).
	Ef int
	// NList is IVF_FLAT's number of clusters (default 128, range 1..65536).
	NList int
	// NProbe is IVF_FLAT's clusters searched per query (default 16).
	NProbe int
}

func (s IndexSpec) withDefaults() (IndexSpec, error) {
	if s.Type == "" {
		s.Type = AutoIndex
	}
	switch s.Type {
	case AutoIndex:
	case HNSW:
		s.M = defaultInt(s.M, 16)
		s.EfConstruction = defaultInt(s.EfConstruction, 200)
		s.Ef = defaultInt(s.Ef, 64)
		// The ranges the SDK's own constructors enforce
		// (milvus-sdk-go v2.4.2, entity/indexes_gen.go NewIndexHNSW and
		// entity/indexes_search_param_gen.go NewIndexHNSWSearchParam), which
		// Open and Query call: narrower than the server's (M 2..2048).
		switch {
		case s.M < 4 || s.M > 64:
			return s, fmt.Errorf("%w: WithIndex: HNSW M=%d out of range [4, 64]", index.ErrInvalidArgument, s.M)
		case s.EfConstruction < 8 || s.EfConstruction > 512:
			return s, fmt.Errorf("%w: WithIndex: HNSW EfConstruction=%d out of range [8, 512]", index.ErrInvalidArgument, s.EfConstruction)
		case s.Ef < 1 || s.Ef > 32768:
			return s, fmt.Errorf("%w: WithIndex: HNSW Ef=%d out of range [1, 32768]", index.ErrInvalidArgument, s.Ef)
		}
	case IVFFlat:
		s.NList = defaultInt(s.NList, 128)
		s.NProbe = defaultInt(s.NProbe, 16)
		if s.NList < 1 || s.NList > 65536 || s.NProbe < 1 || s.NProbe > s.NList {
			return s, fmt.Errorf("%w: IVF_FLAT parameters nlist=%d nprobe=%d out of range", index.ErrInvalidArgument, s.NList, s.NProbe)
		}
	default:
		return s, fmt.Errorf("%w: unsupported index type %q (want AUTOINDEX, HNSW or IVF_FLAT)", index.ErrInvalidArgument, s.Type)
	}
	return s, nil
}

func defaultInt(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

type config struct {
	dim          int
	metric       index.Metric
	metricSet    bool
	index        IndexSpec
	consistency  Consistency
	user, pass   string
	apiKey       string
	tls          bool
	dbName       string
	dialOpts     []grpc.DialOption
	maxRows      int
	maxBytes     int
	loadTimeout  time.Duration
	pollInterval time.Duration
	shards       int32
}

func defaultConfig() config {
	return config{
		metric:       index.Cosine,
		index:        IndexSpec{Type: AutoIndex},
		maxRows:      DefaultMaxRows,
		maxBytes:     DefaultMaxBytes,
		loadTimeout:  5 * time.Minute,
		pollInterval: 200 * time.Millisecond,
		shards:       1,
	}
}

// Default request limits.
const (
	// DefaultMaxRows is the most rows one upsert request carries.
	DefaultMaxRows = 1000
	// DefaultMaxBytes bounds the size of one upsert request (Milvus's
	// default gRPC limit is 64 MiB; a margin is left).
	DefaultMaxBytes = 16 << 20
	// idsPerRequest is the most IDs one fetch or delete expression lists.
	idsPerRequest = 1000
	// scanPageSize is the page size of Scan's query iterator.
	scanPageSize = 500
)

// Option configures [Open].
type Option func(*config) error

// WithDimension sets the vector length. Required to create a collection;
// when opening an existing one it is checked against the collection's
// (index.ErrDimension on a mismatch). Default: the existing collection's.
func WithDimension(n int) Option {
	return func(c *config) error {
		if n <= 0 || n > 32768 {
			return fmt.Errorf("%w: dimension %d out of range [1, 32768]", index.ErrInvalidArgument, n)
		}
		c.dim = n
		return nil
	}
}

// WithMetric sets the metric (default index.Cosine for a new collection;
// for an existing one, the metric of its index, which a given metric must
// match).
func WithMetric(m index.Metric) Option {
	return func(c *config) error {
		if !m.Valid() {
			return fmt.Errorf("%w: invalid metric %v", index.ErrInvalidArgument, m)
		}
		c.metric, c.metricSet = m, true
		return nil
	}
}

// WithIndex sets the vector index created on a new collection and its
// search parameters (default AUTOINDEX). On an existing collection the
// index is kept as it is; only the search parameters (Ef, NProbe) apply.
func WithIndex(spec IndexSpec) Option {
	return func(c *config) error {
		s, err := spec.withDefaults()
		if err != nil {
			return err
		}
		c.index = s
		return nil
	}
}

// WithConsistency sets the consistency level of new collections and of
// every read (default Strong).
func WithConsistency(level Consistency) Option {
	return func(c *config) error {
		if level < Strong || level > Eventually {
			return fmt.Errorf("%w: unknown consistency level %d", index.ErrInvalidArgument, int(level))
		}
		c.consistency = level
		return nil
	}
}

// WithCredentials authenticates with a Milvus user and password. They are
// sent to the server only and never appear in errors or logs.
func WithCredentials(user, password string) Option {
	return func(c *config) error {
		if user == "" {
			return fmt.Errorf("%w: empty user name", index.ErrInvalidArgument)
		}
		c.user, c.pass = user, password
		return nil
	}
}

// WithAPIKey authenticates with a token ("user:password" or a Zilliz Cloud
// API key). It never appears in errors or logs.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		if key == "" {
			return fmt.Errorf("%w: empty API key", index.ErrInvalidArgument)
		}
		c.apiKey = key
		return nil
	}
}

// WithTLS connects over TLS with the system's roots (default plaintext, as
// a self-hosted Milvus listens; an "https://" address implies TLS).
func WithTLS() Option {
	return func(c *config) error { c.tls = true; return nil }
}

// WithDatabase selects a database (default Milvus's "default").
func WithDatabase(name string) Option {
	return func(c *config) error { c.dbName = name; return nil }
}

// WithDialOptions adds gRPC dial options.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) error { c.dialOpts = append(c.dialOpts, opts...); return nil }
}

// WithRequestLimits sets the most rows (default DefaultMaxRows) and bytes
// (default DefaultMaxBytes) of one upsert request; Upsert splits larger
// calls.
func WithRequestLimits(rows, bytes int) Option {
	return func(c *config) error {
		if rows < 1 || bytes < 1024 {
			return fmt.Errorf("%w: request limits %d rows, %d bytes: want at least 1 row and 1024 bytes", index.ErrInvalidArgument, rows, bytes)
		}
		c.maxRows, c.maxBytes = rows, bytes
		return nil
	}
}

// WithLoadTimeout bounds the wait for the collection to load (default 5
// minutes), polling every interval (default 200 ms).
func WithLoadTimeout(timeout, interval time.Duration) Option {
	return func(c *config) error {
		if timeout <= 0 || interval <= 0 {
			return fmt.Errorf("%w: load timeout and interval must be positive", index.ErrInvalidArgument)
		}
		c.loadTimeout, c.pollInterval = timeout, interval
		return nil
	}
}

// WithShards sets the shard count of a new collection (default 1).
func WithShards(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 64 {
			return fmt.Errorf("%w: shards %d out of range [1, 64]", index.ErrInvalidArgument, n)
		}
		c.shards = int32(n)
		return nil
	}
}
