package memory

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// batchFixture fills s with namespaces "a" (n records of dimension 24, dups
// of them duplicates of others under other IDs) and "b" (150 of dimension
// 5), and returns queries over both, a missing namespace, filters of every
// selectivity and TopK from 1 to more than a namespace holds.
func batchFixture(t *testing.T, s *Store, seed uint64, n, dups, nq int) []index.Query {
	t.Helper()
	ctx := t.Context()
	recs := indextest.RandomRecords(seed, n, 24)
	for i := range dups {
		recs[n-1-i].Vector = recs[i].Vector // an exact tie, ranked by ID
	}
	for i := 0; i < n; i += 500 {
		require.NoError(t, s.Upsert(ctx, "a", recs[i:min(i+500, n)]))
	}
	require.NoError(t, s.Upsert(ctx, "b", indextest.RandomRecords(seed+1, 150, 5)))

	rng := rand.New(rand.NewPCG(seed, 2))
	filters := []index.Filter{{}, {}, index.Eq("group", "beta"), index.Lt("i", 20), index.Eq("even", true), index.Eq("group", "none")}
	topKs := []int{1, 10, 10, 37, 2000}
	qs := make([]index.Query, nq)
	for i := range qs {
		q := index.Query{Namespace: "a", TopK: topKs[rng.IntN(len(topKs))], Filter: filters[rng.IntN(len(filters))]}
		switch rng.IntN(8) {
		case 0:
			q.Namespace, q.Vector = "b", indextest.RandomVectors(seed+uint64(i), 1, 5)[0]
		case 1:
			q.Namespace, q.Vector = "missing", indextest.RandomVectors(seed+uint64(i), 1, 3)[0]
		case 2: // a stored vector: its duplicates tie at the top
			q.Vector = recs[rng.IntN(dups+1)].Vector
			q.IncludeVectors = true
		default:
			q.Vector = indextest.RandomVectors(seed+uint64(i), 1, 24)[0]
		}
		qs[i] = q
	}
	return qs
}

// oneByOne is what QueryBatch must return: QueryWith for each query.
func oneByOne(t *testing.T, s *Store, qs []index.Query, opts ...QueryOption) [][]index.Match {
	t.Helper()
	want := make([][]index.Match, len(qs))
	for i, q := range qs {
		ms, err := s.QueryWith(t.Context(), q, opts...)
		require.NoError(t, err, "query %d", i)
		want[i] = ms
	}
	return want
}

func TestQueryBatchMatchesQuery(t *testing.T) {
	for _, metric := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		for _, tc := range []struct {
			name string
			opts []Option
		}{
			{"default", nil},
			{"serial", []Option{WithParallelism(1)}},
			{"3workers", []Option{WithParallelism(3), WithParallelThreshold(64)}},
		} {
			t.Run(fmt.Sprint(metric, "/", tc.name), func(t *testing.T) {
				s, err := New(append([]Option{WithMetric(metric)}, tc.opts...)...)
				require.NoError(t, err)
				defer s.Close()
				qs := batchFixture(t, s, 11, 900, 40, 120)
				want := oneByOne(t, s, qs)
				got, stats, err := s.queryBatch(t.Context(), qs, queryConfig{})
				require.NoError(t, err)
				require.Len(t, got, len(qs))
				for i := range qs {
					require.Equal(t, want[i], got[i], "query %d", i)
				}
				assert.Greater(t, stats.batched, len(qs)/2)
				// Only ties at the k-th score (the duplicates) need a
				// second scan.
				assert.Less(t, stats.rescans, stats.batched/4)
			})
		}
	}
}

// TestQueryBatchLarge crosses every block boundary: two blocks of queries,
// two chunks of rows, three workers, and no ties, so that the bound settles
// every query without a second scan (Euclidean, whose bound is the loosest).
func TestQueryBatchLarge(t *testing.T) {
	s, err := New(WithMetric(index.Euclidean), WithParallelism(3))
	require.NoError(t, err)
	defer s.Close()
	const n, dim = batchChunk + 300, 4
	recs := indextest.RandomRecords(21, n, dim)
	for i := 0; i < n; i += 2000 {
		require.NoError(t, s.Upsert(t.Context(), "big", recs[i:min(i+2000, n)]))
	}
	vecs := indextest.RandomVectors(22, batchQueries+30, dim)
	qs := make([]index.Query, len(vecs))
	for i, v := range vecs {
		qs[i] = index.Query{Namespace: "big", Vector: v, TopK: 1 + i%20}
		if i%7 == 0 {
			qs[i].Filter = index.Eq("group", "gamma")
		}
	}
	want := oneByOne(t, s, qs)
	got, stats, err := s.queryBatch(t.Context(), qs, queryConfig{})
	require.NoError(t, err)
	require.Equal(t, want, got)
	assert.Equal(t, batchStats{batched: len(qs)}, stats)
}

// TestQueryBatchTies has 10 vectors, each stored under 20 IDs: a query
// whose k-th score ties with more records than it has spare candidates
// cannot be settled by the bound and is scanned again; the others are not.
func TestQueryBatchTies(t *testing.T) {
	s, err := New(WithMetric(index.Euclidean))
	require.NoError(t, err)
	defer s.Close()
	recs := indextest.RandomRecords(31, 200, 6)
	for i := range recs {
		recs[i].Vector = recs[i%10].Vector
	}
	require.NoError(t, s.Upsert(t.Context(), "", recs))
	qs := make([]index.Query, 30)
	for i := range qs {
		qs[i] = index.Query{Vector: recs[i%10].Vector, TopK: 1 + i}
	}
	want := oneByOne(t, s, qs)
	got, stats, err := s.queryBatch(t.Context(), qs, queryConfig{})
	require.NoError(t, err)
	require.Equal(t, want, got)
	assert.Equal(t, len(qs), stats.batched)
	// TopK 1 to 4: the k+16 candidates are all tied with the k-th score,
	// and so may be records left out.
	assert.Equal(t, 4, stats.rescans)
}

// TestQueryBatchFarFromOrigin: vectors of 1000 ± 1 in every coordinate.
// Their Euclidean distances are tiny next to their norms, so a product's
// scores (‖q‖²+‖x‖²−2q·x) lose most of their digits and the bound settles
// no query: each is scanned again, and the answers stay Query's.
func TestQueryBatchFarFromOrigin(t *testing.T) {
	s, err := New(WithMetric(index.Euclidean))
	require.NoError(t, err)
	defer s.Close()
	recs := indextest.RandomRecords(71, 300, 16)
	for _, r := range recs {
		for j := range r.Vector {
			r.Vector[j] += 1000
		}
	}
	require.NoError(t, s.Upsert(t.Context(), "", recs))
	qs := make([]index.Query, 10)
	for i, v := range indextest.RandomVectors(72, len(qs), 16) {
		for j := range v {
			v[j] += 1000
		}
		qs[i] = index.Query{Vector: v, TopK: 5}
	}
	want := oneByOne(t, s, qs)
	got, stats, err := s.queryBatch(t.Context(), qs, queryConfig{})
	require.NoError(t, err)
	require.Equal(t, want, got)
	assert.Equal(t, batchStats{batched: len(qs), rescans: len(qs)}, stats)
}

// TestQueryBatchGraph: with WithHNSW, unfiltered queries walk the graph and
// give what QueryWith gives; WithExact scans, skipping the slots of
// deleted and rewritten records.
func TestQueryBatchGraph(t *testing.T) {
	for _, metric := range []index.Metric{index.Cosine, index.Euclidean} {
		t.Run(metric.String(), func(t *testing.T) {
			s, err := New(WithMetric(metric), WithHNSW(8, 32, 32), WithHNSWThreshold(100))
			require.NoError(t, err)
			defer s.Close()
			ctx := t.Context()
			qs := batchFixture(t, s, 41, 600, 0, 60)
			var gone []string
			for i := 0; i < 600; i += 5 {
				gone = append(gone, fmt.Sprintf("r%05d", i))
			}
			require.NoError(t, s.Delete(ctx, "a", gone))
			moved := indextest.RandomRecords(42, 40, 24) // r00000…r00039, new vectors
			require.NoError(t, s.Upsert(ctx, "a", moved))
			for _, opts := range [][]QueryOption{nil, {WithExact()}, {WithEfSearch(8)}} {
				want := oneByOne(t, s, qs, opts...)
				got, err := s.QueryBatch(ctx, qs, opts...)
				require.NoError(t, err)
				require.Equal(t, want, got)
				deleted := make(map[string]bool)
				for _, id := range gone[8:] {
					deleted[id] = true
				}
				for i, ms := range got {
					for _, m := range ms {
						if qs[i].Namespace == "a" && deleted[m.ID] {
							t.Fatalf("query %d: deleted %s returned", i, m.ID)
						}
					}
				}
			}
		})
	}
}

func TestQueryBatchErrors(t *testing.T) {
	s, err := New(WithMetric(index.Cosine))
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	require.NoError(t, s.Upsert(ctx, "ns", indextest.RandomRecords(1, 20, 4)))
	good := index.Query{Namespace: "ns", Vector: []float32{1, 2, 3, 4}, TopK: 3}
	with := func(i int, q index.Query) []index.Query {
		qs := []index.Query{good, good, good, good}
		qs[i] = q
		return qs
	}
	for _, tc := range []struct {
		name   string
		qs     []index.Query
		prefix string
		want   error
	}{
		{"TopK0", with(2, index.Query{Namespace: "ns", Vector: good.Vector}), "query 2: ", index.ErrInvalidArgument},
		{"TopKTooLarge", with(1, index.Query{Namespace: "ns", Vector: good.Vector, TopK: index.MaxTopK + 1}), "query 1: ", index.ErrInvalidArgument},
		{"Dimension", with(3, index.Query{Namespace: "ns", Vector: []float32{1, 2}, TopK: 1}), "query 3: ", index.ErrDimension},
		{"NaN", with(0, index.Query{Namespace: "ns", Vector: []float32{1, float32(math.NaN()), 0, 0}, TopK: 1}), "query 0: ", index.ErrInvalidVector},
		{"ZeroUnderCosine", with(1, index.Query{Namespace: "ns", Vector: make([]float32, 4), TopK: 1}), "query 1: ", index.ErrInvalidVector},
		{"Namespace", with(2, index.Query{Namespace: "a\x00b", Vector: good.Vector, TopK: 1}), "query 2: ", index.ErrInvalidArgument},
		{"Filter", with(1, index.Query{Namespace: "ns", Vector: good.Vector, TopK: 1, Filter: index.Filter{Op: index.Op(99), Field: "x"}}), "query 1: ", index.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.QueryBatch(ctx, tc.qs)
			require.ErrorIs(t, err, tc.want)
			assert.Regexp(t, "^"+tc.prefix, err.Error())
			// The same reason as Query gives for the query alone.
			var bad index.Query
			for i, q := range tc.qs {
				if fmt.Sprintf("query %d: ", i) == tc.prefix {
					bad = q
				}
			}
			_, qerr := s.Query(ctx, bad)
			require.Error(t, qerr)
			assert.Equal(t, tc.prefix+qerr.Error(), err.Error())
		})
	}

	t.Run("Empty", func(t *testing.T) {
		got, err := s.QueryBatch(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("NilOption", func(t *testing.T) {
		_, err := s.QueryBatch(ctx, []index.Query{good}, nil)
		require.ErrorIs(t, err, index.ErrInvalidArgument)
	})
	t.Run("NilContext", func(t *testing.T) {
		//lint:ignore SA1012 a nil context is the point
		_, err := s.QueryBatch(nil, []index.Query{good})
		//lint:ignore SA1012 a nil context is the point
		_, qerr := s.Query(nil, good)
		require.ErrorIs(t, err, index.ErrInvalidArgument)
		assert.Equal(t, qerr, err)
	})
	t.Run("Cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancelCause(ctx)
		cause := errors.New("stop")
		cancel(cause)
		_, err := s.QueryBatch(cctx, []index.Query{good})
		require.ErrorIs(t, err, cause)
		_, qerr := s.Query(cctx, good)
		assert.Equal(t, qerr, err)
	})
	t.Run("Closed", func(t *testing.T) {
		c, err := New()
		require.NoError(t, err)
		require.NoError(t, c.Close())
		_, err = c.QueryBatch(ctx, []index.Query{good})
		require.ErrorIs(t, err, index.ErrClosed)
	})
}

// TestQueryBatchConcurrentWrites runs batches while other goroutines write
// and delete: every batch sees one state of the store (run with -race).
func TestQueryBatchConcurrentWrites(t *testing.T) {
	s, err := New(WithMetric(index.Euclidean), WithParallelism(2))
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	recs := indextest.RandomRecords(61, 600, 8)
	require.NoError(t, s.Upsert(ctx, "ns", recs[:300]))
	qs := make([]index.Query, 16)
	for i, v := range indextest.RandomVectors(62, len(qs), 8) {
		qs[i] = index.Query{Namespace: "ns", Vector: v, TopK: 7}
	}
	var g errgroup.Group
	g.Go(func() error {
		for i := 300; i < 600; i += 20 {
			if err := s.Upsert(ctx, "ns", recs[i:i+20]); err != nil {
				return err
			}
			if err := s.Delete(ctx, "ns", []string{recs[i-300].ID}); err != nil {
				return err
			}
		}
		return nil
	})
	for range 3 {
		g.Go(func() error {
			for range 10 {
				got, err := s.QueryBatch(ctx, qs)
				if err != nil {
					return err
				}
				for i, ms := range got {
					if len(ms) != 7 {
						return fmt.Errorf("query %d: %d matches", i, len(ms))
					}
					for j := 1; j < len(ms); j++ {
						if ms[j].Score > ms[j-1].Score {
							return fmt.Errorf("query %d: not sorted", i)
						}
					}
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}

// BenchmarkQueryBatch times QueryBatch against a loop of Query over the same
// queries (k = 10, Euclidean), on one worker and on two, and against faiss's
// IndexFlatL2 searching all the queries in one call with as many threads
// (a /usr/bin/python3 process kept open, skipped when faiss is missing).
// Each iteration times the three one after the other, so that they share
// the machine's load, and each metric is the best iteration (run with
// -benchtime 3x or more). By default it uses 20,000 random 128-d vectors
// and 256 queries; with SHOAL_BATCH_BENCH=1, Fashion-MNIST (Debian
// dataset-fashion-mnist): the 60,000 × 784 training images as base and the
// first 2,000 test images as queries, raw pixels, as in issue 14's
// benchmark (the loop of Query then times the first 100 queries only).
//
// Metrics: batch-q/s, loop-q/s and x-loop (QueryBatch's speed over the
// loop's); faiss-q/s and x-faiss (QueryBatch's speed over faiss's).
func BenchmarkQueryBatch(b *testing.B) {
	base, queries, dim, loopN := batchBenchData(b)
	if !faissAvailable() {
		b.Log("faiss comparison skipped: /usr/bin/python3 cannot import faiss (Debian: apt install python3-faiss)")
		dim = 0
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s, err := New(WithMetric(index.Euclidean), WithParallelism(workers))
			require.NoError(b, err)
			defer s.Close()
			recs := make([]index.Record, len(base))
			for i, v := range base {
				recs[i] = index.Record{ID: fmt.Sprintf("x%06d", i), Vector: v}
			}
			for i := 0; i < len(recs); i += 5000 {
				require.NoError(b, s.Upsert(b.Context(), "bench", recs[i:min(i+5000, len(recs))]))
			}
			qs := make([]index.Query, len(queries))
			for i, v := range queries {
				qs[i] = index.Query{Namespace: "bench", Vector: v, TopK: 10}
			}
			var peer *faissPeer
			if dim > 0 {
				peer = startFaiss(b, base, queries, dim, workers)
				defer peer.close()
			}
			inf := time.Duration(math.MaxInt64)
			batchT, loopT, faissT := inf, inf, inf
			for b.Loop() {
				start := time.Now()
				got, err := s.QueryBatch(b.Context(), qs)
				batchT = min(batchT, time.Since(start))
				require.NoError(b, err)
				if peer != nil {
					faissT = min(faissT, peer.search(b))
				}
				start = time.Now()
				for i, q := range qs[:loopN] {
					ms, err := s.Query(b.Context(), q)
					require.NoError(b, err)
					if !assert.Equal(b, ms, got[i]) {
						b.FailNow()
					}
				}
				loopT = min(loopT, time.Since(start))
			}
			batchQPS := float64(len(qs)) / batchT.Seconds()
			loopQPS := float64(loopN) / loopT.Seconds()
			b.ReportMetric(batchQPS, "batch-q/s")
			b.ReportMetric(loopQPS, "loop-q/s")
			b.ReportMetric(batchQPS/loopQPS, "x-loop")
			b.ReportMetric(0, "ns/op")
			if peer != nil {
				fq := float64(len(qs)) / faissT.Seconds()
				b.ReportMetric(fq, "faiss-q/s")
				b.ReportMetric(batchQPS/fq, "x-faiss")
			}
		})
	}
}

// batchBenchData returns BenchmarkQueryBatch's base vectors and queries,
// their dimension, and how many queries the loop of Query times.
func batchBenchData(b *testing.B) (base, queries [][]float32, dim, loopN int) {
	b.Helper()
	if os.Getenv("SHOAL_BATCH_BENCH") == "" {
		b.Log("20,000 random 128-d vectors; SHOAL_BATCH_BENCH=1 runs Fashion-MNIST (60,000 × 784, 2,000 queries)")
		return indextest.RandomVectors(91, 20_000, 128), indextest.RandomVectors(92, 256, 128), 128, 256
	}
	const dir = "/usr/share/datasets/fashion-mnist/"
	base, err := readIDXImages(dir + "train-images-idx3-ubyte.gz")
	if err != nil {
		b.Skipf("Fashion-MNIST: %v (Debian: apt install dataset-fashion-mnist)", err)
	}
	queries, err = readIDXImages(dir + "t10k-images-idx3-ubyte.gz")
	if err != nil {
		b.Skipf("Fashion-MNIST: %v", err)
	}
	return base, queries[:2000], len(base[0]), 100
}

// readIDXImages reads a gzipped IDX file of images as vectors of raw pixel
// values.
func readIDXImages(path string) ([][]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var h [4]uint32 // magic, count, rows, columns
	if err := binary.Read(zr, binary.BigEndian, &h); err != nil {
		return nil, err
	}
	if h[0] != 0x803 {
		return nil, fmt.Errorf("%s: not an IDX file of images", path)
	}
	d := int(h[2] * h[3])
	pix := make([]byte, int(h[1])*d)
	if _, err := io.ReadFull(zr, pix); err != nil {
		return nil, err
	}
	out := make([][]float32, h[1])
	for i := range out {
		v := make([]float32, d)
		for j, p := range pix[i*d : (i+1)*d] {
			v[j] = float32(p)
		}
		out[i] = v
	}
	return out, nil
}

func faissAvailable() bool {
	return exec.Command("/usr/bin/python3", "-c", "import faiss, numpy").Run() == nil
}

// faissPeer is a /usr/bin/python3 process holding a faiss IndexFlatL2 of
// the base vectors: each line it reads makes it search all the queries
// (k = 10) and print the seconds that took.
type faissPeer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startFaiss(b *testing.B, base, queries [][]float32, dim, threads int) *faissPeer {
	b.Helper()
	dir := b.TempDir()
	write := func(name string, vs [][]float32) string {
		p := filepath.Join(dir, name)
		buf := make([]byte, 0, len(vs)*dim*4)
		for _, v := range vs {
			for _, x := range v {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			}
		}
		require.NoError(b, os.WriteFile(p, buf, 0o600))
		return p
	}
	const script = `import sys, time, numpy as np, faiss
d, threads = int(sys.argv[3]), int(sys.argv[4])
faiss.omp_set_num_threads(threads)
xb = np.fromfile(sys.argv[1], dtype="float32").reshape(-1, d)
xq = np.fromfile(sys.argv[2], dtype="float32").reshape(-1, d)
index = faiss.IndexFlatL2(d)
index.add(xb)
print("ready", flush=True)
for _ in sys.stdin:
    t0 = time.perf_counter()
    index.search(xq, 10)
    print(time.perf_counter() - t0, flush=True)
`
	cmd := exec.Command("/usr/bin/python3", "-c", script, write("base.f32", base), write("queries.f32", queries),
		fmt.Sprint(dim), fmt.Sprint(threads))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	require.NoError(b, err)
	out, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	p := &faissPeer{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if !p.out.Scan() || p.out.Text() != "ready" {
		p.close()
		b.Fatalf("faiss peer did not start: %q %v", p.out.Text(), p.out.Err())
	}
	return p
}

// search has the peer search once and returns how long that took.
func (p *faissPeer) search(b *testing.B) time.Duration {
	b.Helper()
	_, err := io.WriteString(p.in, "go\n")
	require.NoError(b, err)
	require.True(b, p.out.Scan(), "faiss peer: %v", p.out.Err())
	sec, err := strconv.ParseFloat(p.out.Text(), 64)
	require.NoError(b, err)
	return time.Duration(sec * float64(time.Second))
}

func (p *faissPeer) close() {
	p.in.Close()
	_ = p.cmd.Wait()
}
