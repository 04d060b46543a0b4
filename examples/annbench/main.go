// Command annbench measures the embedded store's approximate mode
// (index/memory with WithHNSW) against hnswlib and faiss on the same data in
// the same run, and ends with one "check:" line per target of the
// benchmark (issue 14).
//
// Part A runs on Fashion-MNIST (Debian's dataset-fashion-mnist): the 60,000
// train images as base vectors (raw pixels as float32), the first 2,000 test
// images as queries, k = 10, under Euclidean (L2) and Cosine. Each engine
// builds an HNSW graph (M=16, efConstruction=200, one thread) and answers the
// queries one at a time over an efSearch sweep; recall@10 is measured against
// exact search, and QPS at recall 0.90/0.95/0.99 is interpolated. The exact
// scan and the batched exact path are compared with faiss IndexFlatL2.
//
// Part B runs on a seeded synthetic clustered set (-synthetic N × -dim):
// build time on one and two threads, QPS at recall 0.95, resident memory
// per vector, and the time to reopen the persisted store.
//
// The peers (hnswlib, faiss) run through /usr/bin/python3 (peers.py, embedded
// in the binary) when it imports them; otherwise they are skipped with a hint.
//
//	go run ./examples/annbench                  # the full run (long)
//	go run ./examples/annbench -synthetic 200000 # a shorter part B
//	go run ./examples/annbench -quick            # a few minutes
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	loader "github.com/shoalhq/shoal/embedding/dataset"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

// peerPython is the interpreter of Debian's python3-hnswlib and python3-faiss.
const peerPython = "/usr/bin/python3"

//go:embed peers.py
var peersScript []byte

const namespace = "bench"

type config struct {
	fashion   string // Fashion-MNIST IDX directory; "" skips part A
	base      int    // Fashion-MNIST base vectors (0: all 60,000)
	queries   int    // Fashion-MNIST queries
	exactQ    int    // queries of the one-at-a-time exact scans
	synthetic int    // synthetic vectors; 0 skips part B
	synthQ    int    // synthetic queries
	dim       int    // synthetic dimension
	clusters  int    // synthetic clusters
	peers     bool   // run hnswlib and faiss when /usr/bin/python3 has them
	efs       []int  // the efSearch sweep
	m, efc, k int
	seed      uint64
}

func defaultConfig() config {
	return config{
		fashion: "/usr/share/datasets/fashion-mnist", queries: 2000, exactQ: 500,
		synthetic: 1_000_000, synthQ: 1000, dim: 128, clusters: 1000, peers: true,
		efs: []int{10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512},
		m:   16, efc: 200, k: 10, seed: 1,
	}
}

func main() {
	cfg := defaultConfig()
	var efs string
	var quick bool
	flag.StringVar(&cfg.fashion, "fashion", cfg.fashion, "Fashion-MNIST IDX directory (\"\" skips part A)")
	flag.IntVar(&cfg.base, "n", 0, "Fashion-MNIST base vectors to use (0: all 60,000)")
	flag.IntVar(&cfg.queries, "queries", cfg.queries, "Fashion-MNIST queries (the first of t10k)")
	flag.IntVar(&cfg.exactQ, "exactq", cfg.exactQ, "queries of the one-query-per-call exact scans")
	flag.IntVar(&cfg.synthetic, "synthetic", cfg.synthetic, "synthetic clustered vectors (0 skips part B)")
	flag.IntVar(&cfg.synthQ, "synthq", cfg.synthQ, "synthetic queries")
	flag.IntVar(&cfg.dim, "dim", cfg.dim, "synthetic dimension")
	flag.BoolVar(&cfg.peers, "peers", cfg.peers, "run hnswlib and faiss through "+peerPython+" when it imports them")
	flag.StringVar(&efs, "ef", "10,16,24,32,48,64,96,128,192,256,384,512", "efSearch sweep")
	flag.IntVar(&cfg.m, "m", cfg.m, "HNSW M of every engine")
	flag.IntVar(&cfg.efc, "efc", cfg.efc, "HNSW efConstruction of every engine")
	flag.BoolVar(&quick, "quick", false, "a small run: 10,000 base images, 200 queries, 50,000 synthetic vectors")
	flag.Parse()
	var err error
	if cfg.efs, err = parseInts(efs); err != nil {
		fmt.Fprintln(os.Stderr, "annbench: -ef:", err)
		os.Exit(2)
	}
	if quick {
		cfg.base, cfg.queries, cfg.exactQ, cfg.synthQ = 10000, 200, 100, 200
		cfg.synthetic = min(cfg.synthetic, 50000)
	}
	if err := run(context.Background(), cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "annbench:", err)
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bad value %q", f)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// data is a base set and its queries, as flat row-major float32 slabs.
type data struct {
	name        string
	n, nq, dim  int
	base, query []float32
}

func (d *data) row(v []float32, i int) []float32 { return v[i*d.dim : (i+1)*d.dim] }

func (d *data) records() []index.Record {
	recs := make([]index.Record, d.n)
	for i := range recs {
		recs[i] = index.Record{ID: strconv.Itoa(i), Vector: d.row(d.base, i)}
	}
	return recs
}

// point is one efSearch of a sweep.
type point struct {
	EF     int     `json:"ef"`
	Recall float64 `json:"recall"`
	QPS    float64 `json:"qps"`
}

// engine is one engine's graph on one data set and metric.
type engine struct {
	name  string
	build float64 // seconds
	sweep []point
}

// check is one line of the closing list.
type check struct {
	what, measured, target, skipped string
	ok                              bool
}

func (c check) String() string {
	if c.skipped != "" {
		return fmt.Sprintf("check: %s skipped (%s)", c.what, c.skipped)
	}
	verdict := "MISSED"
	if c.ok {
		verdict = "ok"
	}
	return fmt.Sprintf("check: %s %s (target %s): %s", c.what, c.measured, c.target, verdict)
}

type bench struct {
	cfg      config
	out, log io.Writer
	checks   []check
	peersOK  bool
	peerWhy  string
}

func run(ctx context.Context, cfg config, out, log io.Writer) error {
	if len(cfg.efs) == 0 || cfg.k < 1 || cfg.queries < 1 || cfg.synthQ < 1 || cfg.dim < 1 {
		return errors.New("bad configuration: -ef, -queries, -synthq and -dim must be positive")
	}
	b := &bench{cfg: cfg, out: out, log: log}
	if cfg.peers {
		if err := exec.CommandContext(ctx, peerPython, "-c", "import numpy, hnswlib, faiss").Run(); err != nil {
			b.peerWhy = peerPython + " cannot import numpy, hnswlib and faiss: apt-get install python3-hnswlib python3-faiss"
			fmt.Fprintf(out, "Peers skipped: %s.\n", b.peerWhy)
		} else {
			b.peersOK = true
		}
	} else {
		b.peerWhy = "-peers=false"
	}
	fmt.Fprintf(out, "annbench: GOMAXPROCS %d, %s/%s, M=%d efConstruction=%d k=%d\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, cfg.m, cfg.efc, cfg.k)
	fmt.Fprintln(out, "Query loops, one query at a time on one thread: Shoal a Go loop of Store.QueryWith;")
	fmt.Fprintln(out, "hnswlib knn_query of the whole query array with num_threads=1 (its C++ loop); faiss index.search of the whole array, 1 OpenMP thread.")
	if err := b.fashion(ctx); err != nil {
		return err
	}
	if err := b.synthetic(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, c := range b.checks {
		fmt.Fprintln(out, c)
	}
	return nil
}

func (b *bench) skipAll(why string, whats ...string) {
	for _, w := range whats {
		b.checks = append(b.checks, check{what: w, skipped: why})
	}
}

// ---- part A: Fashion-MNIST ----

func (b *bench) fashion(ctx context.Context) error {
	cfg := b.cfg
	checks := []string{"QPS@0.95 vs hnswlib, fashion L2", "QPS@0.95 vs hnswlib, fashion cosine",
		"single-thread build vs hnswlib, fashion L2", "single-thread build vs hnswlib, fashion cosine",
		"exact scan one query per call vs faiss IndexFlatL2", "batched exact vs faiss IndexFlatL2 batched, 1 thread",
		"batched exact vs faiss IndexFlatL2 batched, 2 threads"}
	train := filepath.Join(cfg.fashion, "train-images-idx3-ubyte.gz")
	if cfg.fashion == "" {
		fmt.Fprintln(b.out, "\nA. Fashion-MNIST skipped (-fashion \"\").")
		b.skipAll("-fashion \"\"", checks...)
		return nil
	}
	if _, err := os.Stat(train); err != nil {
		fmt.Fprintf(b.out, "\nA. Fashion-MNIST skipped: %s not found (apt-get install dataset-fashion-mnist).\n", train)
		b.skipAll("no Fashion-MNIST: apt-get install dataset-fashion-mnist", checks...)
		return nil
	}
	d, err := loadFashion(cfg.fashion, cfg.base, cfg.queries)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "\nA. Fashion-MNIST-784: %d base vectors, %d queries, k=%d\n", d.n, d.nq, cfg.k)
	recs := d.records()

	// Ground truth and the exact paths.
	fmt.Fprintln(b.log, "fashion: exact ground truth")
	gtL2, batched1, err := exactBatch(ctx, d, recs, index.Euclidean, 1, cfg.k)
	if err != nil {
		return err
	}
	gt2, batched2, err := exactBatch(ctx, d, recs, index.Euclidean, 2, cfg.k)
	if err != nil {
		return err
	}
	if !slices.EqualFunc(gtL2, gt2, slices.Equal) {
		return errors.New("fashion: the 1- and 2-thread batched exact searches disagree")
	}
	gtCos, _, err := exactBatch(ctx, d, recs, index.Cosine, 2, cfg.k)
	if err != nil {
		return err
	}
	single, err := exactSingle(ctx, d, recs, min(cfg.exactQ, d.nq), cfg.k)
	if err != nil {
		return err
	}

	// Shoal's graphs.
	var shoal [2]engine
	for i, metric := range []index.Metric{index.Euclidean, index.Cosine} {
		gt := [][][]int32{gtL2, gtCos}[i]
		fmt.Fprintf(b.log, "fashion: Shoal HNSW %s build\n", metric)
		s, secs, err := buildWith(ctx, recs, "", hnswOptions(d, metric, cfg.m, cfg.efc, 1))
		if err != nil {
			return err
		}
		fmt.Fprintf(b.log, "fashion: Shoal HNSW %s built in %.1fs; sweep\n", metric, secs)
		sw, err := sweep(ctx, s, d, gt, cfg.efs, cfg.k)
		s.Close()
		if err != nil {
			return err
		}
		shoal[i] = engine{name: "Shoal", build: secs, sweep: sw}
	}

	// The peers, on the same files.
	var peers []peerResult
	if b.peersOK {
		peers, err = b.runPeers(ctx, d, map[string][][]int32{"l2": gtL2, "cosine": gtCos}, []peerTask{
			{Engine: "hnswlib", Space: "l2", GT: "l2"}, {Engine: "faiss_hnsw", Space: "l2", GT: "l2"},
			{Engine: "hnswlib", Space: "cosine", GT: "cosine"}, {Engine: "faiss_hnsw", Space: "cosine", GT: "cosine"},
			{Engine: "faiss_flat", Space: "l2", GT: "l2", Single: min(cfg.exactQ, d.nq), Threads: []int{1, 2}},
		})
		if err != nil {
			return err
		}
	}
	find := func(eng, space string) *peerResult {
		for i := range peers {
			if peers[i].Engine == eng && peers[i].Space == space {
				return &peers[i]
			}
		}
		return nil
	}

	for i, space := range []string{"l2", "cosine"} {
		engines := []engine{shoal[i]}
		for _, p := range []*peerResult{find("hnswlib", space), find("faiss_hnsw", space)} {
			if p != nil {
				engines = append(engines, engine{name: map[string]string{"hnswlib": "hnswlib", "faiss_hnsw": "faiss HNSWFlat"}[p.Engine], build: p.Build, sweep: p.Sweep})
			}
		}
		label := map[string]string{"l2": "L2", "cosine": "cosine"}[space]
		b.table(fmt.Sprintf("fashion %s, builds and queries on 1 thread", label), engines)
		if h := find("hnswlib", space); h != nil {
			b.qpsCheck("QPS@0.95 vs hnswlib, fashion "+label, shoal[i].sweep, h.Sweep)
			r := shoal[i].build / h.Build
			b.checks = append(b.checks, check{what: "single-thread build vs hnswlib, fashion " + label,
				measured: fmt.Sprintf("%.2fx (%.1fs vs %.1fs)", r, shoal[i].build, h.Build), target: "<= 1.0x", ok: r <= 1.0})
		} else {
			b.skipAll(b.peerWhy, "QPS@0.95 vs hnswlib, fashion "+label, "single-thread build vs hnswlib, fashion "+label)
		}
	}

	fmt.Fprintf(b.out, "\nExact search, fashion L2 (Shoal: exact store, WithParallelism(n); one-query-per-call over the first %d queries):\n", min(cfg.exactQ, d.nq))
	fmt.Fprintf(b.out, "  %-52s %10s %10s\n", "", "Shoal", "faiss")
	flat := find("faiss_flat", "l2")
	cell := func(f func(p *peerResult) float64) string {
		if flat == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f", f(flat))
	}
	fmt.Fprintf(b.out, "  %-52s %10.1f %10s\n", "one query per call, 1 thread (QPS)", single, cell(func(p *peerResult) float64 { return p.SingleQPS }))
	fmt.Fprintf(b.out, "  %-52s %10.1f %10s\n", fmt.Sprintf("%d queries in one call, 1 thread (QPS, best of 3)", d.nq), batched1, cell(func(p *peerResult) float64 { return p.BatchedQPS["1"] }))
	fmt.Fprintf(b.out, "  %-52s %10.1f %10s\n", fmt.Sprintf("%d queries in one call, 2 threads (QPS, best of 3)", d.nq), batched2, cell(func(p *peerResult) float64 { return p.BatchedQPS["2"] }))
	if flat != nil {
		fmt.Fprintf(b.out, "  faiss IndexFlatL2 recall@%d against Shoal's exact ground truth: %.4f\n", cfg.k, flat.Recall)
		fmt.Fprintln(b.out, "  (faiss one-query-per-call is a Python loop of single-row index.search calls; the target \"exact scan, one query at a time\" uses it)")
		for _, c := range []struct {
			what        string
			shoal, peer float64
		}{
			{"exact scan one query per call vs faiss IndexFlatL2", single, flat.SingleQPS},
			{"batched exact vs faiss IndexFlatL2 batched, 1 thread", batched1, flat.BatchedQPS["1"]},
			{"batched exact vs faiss IndexFlatL2 batched, 2 threads", batched2, flat.BatchedQPS["2"]},
		} {
			r := c.shoal / c.peer
			b.checks = append(b.checks, check{what: c.what, measured: fmt.Sprintf("%.2fx (%.1f vs %.1f QPS)", r, c.shoal, c.peer), target: ">= 1.0x", ok: r >= 1.0})
		}
	} else {
		b.skipAll(b.peerWhy, checks[4:]...)
	}
	return nil
}

func loadFashion(dir string, base, nq int) (*data, error) {
	pixels := func(split string, limit int) ([]float32, int, error) {
		ins, err := loader.LoadIDX(filepath.Join(dir, split+"-images-idx3-ubyte.gz"), filepath.Join(dir, split+"-labels-idx1-ubyte.gz"))
		if err != nil {
			return nil, 0, err
		}
		if limit > 0 && limit < len(ins) {
			ins = ins[:limit]
		}
		var out []float32
		for _, in := range ins {
			g, ok := in.Decoded.(*image.Gray)
			if !ok {
				return nil, 0, fmt.Errorf("%s: item %s is not a gray image", split, in.ID)
			}
			for _, p := range g.Pix {
				out = append(out, float32(p))
			}
		}
		return out, len(ins), nil
	}
	b, n, err := pixels("train", base)
	if err != nil {
		return nil, err
	}
	q, m, err := pixels("t10k", nq)
	if err != nil {
		return nil, err
	}
	return &data{name: "fashion", n: n, nq: m, dim: len(b) / n, base: b, query: q}, nil
}

// ---- Shoal measurements ----

func ids(ms []index.Match, k int) []int32 {
	out := make([]int32, k)
	for i := range out {
		out[i] = -1
		if i < len(ms) {
			v, _ := strconv.Atoi(ms[i].ID)
			out[i] = int32(v)
		}
	}
	return out
}

func (d *data) queryList(k, n int) []index.Query {
	qs := make([]index.Query, n)
	for i := range qs {
		qs[i] = index.Query{Namespace: namespace, Vector: d.row(d.query, i), TopK: k}
	}
	return qs
}

// exactBatch answers every query with one QueryBatch(WithExact()) call on
// an exact store of par goroutines: the ground truth, and the batched QPS
// (the best of three calls).
func exactBatch(ctx context.Context, d *data, recs []index.Record, metric index.Metric, par, k int) ([][]int32, float64, error) {
	s, err := memory.New(memory.WithMetric(metric), memory.WithDimension(d.dim), memory.WithParallelism(par))
	if err != nil {
		return nil, 0, err
	}
	defer s.Close()
	if err := s.Upsert(ctx, namespace, recs); err != nil {
		return nil, 0, err
	}
	var res [][]index.Match
	secs := math.Inf(1)
	for range 3 { // the best of three, as for faiss
		start := time.Now()
		res, err = s.QueryBatch(ctx, d.queryList(k, d.nq), memory.WithExact())
		if err != nil {
			return nil, 0, err
		}
		secs = min(secs, time.Since(start).Seconds())
	}
	gt := make([][]int32, len(res))
	for i, ms := range res {
		gt[i] = ids(ms, k)
	}
	return gt, float64(d.nq) / secs, nil
}

// exactSingle times QueryWith(WithExact()) one query per call on one thread.
func exactSingle(ctx context.Context, d *data, recs []index.Record, n, k int) (float64, error) {
	s, err := memory.New(memory.WithMetric(index.Euclidean), memory.WithDimension(d.dim), memory.WithParallelism(1))
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if err := s.Upsert(ctx, namespace, recs); err != nil {
		return 0, err
	}
	qs := d.queryList(k, n)
	start := time.Now()
	for _, q := range qs {
		if _, err := s.QueryWith(ctx, q, memory.WithExact()); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func hnswOptions(d *data, metric index.Metric, m, efc, par int) []memory.Option {
	return []memory.Option{memory.WithMetric(metric), memory.WithDimension(d.dim),
		memory.WithHNSW(m, efc, 0), memory.WithHNSWThreshold(0), memory.WithParallelism(par)}
}

// buildWith loads recs in one Upsert (the bulk load) into a new store,
// persistent in dir when dir is not "", and times the Upsert.
func buildWith(ctx context.Context, recs []index.Record, dir string, opts []memory.Option) (*memory.Store, float64, error) {
	var s *memory.Store
	var err error
	if dir == "" {
		s, err = memory.New(opts...)
	} else {
		s, err = memory.Open(ctx, dir, opts...)
	}
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := s.Upsert(ctx, namespace, recs); err != nil {
		s.Close()
		return nil, 0, err
	}
	return s, time.Since(start).Seconds(), nil
}

func recall(found, gt [][]int32, k int) float64 {
	hits := 0
	for i := range gt {
		for _, id := range found[i][:k] {
			if id >= 0 && slices.Contains(gt[i][:k], id) {
				hits++
			}
		}
	}
	return float64(hits) / float64(len(gt)*k)
}

// sweep answers every query one at a time (a Go loop of QueryWith) at each
// efSearch of efs.
func sweep(ctx context.Context, s *memory.Store, d *data, gt [][]int32, efs []int, k int) ([]point, error) {
	qs := d.queryList(k, len(gt))
	res := make([][]index.Match, len(qs))
	var out []point
	for _, ef := range efs {
		start := time.Now()
		for i, q := range qs {
			ms, err := s.QueryWith(ctx, q, memory.WithEfSearch(ef))
			if err != nil {
				return nil, err
			}
			res[i] = ms
		}
		secs := time.Since(start).Seconds()
		found := make([][]int32, len(res))
		for i, ms := range res {
			found[i] = ids(ms, k)
		}
		out = append(out, point{EF: ef, Recall: recall(found, gt, k), QPS: float64(len(qs)) / secs})
	}
	return out, nil
}

// qpsAt interpolates QPS at recall target, log-linearly between the first
// sweep point that reaches it and the one before; ok is false when no point
// reaches it. at is "≥" when the first point already reaches it (a lower
// bound: a smaller efSearch might be faster).
func qpsAt(sw []point, target float64) (qps float64, at string, ok bool) {
	for j, p := range sw {
		if p.Recall < target {
			continue
		}
		if j == 0 {
			return p.QPS, ">=", true
		}
		a := sw[j-1]
		if p.Recall == a.Recall {
			return p.QPS, "", true
		}
		t := (target - a.Recall) / (p.Recall - a.Recall)
		return math.Exp(math.Log(a.QPS) + t*(math.Log(p.QPS)-math.Log(a.QPS))), "", true
	}
	return 0, "", false
}

func (b *bench) qpsCheck(what string, shoal, peer []point) {
	s, _, okS := qpsAt(shoal, 0.95)
	p, _, okP := qpsAt(peer, 0.95)
	switch {
	case !okP:
		b.checks = append(b.checks, check{what: what, skipped: "hnswlib did not reach recall 0.95 in the sweep"})
	case !okS:
		b.checks = append(b.checks, check{what: what, measured: "not reached (Shoal's sweep stays below recall 0.95)", target: ">= 1.0x"})
	default:
		b.checks = append(b.checks, check{what: what, measured: fmt.Sprintf("%.2fx (%.0f vs %.0f QPS)", s/p, s, p), target: ">= 1.0x", ok: s/p >= 1.0})
	}
}

// table prints each engine's build time and sweep, then QPS at the recall
// targets with Shoal's ratios to each peer.
func (b *bench) table(title string, engines []engine) {
	fmt.Fprintf(b.out, "\n%s: build time and recall@%d / QPS per efSearch\n", title, b.cfg.k)
	fmt.Fprintf(b.out, "  %-8s", "")
	for _, e := range engines {
		fmt.Fprintf(b.out, " %22s", e.name)
	}
	fmt.Fprintf(b.out, "\n  %-8s", "build")
	for _, e := range engines {
		fmt.Fprintf(b.out, " %21.1fs", e.build)
	}
	fmt.Fprintln(b.out)
	for i, ef := range b.cfg.efs {
		fmt.Fprintf(b.out, "  ef %-5d", ef)
		for _, e := range engines {
			if i < len(e.sweep) {
				fmt.Fprintf(b.out, "   %.4f %9.0f QPS", e.sweep[i].Recall, e.sweep[i].QPS)
			}
		}
		fmt.Fprintln(b.out)
	}
	fmt.Fprintf(b.out, "  QPS at recall (log-linear between sweep points; >= : already at the smallest ef):\n")
	for _, target := range []float64{0.90, 0.95, 0.99} {
		fmt.Fprintf(b.out, "  @%.2f  ", target)
		var shoal float64
		for i, e := range engines {
			q, at, ok := qpsAt(e.sweep, target)
			if !ok {
				fmt.Fprintf(b.out, " %22s", "not reached")
				continue
			}
			fmt.Fprintf(b.out, " %22s", fmt.Sprintf("%s%.0f", at, q))
			if i == 0 {
				shoal = q
			}
		}
		for _, e := range engines[1:] {
			q, _, ok := qpsAt(e.sweep, target)
			if ok && shoal > 0 && !strings.HasPrefix(e.name, "Shoal") {
				fmt.Fprintf(b.out, "   Shoal/%s %.2f", e.name, shoal/q)
			}
		}
		fmt.Fprintln(b.out)
	}
	for _, e := range engines[1:] {
		if !strings.HasPrefix(e.name, "Shoal") {
			fmt.Fprintf(b.out, "  build Shoal/%s %.2f\n", e.name, engines[0].build/e.build)
		}
	}
}

// ---- part B: synthetic ----

func synth(n, nq, dim, clusters int, seed uint64) *data {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	centers := make([]float32, clusters*dim)
	for i := range centers {
		centers[i] = float32(r.NormFloat64())
	}
	gen := func(rows int) []float32 {
		v := make([]float32, rows*dim)
		for i := range rows {
			c := centers[r.IntN(clusters)*dim:][:dim]
			for j := range dim {
				v[i*dim+j] = c[j] + 0.6*float32(r.NormFloat64())
			}
		}
		return v
	}
	return &data{name: "synthetic", n: n, nq: nq, dim: dim, base: gen(n), query: gen(nq)}
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func (b *bench) synthetic(ctx context.Context) error {
	cfg := b.cfg
	whats := []string{"2-core build speedup, synthetic", "memory per vector float32 mode, synthetic",
		"memory per vector int8 mode, synthetic", "reopen of the persisted store, synthetic",
		"QPS@0.95 vs hnswlib, synthetic L2", "single-thread build vs hnswlib, synthetic L2"}
	if cfg.synthetic <= 0 {
		fmt.Fprintln(b.out, "\nB. Synthetic set skipped (-synthetic 0).")
		b.skipAll("-synthetic 0", whats...)
		return nil
	}
	d := synth(cfg.synthetic, cfg.synthQ, cfg.dim, cfg.clusters, cfg.seed)
	fmt.Fprintf(b.out, "\nB. Synthetic clustered set: %d × %d (%d gaussian clusters, seed %d), %d queries, k=%d, L2\n", d.n, d.dim, cfg.clusters, cfg.seed, d.nq, cfg.k)
	recs := d.records()
	fmt.Fprintln(b.log, "synthetic: exact ground truth")
	gt, _, err := exactBatch(ctx, d, recs, index.Euclidean, 2, cfg.k)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "annbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// One thread: build time and memory.
	fmt.Fprintln(b.log, "synthetic: Shoal build, 1 thread")
	before := heapInuse()
	s1, build1, err := buildWith(ctx, recs, filepath.Join(tmp, "one"), hnswOptions(d, index.Euclidean, cfg.m, cfg.efc, 1))
	if err != nil {
		return err
	}
	after := heapInuse()
	perVec := float64(after-before) / float64(d.n)
	raw := float64(4 * d.dim)
	if err := s1.Close(); err != nil {
		return err
	}
	fmt.Fprintf(b.log, "synthetic: built in %.1fs; build, 2 threads\n", build1)

	// Two threads: build time, sweep, persistence.
	dir := filepath.Join(tmp, "two")
	opts := hnswOptions(d, index.Euclidean, cfg.m, cfg.efc, 2)
	s2, build2, err := buildWith(ctx, recs, dir, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.log, "synthetic: built in %.1fs; sweep\n", build2)
	sw, err := sweep(ctx, s2, d, gt, cfg.efs, cfg.k)
	if err != nil {
		s2.Close()
		return err
	}
	if err := s2.Compact(ctx); err != nil {
		s2.Close()
		return err
	}
	if err := s2.Close(); err != nil {
		return err
	}
	runtime.GC()
	fmt.Fprintln(b.log, "synthetic: reopen")
	start := time.Now()
	s3, err := memory.Open(ctx, dir, opts...)
	if err != nil {
		return err
	}
	if _, err := s3.QueryWith(ctx, d.queryList(cfg.k, 1)[0]); err != nil {
		s3.Close()
		return err
	}
	reopen := time.Since(start).Seconds()
	if err := s3.Close(); err != nil {
		return err
	}

	// int8 mode: memory and recall, built on two threads in memory.
	fmt.Fprintln(b.log, "synthetic: Shoal build, int8 mode, 2 threads")
	before = heapInuse()
	s4, build8, err := buildWith(ctx, recs, "", append(hnswOptions(d, index.Euclidean, cfg.m, cfg.efc, 2), memory.WithHNSWInt8()))
	if err != nil {
		return err
	}
	perVec8 := float64(heapInuse()-before) / float64(d.n)
	fmt.Fprintf(b.log, "synthetic: built in %.1fs; sweep\n", build8)
	sw8, err := sweep(ctx, s4, d, gt, cfg.efs, cfg.k)
	s4.Close()
	if err != nil {
		return err
	}

	engines := []engine{{name: "Shoal (2 threads)", build: build2, sweep: sw}, {name: "Shoal int8 (2 thr.)", build: build8, sweep: sw8}}
	var hl *peerResult
	if b.peersOK {
		peers, err := b.runPeers(ctx, d, map[string][][]int32{"l2": gt}, []peerTask{{Engine: "hnswlib", Space: "l2", GT: "l2"}})
		if err != nil {
			return err
		}
		hl = &peers[0]
		engines = append(engines, engine{name: "hnswlib (1 thread)", build: hl.Build, sweep: hl.Sweep})
	}
	fmt.Fprintf(b.out, "Persistent stores (Open, default sync); each build is one Upsert of all %d records, its log append included.\n", d.n)
	fmt.Fprintf(b.out, "  Shoal build: 1 thread %.1fs, 2 threads %.1fs: speedup %.2fx\n", build1, build2, build1/build2)
	b.table("synthetic L2 (query loops on one thread)", engines)
	fmt.Fprintf(b.out, "  memory per vector (HeapInuse after GC, before and after the load, / N): float32 mode %.0f B = %.2fx raw (%d B)\n", perVec, perVec/raw, 4*d.dim)
	fmt.Fprintf(b.out, "  memory per vector, int8 mode (WithHNSWInt8, an in-memory store): %.0f B = %.2fx raw\n", perVec8, perVec8/raw)
	fmt.Fprintf(b.out, "  reopen (Open after Compact, plus a first query): %.2fs\n", reopen)

	speed := build1 / build2
	b.checks = append(b.checks, check{what: "2-core build speedup, synthetic", measured: fmt.Sprintf("%.2fx (%.1fs vs %.1fs)", speed, build1, build2), target: ">= 1.7x", ok: speed >= 1.7})
	for _, m := range []struct {
		what  string
		per   float64
		sweep []point
		limit float64
	}{
		{"memory per vector float32 mode, synthetic", perVec, sw, 1.3},
		{"memory per vector int8 mode, synthetic", perVec8, sw8, 0.45},
	} {
		_, _, reached := qpsAt(m.sweep, 0.95)
		note := ""
		if !reached {
			note = ", recall 0.95 not reached"
		}
		b.checks = append(b.checks, check{what: m.what, measured: fmt.Sprintf("%.2fx raw (%.0f B/vector%s)", m.per/raw, m.per, note),
			target: fmt.Sprintf("<= %.2gx at recall >= 0.95", m.limit), ok: m.per/raw <= m.limit && reached})
	}
	target, scaled := 5.0, ""
	if d.n < 1_000_000 {
		target = 5.0 * float64(d.n) / 1e6
		scaled = fmt.Sprintf(", scaled from 5 s at 1M to N=%d", d.n)
	}
	b.checks = append(b.checks, check{what: "reopen of the persisted store, synthetic", measured: fmt.Sprintf("%.2fs", reopen), target: fmt.Sprintf("<= %.2g s%s", target, scaled), ok: reopen <= target})
	if hl != nil {
		b.qpsCheck("QPS@0.95 vs hnswlib, synthetic L2", sw, hl.Sweep)
		r := build1 / hl.Build
		b.checks = append(b.checks, check{what: "single-thread build vs hnswlib, synthetic L2",
			measured: fmt.Sprintf("%.2fx (%.1fs vs %.1fs)", r, build1, hl.Build), target: "<= 1.0x", ok: r <= 1.0})
	} else {
		b.skipAll(b.peerWhy, whats[4:]...)
	}
	return nil
}

// ---- peers ----

type peerTask struct {
	Engine  string `json:"engine"`
	Space   string `json:"space"`
	GT      string `json:"gt"`
	Single  int    `json:"single,omitempty"`
	Threads []int  `json:"threads,omitempty"`
}

type peerResult struct {
	Engine     string             `json:"engine"`
	Space      string             `json:"space"`
	Build      float64            `json:"build_s"`
	Sweep      []point            `json:"sweep"`
	SingleQPS  float64            `json:"single_qps"`
	BatchedQPS map[string]float64 `json:"batched_qps"`
	Recall     float64            `json:"recall"`
}

func writeFile(path string, v any) error {
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o600)
}

// runPeers writes d and the ground truths to files and runs peers.py on
// them.
func (b *bench) runPeers(ctx context.Context, d *data, gts map[string][][]int32, tasks []peerTask) ([]peerResult, error) {
	dir, err := os.MkdirTemp("", "annbench-peers-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	spec := map[string]any{"n": d.n, "nq": d.nq, "dim": d.dim, "k": b.cfg.k, "m": b.cfg.m, "efc": b.cfg.efc, "efs": b.cfg.efs,
		"base": filepath.Join(dir, "base.f32"), "queries": filepath.Join(dir, "queries.f32")}
	if err := writeFile(spec["base"].(string), d.base); err != nil {
		return nil, err
	}
	if err := writeFile(spec["queries"].(string), d.query); err != nil {
		return nil, err
	}
	var ts []map[string]any
	for _, t := range tasks {
		path := filepath.Join(dir, "gt-"+t.GT+".i32")
		if _, err := os.Stat(path); err != nil {
			if err := writeFile(path, slices.Concat(gts[t.GT]...)); err != nil {
				return nil, err
			}
		}
		ts = append(ts, map[string]any{"engine": t.Engine, "space": t.Space, "gt": path, "single": t.Single, "threads": t.Threads})
	}
	spec["tasks"] = ts
	in, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "peers.py")
	if err := os.WriteFile(script, peersScript, 0o600); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "%s: running the peers\n", d.name)
	cmd := exec.CommandContext(ctx, peerPython, script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = b.log
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("peers.py: %w", err)
	}
	var res struct {
		Results []peerResult `json:"results"`
	}
	if err := json.Unmarshal(outb, &res); err != nil {
		return nil, fmt.Errorf("peers.py output: %w", err)
	}
	if len(res.Results) != len(tasks) {
		return nil, fmt.Errorf("peers.py returned %d results for %d tasks", len(res.Results), len(tasks))
	}
	return res.Results, nil
}
