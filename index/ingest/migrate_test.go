package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/ingest"
)

// crashStore fails its n-th call (counting Upsert, Fetch, Delete, Scan and
// Query alike, from 1) and every later one with a permanent error, as a
// process that dies at that point leaves the store as it was after call
// n-1. n == 0 never fails.
type crashStore struct {
	index.VectorStore
	n     int64
	calls atomic.Int64
	first atomic.Value // the operation of call n, "Upsert AliasNamespace"
}

var errCrash = errors.New("injected crash")

func (s *crashStore) fail(op, ns string) error {
	c := s.calls.Add(1)
	if c == s.n {
		s.first.Store(op + " " + ns)
	}
	if s.n > 0 && c >= s.n {
		return fmt.Errorf("call %d: %w", c, errCrash)
	}
	return nil
}

func (s *crashStore) Upsert(ctx context.Context, ns string, recs []index.Record) error {
	if err := s.fail("Upsert", ns); err != nil {
		return err
	}
	return s.VectorStore.Upsert(ctx, ns, recs)
}

func (s *crashStore) Fetch(ctx context.Context, ns string, ids []string) ([]index.Record, error) {
	if err := s.fail("Fetch", ns); err != nil {
		return nil, err
	}
	return s.VectorStore.Fetch(ctx, ns, ids)
}

func (s *crashStore) Delete(ctx context.Context, ns string, ids []string) error {
	if err := s.fail("Delete", ns); err != nil {
		return err
	}
	return s.VectorStore.Delete(ctx, ns, ids)
}

func (s *crashStore) Query(ctx context.Context, q index.Query) ([]index.Match, error) {
	if err := s.fail("Query", q.Namespace); err != nil {
		return nil, err
	}
	return s.VectorStore.Query(ctx, q)
}

func (s *crashStore) Scan(ctx context.Context, ns string, f index.Filter) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		if err := s.fail("Scan", ns); err != nil {
			yield(index.Record{}, err)
			return
		}
		for r, err := range s.VectorStore.Scan(ctx, ns, f) {
			if !yield(r, err) {
				return
			}
		}
	}
}

// requireServes checks what a reader sees: alias resolves to a namespace
// holding exactly src, all of one model (one of encs), answering queries.
func requireServes(t *testing.T, s index.VectorStore, alias string, src []embedding.Input, encs ...*fakeEncoder) string {
	t.Helper()
	ctx := context.Background()
	target, err := ingest.Resolve(ctx, s, alias)
	require.NoError(t, err)
	recs, err := s.Fetch(ctx, target, []string{src[0].ID})
	require.NoError(t, err)
	require.Len(t, recs, 1, "namespace %q", target)
	var enc *fakeEncoder
	for _, e := range encs {
		if recs[0].Metadata[ingest.KeyModel] == e.model {
			enc = e
		}
	}
	require.NotNil(t, enc, "model %v of namespace %q", recs[0].Metadata[ingest.KeyModel], target)
	requireStoreHolds(t, s, target, enc, src)
	m, err := s.Query(ctx, index.Query{Namespace: target, Vector: vectorOf(enc.model, src[3].Text, enc.dim), TopK: 1})
	require.NoError(t, err)
	require.Len(t, m, 1)
	assert.Equal(t, src[3].ID, m[0].ID)
	return target
}

func TestMigrateSwitchesAliasAndKeepsOld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v1, v2 := newEncoder(8), &fakeEncoder{model: "fake/enc v2", dim: 8}
	src := items(300, "v1")
	_, err := ingest.Run(ctx, v1, s, ns, embedding.Inputs(src), ingest.WithBatchSize(50))
	require.NoError(t, err)
	// "pool" is a plain namespace: it resolves to itself.
	assert.Equal(t, ns, requireServes(t, s, ns, src, v1))

	sum, err := ingest.Migrate(ctx, v2, s, ns, embedding.Inputs(src), ingest.WithBatchSize(50))
	require.NoError(t, err)
	assert.Equal(t, ns, sum.From)
	assert.Equal(t, v2.Info().Namespace(), sum.To)
	assert.Equal(t, 300, sum.SourceIDs)
	assert.Equal(t, 300, sum.Count)
	assert.Equal(t, 300, sum.Run.Encoded)
	assert.True(t, sum.Switched)
	assert.Zero(t, sum.Deleted)
	assert.Equal(t, sum.To, requireServes(t, s, ns, src, v2))
	a, ok, err := ingest.LookupAlias(ctx, s, ns)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ingest.Alias{Name: ns, Namespace: sum.To, Model: v2.model, Previous: ns, Updated: a.Updated}, a)
	n, err := index.Count(ctx, s, ns)
	require.NoError(t, err)
	assert.Equal(t, 300, n, "the old namespace stays without WithDeleteOld")

	// Roll back: without the alias, "pool" is the old namespace again.
	require.NoError(t, ingest.DeleteAlias(ctx, s, ns))
	assert.Equal(t, ns, requireServes(t, s, ns, src, v1))
	// And forward again by hand.
	require.NoError(t, ingest.SetAlias(ctx, s, ns, sum.To))
	assert.Equal(t, sum.To, requireServes(t, s, ns, src, v2))
}

// A crash at every store call of a migration (Run, check, switch, delete)
// leaves readers a complete namespace of one model; running Migrate again
// converges to the new namespace alone.
func TestMigrateCrashAtEveryStepConverges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v1, v2 := newEncoder(8), &fakeEncoder{model: "fake/enc v2", dim: 8}
	src := items(120, "v1")
	opts := []ingest.Option{ingest.WithBatchSize(40), ingest.WithConcurrency(1), ingest.WithRetry(1, 0, 0), ingest.WithDeleteOld()}
	setup := func(t *testing.T, n int64) *crashStore {
		base := newStore(t)
		_, err := ingest.Run(ctx, v1, base, ns, embedding.Inputs(src), ingest.WithBatchSize(40))
		require.NoError(t, err)
		// Start from an earlier migration: the alias exists already.
		_, err = ingest.Migrate(ctx, v1, base, "live", embedding.Inputs(src), ingest.WithNewNamespace("v1"))
		require.NoError(t, err)
		return &crashStore{VectorStore: base, n: n}
	}
	// A clean migration's calls bound the sweep.
	clean := setup(t, 0)
	_, err := ingest.Migrate(ctx, v2, clean, "live", embedding.Inputs(src), opts...)
	require.NoError(t, err)
	total := clean.calls.Load()
	require.Greater(t, total, int64(10))
	var mu sync.Mutex
	crashedAt := map[string]bool{}
	for n := int64(1); n <= total; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := setup(t, n)
			_, err := ingest.Migrate(ctx, v2, s, "live", embedding.Inputs(src), opts...)
			require.ErrorIs(t, err, errCrash)
			mu.Lock()
			crashedAt[s.first.Load().(string)] = true
			mu.Unlock()
			s.n = 0 // the process restarts
			requireServes(t, s, "live", src, v1, v2)
			sum, err := ingest.Migrate(ctx, v2, s, "live", embedding.Inputs(src), opts...)
			require.NoError(t, err)
			assert.Equal(t, v2.Info().Namespace(), requireServes(t, s, "live", src, v2))
			a, _, err := ingest.LookupAlias(ctx, s, "live")
			require.NoError(t, err)
			assert.Equal(t, "v1", a.Previous)
			assert.Equal(t, sum.To, a.Namespace)
			left, err := index.Count(ctx, s, "v1")
			require.NoError(t, err)
			assert.Zero(t, left, "old namespace deleted")
		})
	}
	// Every step was hit: Run's writes, the switch, the deletion.
	for _, op := range []string{"Upsert " + v2.Info().Namespace(), "Upsert " + ingest.AliasNamespace, "Delete v1", "Scan v1"} {
		assert.True(t, crashedAt[op], "crashed at %s (%v)", op, crashedAt)
	}
}

// Migrate switches only to a namespace that holds the whole source.
func TestMigrateRefusesIncompleteNamespace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v1, v2 := newEncoder(8), &fakeEncoder{model: "fake/enc v2", dim: 8}
	src := items(100, "v1")
	tests := []struct {
		name    string
		prepare func(t *testing.T, s index.VectorStore) []embedding.Input // returns the migration's source
		opts    []ingest.Option
		wantErr string
	}{
		{name: "dead letter", wantErr: `1 items failed (first "item-000007"`,
			prepare: func(t *testing.T, s index.VectorStore) []embedding.Input {
				bad := append([]embedding.Input(nil), src...)
				bad[7].Text = "bad: over the limit"
				return bad
			}},
		{name: "record not in the source", wantErr: "holds 101 records, the source 100 distinct IDs (records of items no longer in the source? WithRemoveMissing",
			prepare: func(t *testing.T, s index.VectorStore) []embedding.Input {
				_, err := ingest.Run(ctx, v2, s, v2.Info().Namespace(), embedding.Inputs(items(101, "v1")))
				require.NoError(t, err)
				return src
			}},
		{name: "record not in the source, removed", opts: []ingest.Option{ingest.WithRemoveMissing()},
			prepare: func(t *testing.T, s index.VectorStore) []embedding.Input {
				_, err := ingest.Run(ctx, v2, s, v2.Info().Namespace(), embedding.Inputs(items(101, "v1")))
				require.NoError(t, err)
				return src
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			_, err := ingest.Run(ctx, v1, s, ns, embedding.Inputs(src))
			require.NoError(t, err)
			sum, err := ingest.Migrate(ctx, v2, s, ns, embedding.Inputs(tt.prepare(t, s)), append(tt.opts, ingest.WithDeleteOld())...)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, sum.To, requireServes(t, s, ns, src, v2))
				return
			}
			require.ErrorIs(t, err, ingest.ErrVerify)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Contains(t, err.Error(), `alias "pool" still names "pool"`)
			assert.False(t, sum.Switched)
			assert.Equal(t, ns, requireServes(t, s, ns, src, v1))
		})
	}
}

func TestAliasArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v1, v2 := newEncoder(8), &fakeEncoder{model: "fake/enc v2", dim: 8}
	src := items(10, "v1")
	for _, n := range []string{"a", "b"} {
		_, err := ingest.Run(ctx, v1, s, n, embedding.Inputs(src))
		require.NoError(t, err)
	}
	require.NoError(t, ingest.SetAlias(ctx, s, "live", "a"))
	require.NoError(t, ingest.SetAlias(ctx, s, "also", "a"))
	tests := []struct {
		name string
		call func() error
		want error
		msg  string
	}{
		{"itself", func() error { return ingest.SetAlias(ctx, s, "a", "a") }, ingest.ErrAlias, `alias "a" cannot name itself`},
		{"reserved name", func() error { return ingest.SetAlias(ctx, s, ingest.AliasNamespace, "a") }, ingest.ErrAlias, "reserved"},
		{"reserved target", func() error { return ingest.SetAlias(ctx, s, "x", ingest.AliasNamespace) }, ingest.ErrAlias, "reserved"},
		{"empty name", func() error { return ingest.SetAlias(ctx, s, "", "a") }, index.ErrInvalidID, "alias name: invalid"},
		{"empty target", func() error { return ingest.SetAlias(ctx, s, "x", "nothing") }, ingest.ErrAlias, `namespace "nothing" holds no records`},
		{"chain", func() error { return ingest.SetAlias(ctx, s, "x", "live") }, ingest.ErrAlias, `"live" is itself an alias`},
		{"nil store", func() error { return ingest.SetAlias(ctx, nil, "x", "a") }, ingest.ErrInvalidOption, "nil store"},
		{"Run refuses WithDeleteOld", func() error {
			_, err := ingest.Run(ctx, v1, s, "a", embedding.Inputs(src), ingest.WithDeleteOld())
			return err
		}, ingest.ErrInvalidOption, "WithDeleteOld applies to Migrate, not Run"},
		{"Run refuses WithNewNamespace", func() error {
			_, err := ingest.Run(ctx, v1, s, "a", embedding.Inputs(src), ingest.WithNewNamespace("n"))
			return err
		}, ingest.ErrInvalidOption, "WithNewNamespace applies to Migrate, not Run"},
		{"new namespace reserved", func() error {
			_, err := ingest.Migrate(ctx, v2, s, "live", embedding.Inputs(src), ingest.WithNewNamespace(ingest.AliasNamespace))
			return err
		}, ingest.ErrInvalidOption, "WithNewNamespace"},
		{"new namespace is the alias", func() error {
			_, err := ingest.Migrate(ctx, v2, s, "live", embedding.Inputs(src), ingest.WithNewNamespace("live"))
			return err
		}, ingest.ErrAlias, "pick another with WithNewNamespace"},
		{"new namespace is an alias", func() error {
			_, err := ingest.Migrate(ctx, v2, s, "live", embedding.Inputs(src), ingest.WithNewNamespace("also"))
			return err
		}, ingest.ErrAlias, `new namespace "also" is the name of an alias`},
		{"another alias names the old namespace", func() error {
			_, err := ingest.Migrate(ctx, v2, s, "live", embedding.Inputs(src), ingest.WithDeleteOld())
			return err
		}, ingest.ErrAlias, `not deleting namespace "a": alias "also" still names it`},
		{"old model into its namespace", func() error {
			_, err := ingest.Migrate(ctx, v2, s, "live", embedding.Inputs(src), ingest.WithNewNamespace("b"))
			return err
		}, ingest.ErrModelMismatch, `namespace "b" holds vectors of model "fake/enc v1"`},
	}
	for _, tt := range tests {
		err := tt.call()
		require.ErrorIs(t, err, tt.want, tt.name)
		assert.Contains(t, err.Error(), tt.msg, tt.name)
		assert.Equal(t, 1, strings.Count(err.Error(), "ingest:"), "%s: %v", tt.name, err)
	}
	// The refused deletion came after the switch: "live" names the new
	// namespace, "also" the old one, which is whole.
	got, err := ingest.Resolve(ctx, s, "live")
	require.NoError(t, err)
	assert.Equal(t, v2.Info().Namespace(), got)
	requireServes(t, s, "also", src, v1)
	for name, want := range map[string]string{"": "", "a": "a", "nothing": "nothing", ingest.AliasNamespace: ingest.AliasNamespace} {
		got, err := ingest.Resolve(ctx, s, name)
		require.NoError(t, err)
		assert.Equal(t, want, got, "Resolve(%q)", name)
	}
}

// In a store that fixes the dimension per namespace, the new model may
// have another dimension: the alias records keep their own.
func TestMigrateToAnotherDimension(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	v1, v2 := newEncoder(8), &fakeEncoder{model: "fake/enc v2", dim: 16}
	src := items(50, "v1")
	_, err := ingest.Migrate(ctx, v1, s, "live", embedding.Inputs(src))
	require.NoError(t, err)
	sum, err := ingest.Migrate(ctx, v2, s, "live", embedding.Inputs(src), ingest.WithDeleteOld())
	require.NoError(t, err)
	assert.Equal(t, 50, sum.Deleted)
	assert.Equal(t, sum.To, requireServes(t, s, "live", src, v2))
}
