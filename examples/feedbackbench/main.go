// Command feedbackbench measures relevance feedback (package feedback) on
// Fashion-MNIST: how precise each round's fresh results are when the true
// labels play the user.
//
// The protocol: the pool is the 60,000 images of the train split, embedded
// with the pixel encoder of embedding/local and indexed in index/memory
// (cosine). For each class and seed, a bucket of 5 random images of the
// class is the query; each round shows the next 20 unseen results, every
// one is marked relevant or not by its label, and the round's fresh
// precision is the share of those 20 that are relevant. Round 0 is the
// plain bucket similarity; rounds 1 to 5 re-rank with the marks so far. The
// table gives, per class and averaged over the seeds, the precision of
// each round, then the average over classes; the check lines test the
// targets: fresh precision ≥ 0.90 by round 3 on average over the classes
// whose round-0 precision is below 0.7, and no class ending below its
// round-0 precision.
//
// It needs Debian's dataset-fashion-mnist:
//
//	sudo apt-get install dataset-fashion-mnist
//	go run ./examples/feedbackbench
//	go run ./examples/feedbackbench -reranker rocchio -seeds 10
//	go run ./examples/feedbackbench -guard=false
//	go run ./examples/feedbackbench -data fashion-sample  # the 10k test split shipped with Shoal
//	go run ./examples/feedbackbench -data ./my-images     # a folder with labels.csv
//
// With -finetune, the pool is embedded instead by an adapter that package
// finetune trains (with its defaults) over the pixel encoder on the 10,000
// labeled images of the test split shipped with Shoal, which the pool does
// not contain:
//
//	go run ./examples/feedbackbench -finetune
//
// Each line of the table also gives how often each strategy ranked the
// rounds 1–5 (c: classifier, b: blend, s: similarity) and the mean wall
// time of a round.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/finetune"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search"
)

// sampleData names the Fashion-MNIST test split shipped with Shoal.
const sampleData = "fashion-sample"

type config struct {
	data       string
	seeds      int
	rounds     int
	k          int
	bucket     int
	reranker   string
	l2         float64
	guard      bool
	margin     float64
	candidates int
	scan       int
	background int
	agg        string
	classes    string
	finetune   bool
	limit      int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.data, "data", dataset.DebianFashionDir, "directory of the Fashion-MNIST IDX files (the train split is the pool), a folder with labels.csv, or "+sampleData+" for the shipped test split")
	flag.IntVar(&cfg.seeds, "seeds", 5, "buckets drawn per class")
	flag.IntVar(&cfg.rounds, "rounds", 5, "feedback rounds after round 0")
	flag.IntVar(&cfg.k, "k", 20, "results shown per round")
	flag.IntVar(&cfg.bucket, "bucket", 5, "query examples per bucket")
	flag.StringVar(&cfg.reranker, "reranker", "logistic", "logistic or rocchio")
	flag.Float64Var(&cfg.l2, "l2", feedback.DefaultL2, "regularisation λ of the logistic reranker")
	flag.BoolVar(&cfg.guard, "guard", true, "guard against harmful feedback")
	flag.Float64Var(&cfg.margin, "margin", feedback.DefaultGuardMargin, "the guard's AUC margin")
	flag.IntVar(&cfg.candidates, "candidates", feedback.DefaultCandidates, "candidates per store query")
	flag.IntVar(&cfg.scan, "scan", feedback.DefaultScanThreshold, "re-score the whole pool when it has at most this many records")
	flag.IntVar(&cfg.background, "background", feedback.DefaultBackground, "background sample size")
	flag.StringVar(&cfg.agg, "agg", "mean", "bucket aggregation of the plain similarity: mean, max or rrf")
	flag.StringVar(&cfg.classes, "classes", "", "comma-separated class names (default: all)")
	flag.IntVar(&cfg.limit, "limit", 0, "use only the first n images of the pool (0: all)")
	flag.BoolVar(&cfg.finetune, "finetune", false, "embed the pool with an adapter fine-tuned on the shipped test split")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "feedbackbench:", err)
		os.Exit(1)
	}
}

// classResult is one class's precision per round, summed over seeds.
type classResult struct {
	class     string
	precision []float64 // per round, mean over seeds
	strategy  map[feedback.Strategy]int
	elapsed   time.Duration // total over rounds ≥ 1
	rounds    int
}

// run runs the protocol and prints the table; it returns each class's
// results.
func run(ctx context.Context, cfg config, out, status io.Writer) ([]classResult, error) {
	if cfg.seeds < 1 || cfg.rounds < 0 || cfg.k < 1 || cfg.bucket < 1 {
		return nil, errors.New("-seeds, -k and -bucket must be at least 1, -rounds at least 0")
	}
	agg, err := search.ParseAggregation(cfg.agg)
	if err != nil {
		return nil, err
	}
	var newReranker func() feedback.Reranker
	switch cfg.reranker {
	case "logistic":
		newReranker = func() feedback.Reranker { return &feedback.Logistic{L2: cfg.l2} }
	case "rocchio":
		newReranker = func() feedback.Reranker { return &feedback.Rocchio{} }
	default:
		return nil, fmt.Errorf("unknown -reranker %q (want logistic or rocchio)", cfg.reranker)
	}

	start := time.Now()
	var items []dataset.Item
	if cfg.data == sampleData {
		items, err = dataset.FashionSample()
	} else if _, statErr := os.Stat(filepath.Join(cfg.data, "labels.csv")); statErr == nil {
		items, err = dataset.LoadFolder(cfg.data)
	} else {
		items, err = dataset.LoadFashion(cfg.data, "train")
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w\n(install Debian's dataset-fashion-mnist, or run with -data %s)", err, sampleData)
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg.limit > 0 && cfg.limit < len(items) {
		items = items[:cfg.limit]
	}
	base, err := local.NewImageEncoder()
	if err != nil {
		return nil, err
	}
	var enc embedding.Encoder = base
	if cfg.finetune {
		if enc, err = fineTune(ctx, base, out); err != nil {
			return nil, err
		}
	}
	store, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		return nil, err
	}
	defer store.Close()
	ns := enc.Info().Namespace()
	// One batch at a time, so that the store holds the records in the
	// same order on every run and the background sample is reproducible.
	n, err := index.UpsertAll(ctx, store, ns, dataset.Records(ctx, enc, items), embedding.WithConcurrency(1))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Pool: %d images embedded with %s (dim %d) and indexed in %v.\n",
		n, ns, enc.Info().Dim, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(out, "Protocol: %d seeds per class, buckets of %d, %d results per round, rounds 0–%d; reranker %s (λ %g), guard %v (margin %.2f), aggregation %s, %d candidates, background %d, scan threshold %d.\n\n",
		cfg.seeds, cfg.bucket, cfg.k, cfg.rounds, cfg.reranker, cfg.l2, cfg.guard, cfg.margin, agg, cfg.candidates, cfg.background, cfg.scan)

	byClass := make(map[string][]string)
	for _, it := range items {
		byClass[it.Label] = append(byClass[it.Label], it.ID)
	}
	classes := classNames(byClass)
	if cfg.classes != "" {
		classes = strings.Split(cfg.classes, ",")
	}
	opts := []feedback.Option{
		feedback.WithReranker(newReranker), feedback.WithGuard(cfg.guard), feedback.WithGuardMargin(cfg.margin),
		feedback.WithAggregation(agg), feedback.WithCandidates(cfg.candidates),
		feedback.WithScanThreshold(cfg.scan), feedback.WithBackground(cfg.background),
	}
	var results []classResult
	for ci, class := range classes {
		ids := byClass[class]
		if len(ids) < cfg.bucket {
			return nil, fmt.Errorf("class %q has %d items, fewer than a bucket", class, len(ids))
		}
		cr := classResult{class: class, precision: make([]float64, cfg.rounds+1), strategy: map[feedback.Strategy]int{}}
		for seed := range cfg.seeds {
			fmt.Fprintf(status, "\r%s: seed %d/%d   ", class, seed+1, cfg.seeds)
			prec, rounds, err := session(ctx, store, ns, pickBucket(ids, cfg.bucket, uint64(seed), uint64(ci)), class, cfg, opts)
			if err != nil {
				return nil, fmt.Errorf("class %q, seed %d: %w", class, seed, err)
			}
			for r, p := range prec {
				cr.precision[r] += p / float64(cfg.seeds)
			}
			for _, rd := range rounds[1:] {
				cr.strategy[rd.Strategy]++
				cr.elapsed += rd.Elapsed
				cr.rounds++
			}
		}
		results = append(results, cr)
	}
	fmt.Fprint(status, "\r                                        \r")
	report(out, cfg, results)
	fmt.Fprintf(out, "\nDone in %v.\n", time.Since(start).Round(time.Second))
	return results, nil
}

// fineTune trains an adapter over base on the Fashion-MNIST test split
// shipped with Shoal.
func fineTune(ctx context.Context, base embedding.Encoder, out io.Writer) (embedding.Encoder, error) {
	items, err := dataset.FashionSample()
	if err != nil {
		return nil, err
	}
	examples := make([]finetune.Example, len(items))
	for i, it := range items {
		examples[i] = finetune.Example{Input: embedding.Input{ID: it.ID, Image: it.Image, MIMEType: it.MIMEType}, Label: it.Label}
	}
	trainer, err := finetune.NewTrainer(base)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	model, err := trainer.TrainLocal(ctx, examples, nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Fine-tuned %s on the %d images of the test split in %v.\n",
		model.Info().Model, len(examples), time.Since(t0).Round(time.Second))
	return model, nil
}

// session runs one bucket through round 0 and cfg.rounds feedback rounds
// and returns each round's fresh precision.
func session(ctx context.Context, store index.VectorStore, ns string, bucketIDs []string, class string,
	cfg config, opts []feedback.Option) ([]float64, []feedback.Round, error) {
	var bucket search.Bucket
	for _, id := range bucketIDs {
		bucket.Positives = append(bucket.Positives, search.ByID(id))
	}
	s, err := feedback.NewSession(store, ns, bucket, opts...)
	if err != nil {
		return nil, nil, err
	}
	prec := make([]float64, cfg.rounds+1)
	for r := range prec {
		res, err := s.Results(ctx, cfg.k)
		if err != nil {
			return nil, nil, err
		}
		marks := make([]feedback.Mark, len(res))
		relevant := 0
		for i, x := range res {
			label, _ := x.Metadata.String("label")
			marks[i] = feedback.Mark{ID: x.ID, Relevant: label == class}
			if marks[i].Relevant {
				relevant++
			}
		}
		if err := s.MarkAll(ctx, marks...); err != nil {
			return nil, nil, err
		}
		prec[r] = float64(relevant) / float64(cfg.k) // a short page counts as misses
	}
	return prec, s.Rounds(), nil
}

func report(out io.Writer, cfg config, results []classResult) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "class\t"
	for r := 0; r <= cfg.rounds; r++ {
		head += fmt.Sprintf("r%d\t", r)
	}
	fmt.Fprintln(tw, head+"strategies (c/b/s)\tms/round\t")
	avg := make([]float64, cfg.rounds+1)
	hard := make([]float64, cfg.rounds+1)
	nHard := 0
	var below []string
	for _, cr := range results {
		line := cr.class + "\t"
		for r, p := range cr.precision {
			line += fmt.Sprintf("%.2f\t", p)
			avg[r] += p / float64(len(results))
		}
		ms := 0.0
		if cr.rounds > 0 {
			ms = float64(cr.elapsed.Microseconds()) / 1000 / float64(cr.rounds)
		}
		fmt.Fprintf(tw, "%s%d/%d/%d\t%.1f\t\n", line, cr.strategy[feedback.Classifier], cr.strategy[feedback.Blend], cr.strategy[feedback.Similarity], ms)
		if cr.precision[0] < 0.7 {
			nHard++
			for r, p := range cr.precision {
				hard[r] += p
			}
		}
		if last := cr.precision[cfg.rounds]; last < cr.precision[0]-1e-9 {
			below = append(below, fmt.Sprintf("%s (%.2f → %.2f)", cr.class, cr.precision[0], last))
		}
	}
	line := "average\t"
	for _, p := range avg {
		line += fmt.Sprintf("%.2f\t", p)
	}
	fmt.Fprintln(tw, line+"\t\t")
	if nHard > 0 {
		line = fmt.Sprintf("round-0 < 0.7 (%d)\t", nHard)
		for _, p := range hard {
			line += fmt.Sprintf("%.2f\t", p/float64(nHard))
		}
		fmt.Fprintln(tw, line+"\t\t")
	}
	tw.Flush()
	fmt.Fprintln(out)
	if nHard > 0 && cfg.rounds >= 3 {
		p3 := hard[3] / float64(nHard)
		fmt.Fprintf(out, "check: round-3 precision on the %d classes below 0.7 at round 0: %.2f (target ≥ 0.90): %s\n", nHard, p3, verdict(p3 >= 0.90))
	}
	if len(below) == 0 {
		fmt.Fprintf(out, "check: every class ends (round %d) at or above its round-0 precision: ok\n", cfg.rounds)
	} else {
		fmt.Fprintf(out, "check: classes ending below round 0: %s: MISSED\n", strings.Join(below, ", "))
	}
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

// classNames returns the labels present: in Fashion-MNIST's order when
// they are its classes, sorted otherwise.
func classNames(byClass map[string][]string) []string {
	fashion := len(byClass) == len(dataset.FashionClasses)
	for _, c := range dataset.FashionClasses {
		if _, ok := byClass[c]; !ok {
			fashion = false
		}
	}
	if fashion {
		return dataset.FashionClasses
	}
	names := make([]string, 0, len(byClass))
	for c := range byClass {
		names = append(names, c)
	}
	slices.Sort(names)
	return names
}

// pickBucket draws n distinct IDs, reproducibly per seed and class.
func pickBucket(ids []string, n int, seed, class uint64) []string {
	r := rand.New(rand.NewPCG(seed, class))
	c := slices.Clone(ids)
	r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return c[:n]
}
