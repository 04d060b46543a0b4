package indextest

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

// Config describes the store a case needs. The factory given to [Run] must
// return a store that scores with Metric; a store whose dimension is fixed
// at creation (rather than by the first Upsert into a namespace) must be
// created with Dim.
type Config struct {
	// Dim is the length of every vector the case writes into the store,
	// except those that test dimension errors.
	Dim int
	// Metric is the metric the store scores with.
	Metric index.Metric
}

// Option configures [Run].
type Option func(*runConfig) error

type runConfig struct {
	approximate bool
	target      float64 // recall@10 the Recall case demands; 1 for exact stores
	recallSize  int     // records the Recall case writes per metric
}

// Default sizes of the Recall case, in records written per metric: for an
// approximate store (see [WithRecall]), a set large enough for a graph to
// miss neighbours; for an exact store, a smaller one, enough to prove recall
// 1 through deletes and moves and quick through a store's fake server.
const (
	DefaultRecallSize      = 3000
	DefaultExactRecallSize = 500
)

// The Recall case's held-out queries, and the k of its recall@k.
const (
	recallQueries = 100
	recallK       = 10
)

// WithRecall declares the store approximate: its unfiltered queries may miss
// some of the true nearest records, and the suite checks their recall@10
// instead of exact rankings where the namespace is large (the cases Recall,
// QueryMatchesBruteForce and LargeBatch), demanding a mean recall of at least
// target, in (0, 1]. Everything else stays exact: the scores of the matches
// returned, filtered queries, deletes (no deleted record is ever returned),
// Fetch, Scan, validation, and the rankings on the small namespaces of the
// other cases. Without WithRecall the store is exact and every recall must be
// 1.
func WithRecall(target float64) Option {
	return func(c *runConfig) error {
		if !(target > 0 && target <= 1) {
			return fmt.Errorf("indextest.WithRecall: target %v, want a recall in (0, 1]", target)
		}
		c.approximate, c.target = true, target
		return nil
	}
}

// WithRecallSize sets how many records the Recall case writes into a
// namespace under each metric (at least 100; default [DefaultRecallSize],
// 3,000, with [WithRecall], else [DefaultExactRecallSize], 500), for a
// store whose writes or queries are too slow for the default, or an
// approximate store that should be measured on more. It queries 100
// held-out vectors whatever the size.
func WithRecallSize(n int) Option {
	return func(c *runConfig) error {
		if n < 100 {
			return fmt.Errorf("indextest.WithRecallSize(%d): want at least 100 records", n)
		}
		c.recallSize = n
		return nil
	}
}

func newRunConfig(opts []Option) (runConfig, error) {
	rc := runConfig{target: 1}
	for i, o := range opts {
		if o == nil {
			return rc, fmt.Errorf("indextest.Run: option %d is nil", i)
		}
		if err := o(&rc); err != nil {
			return rc, err
		}
	}
	if rc.recallSize == 0 {
		rc.recallSize = DefaultExactRecallSize
		if rc.approximate {
			rc.recallSize = DefaultRecallSize
		}
	}
	return rc, nil
}

// Run runs the conformance suite against the stores newStore makes. Each case
// is a parallel subtest of the subtest "indextest" and gets its own store from
// newStore, which registers its own cleanup with t.Cleanup (the suite closes
// the store too, so Close must be idempotent) and fails t if it cannot make
// one. newStore is called from parallel subtests, so it must be safe for
// concurrent use. Run returns when every case has finished. By default the
// suite expects an exact store; see [WithRecall] for approximate ones.
func Run(t *testing.T, newStore func(t *testing.T, cfg Config) index.VectorStore, opts ...Option) {
	t.Helper()
	if newStore == nil {
		t.Fatal("indextest: newStore is nil")
	}
	rc, err := newRunConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{newStore: newStore, token: runToken(), runConfig: rc}
	t.Run("indextest", func(t *testing.T) {
		for _, c := range cases() {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				c.run(t, &harness{suite: s, name: c.name})
			})
		}
	})
}

// CaseNames returns the names of the suite's cases, in the order Run starts
// them, for selecting some with -run.
func CaseNames() []string {
	cs := cases()
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	return names
}

type testCase struct {
	name string
	run  func(t *testing.T, h *harness)
}

type suite struct {
	runConfig
	newStore func(t *testing.T, cfg Config) index.VectorStore
	token    string // unique to this Run, so that namespaces never collide
}

func runToken() string {
	var b [4]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// harness gives a case its stores and namespaces.
type harness struct {
	*suite
	name string
}

// Default configuration of the cases that do not need a particular one.
const defaultDim = 8

func defaultConfig() Config { return Config{Dim: defaultDim, Metric: index.DotProduct} }

// store returns a new store for cfg, closed when the test ends.
func (h *harness) store(t *testing.T, cfg Config) index.VectorStore {
	t.Helper()
	s := h.newStore(t, cfg)
	require.NotNil(t, s, "newStore returned nil")
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close at the end of the case (Close must be idempotent): %v", err)
		}
	})
	return s
}

// ns returns a namespace unique to the case and the run; parts tell several
// namespaces of one case apart.
func (h *harness) ns(parts ...string) string {
	var b strings.Builder
	b.WriteString("it")
	b.WriteString(h.token)
	b.WriteByte('_')
	b.WriteString(snake(h.name))
	for _, p := range parts {
		b.WriteByte('_')
		b.WriteString(snake(p))
	}
	return b.String()
}

// snake turns "QueryTopK" into "query_top_k".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r - 'A' + 'a')
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// ---- assertions shared by the cases ----

func upsert(t *testing.T, s index.VectorStore, ns string, recs ...index.Record) {
	t.Helper()
	require.NoError(t, s.Upsert(t.Context(), ns, recs), "Upsert of %d records into %q", len(recs), ns)
}

func fetch(t *testing.T, s index.VectorStore, ns string, ids ...string) []index.Record {
	t.Helper()
	got, err := s.Fetch(t.Context(), ns, ids)
	require.NoError(t, err, "Fetch %v from %q", ids, ns)
	return got
}

func query(t *testing.T, s index.VectorStore, q index.Query) []index.Match {
	t.Helper()
	got, err := s.Query(t.Context(), q)
	require.NoError(t, err, "Query %+v", q)
	return got
}

func scan(t *testing.T, s index.VectorStore, ns string, f index.Filter) []index.Record {
	t.Helper()
	got, err := ScanAll(t.Context(), s, ns, f)
	require.NoError(t, err, "Scan %q with filter %v", ns, f)
	return got
}

func count(t *testing.T, s index.VectorStore, ns string) int {
	t.Helper()
	n, err := index.Count(t.Context(), s, ns)
	require.NoError(t, err, "Count %q", ns)
	return n
}

func recordIDs(recs []index.Record) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

func matchIDs(ms []index.Match) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func byID(recs []index.Record) map[string]index.Record {
	m := make(map[string]index.Record, len(recs))
	for _, r := range recs {
		m[r.ID] = r
	}
	return m
}

// assertUniqueIDs checks that no ID appears twice.
func assertUniqueIDs(t *testing.T, ids []string, msgAndArgs ...any) bool {
	t.Helper()
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return assert.Fail(t, fmt.Sprintf("ID %q appears more than once", id), msgAndArgs...)
		}
		seen[id] = true
	}
	return true
}

// vectorsClose reports whether got equals want element by element, within a
// relative tolerance.
func vectorsClose(want, got []float32) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		tol := 1e-5 * math.Max(1, math.Abs(float64(want[i])))
		if math.Abs(float64(want[i])-float64(got[i])) > tol {
			return false
		}
	}
	return true
}

func unit(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / n)
	}
	return out
}

// assertVector checks a vector a store returned: equal to the one written,
// or, under Cosine, to its unit-norm version.
func assertVector(t *testing.T, m index.Metric, want, got []float32, msgAndArgs ...any) bool {
	t.Helper()
	if vectorsClose(want, got) || m == index.Cosine && vectorsClose(unit(want), got) {
		return true
	}
	return assert.Fail(t, fmt.Sprintf("vector = %v, want %v", got, want), msgAndArgs...)
}

func assertMetadata(t *testing.T, want, got index.Metadata, msgAndArgs ...any) bool {
	t.Helper()
	if d := metadataDiff(want, got); d != "" {
		return assert.Fail(t, "metadata differs: "+d+fmt.Sprintf("\n got: %#v\nwant: %#v", got, want), msgAndArgs...)
	}
	return true
}

// assertRecord checks one record a store returned against the one written.
func assertRecord(t *testing.T, m index.Metric, want, got index.Record) bool {
	t.Helper()
	ok := assert.Equal(t, want.ID, got.ID, "record ID")
	ok = assertVector(t, m, want.Vector, got.Vector, "record %q", want.ID) && ok
	return assertMetadata(t, want.Metadata, got.Metadata, "record %q", want.ID) && ok
}

// assertRecordSet checks that got holds each of want exactly once, in any
// order, with its vector and metadata.
func assertRecordSet(t *testing.T, m index.Metric, want, got []index.Record, msgAndArgs ...any) {
	t.Helper()
	assertUniqueIDs(t, recordIDs(got), msgAndArgs...)
	if !assert.Equal(t, sorted(recordIDs(want)), sorted(recordIDs(got)), msgAndArgs...) {
		return
	}
	g := byID(got)
	for _, w := range want {
		if !assertRecord(t, m, w, g[w.ID]) {
			return // one detailed failure is enough
		}
	}
}

func assertScore(t *testing.T, want float64, got float32, msgAndArgs ...any) bool {
	t.Helper()
	return assert.InDelta(t, want, float64(got), ScoreTolerance*math.Max(1, math.Abs(want)), msgAndArgs...)
}

// assertSortedByScore checks that matches come best first.
func assertSortedByScore(t *testing.T, ms []index.Match, msgAndArgs ...any) bool {
	t.Helper()
	for i := 1; i < len(ms); i++ {
		if ms[i].Score > ms[i-1].Score+float32(ScoreTolerance) {
			return assert.Fail(t, fmt.Sprintf("match %d (%q, score %v) ranks after match %d (%q, score %v)",
				i, ms[i].ID, ms[i].Score, i-1, ms[i-1].ID, ms[i-1].Score), msgAndArgs...)
		}
	}
	return true
}

// requireItemError checks that err wraps sentinel and names record index and
// id in an *index.ItemError.
func requireItemError(t *testing.T, err, sentinel error, idx int, id string) {
	t.Helper()
	require.Error(t, err, "want an error wrapping %v for record %d (%q)", sentinel, idx, id)
	require.ErrorIs(t, err, sentinel)
	var ie *index.ItemError
	require.ErrorAs(t, err, &ie, "the error must name the record in an *index.ItemError")
	assert.Equal(t, idx, ie.Index, "ItemError.Index")
	assert.Equal(t, id, ie.ID, "ItemError.ID")
}

// assertAbsent checks that none of ids is in namespace ns.
func assertAbsent(t *testing.T, s index.VectorStore, ns string, ids ...string) {
	t.Helper()
	got := fetch(t, s, ns, ids...)
	assert.Empty(t, recordIDs(got), "records of a rejected or deleted batch are visible to Fetch")
}

// scanErr returns the first error a Scan yields and the number of records
// yielded before it.
func scanErr(ctx context.Context, s index.VectorStore, ns string, f index.Filter) (int, error) {
	n := 0
	for _, err := range s.Scan(ctx, ns, f) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

func rec(id string, vec []float32, md index.Metadata) index.Record {
	return index.Record{ID: id, Vector: vec, Metadata: md}
}

// constVec returns a vector of length dim holding first at index 0 and rest
// everywhere else.
func constVec(dim int, first, rest float32) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = rest
	}
	v[0] = first
	return v
}

// bruteForce returns the scores of every record against q, best first.
func bruteForce(m index.Metric, recs []index.Record, q []float32) []scored {
	out := make([]scored, len(recs))
	for i, r := range recs {
		out[i] = scored{r.ID, Score(m, q, r.Vector)}
	}
	slices.SortFunc(out, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	return out
}

type scored struct {
	id    string
	score float64
}
