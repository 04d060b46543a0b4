package memory

import (
	"context"

	"github.com/shoalhq/shoal/index"
)

// QueryOption changes one call of [Store.QueryWith] or [Store.QueryBatch].
type QueryOption func(*queryConfig) error

// queryConfig is what the QueryOptions of one call set.
type queryConfig struct {
	exact    bool // scan every record even where a graph could answer
	efSearch int  // beam width of a graph search; 0 is the store's
}

func buildQueryConfig(opts []QueryOption) (queryConfig, error) {
	var c queryConfig
	for i, o := range opts {
		if o == nil {
			return c, invalid("memory query option %d is nil", i)
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithExact makes a query scan every record exactly, even where [WithHNSW]'s
// graph would answer it: the TopK records returned are then the true
// nearest. Without it (the default) a large namespace of a store with
// WithHNSW is searched approximately.
func WithExact() QueryOption {
	return func(c *queryConfig) error {
		c.exact = true
		return nil
	}
}

// WithEfSearch sets the beam width of this query's graph search, overriding
// the efSearch of [WithHNSW] (default [DefaultHNSWEfSearch]). A width smaller
// than the query's TopK is raised to TopK. It has no effect on a query that
// scans exactly. ef must be at least 1.
func WithEfSearch(ef int) QueryOption {
	return func(c *queryConfig) error {
		if ef < 1 {
			return invalid("memory.WithEfSearch(%d): want at least 1", ef)
		}
		c.efSearch = ef
		return nil
	}
}

// QueryWith is [Store.Query] with per-query options: [WithExact] to scan
// exactly, [WithEfSearch] to trade speed for recall in a graph search.
func (s *Store) QueryWith(ctx context.Context, q index.Query, opts ...QueryOption) ([]index.Match, error) {
	qc, err := buildQueryConfig(opts)
	if err != nil {
		return nil, err
	}
	return s.query(ctx, q, qc)
}
