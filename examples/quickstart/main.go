// Command quickstart runs Shoal's main job end to end on the embedded
// defaults, with no flags, no network and no cloud account:
//
//  1. load a labeled image set (the Fashion-MNIST test split that ships in
//     the repository, or -data DIR),
//  2. embed every image with embedding/local, showing progress,
//  3. index the vectors in index/memory (in memory, or on disk with -store),
//  4. take a bucket of 5 examples of one class as the query, and print the
//     top results with their labels and the precision,
//  5. fine-tune an adapter over the pixels on 80% of the labeled images,
//     print precision@10 and mAP@R on the other 20% before and after,
//     re-index with the fine-tuned model and search again,
//  6. run three rounds of relevance feedback in both embeddings, the labels
//     playing the user, and print the precision of each round.
//
// Run it with:
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -class Shirt -k 30
//	go run ./examples/quickstart -data /usr/share/datasets/fashion-mnist
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

func main() {
	var cfg config
	flag.StringVar(&cfg.data, "data", "", "a folder with labels.csv, or Fashion-MNIST IDX files (e.g. "+dataset.DebianFashionDir+"); default: the shipped sample")
	flag.StringVar(&cfg.class, "class", "Shirt", "the class whose examples form the query bucket")
	flag.IntVar(&cfg.bucket, "bucket", 5, "examples in the query bucket")
	flag.IntVar(&cfg.k, "k", 20, "results to show")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed for picking the bucket")
	flag.StringVar(&cfg.agg, "agg", "mean", "how the bucket's examples combine: mean, max or rrf")
	flag.IntVar(&cfg.epochs, "epochs", 20, "fine-tuning epochs at most (0 skips fine-tuning)")
	flag.IntVar(&cfg.rounds, "rounds", 3, "relevance-feedback rounds after round 0 (0 skips feedback)")
	flag.StringVar(&cfg.storeDir, "store", "", "keep the index on disk in this directory (default: in memory)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

type config struct {
	data, class, storeDir, agg string
	bucket, k, epochs, rounds  int
	seed                       uint64
}

func run(ctx context.Context, cfg config, out, status io.Writer) error {
	start := time.Now()
	items, err := dataset.Load(cfg.data)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Loaded %d labeled images in %v.\n", len(items), time.Since(start).Round(time.Millisecond))
	agg, err := search.ParseAggregation(cfg.agg)
	if err != nil {
		return err
	}
	bucketIDs, err := pickBucket(items, cfg.class, cfg.bucket, cfg.seed)
	if err != nil {
		return err
	}
	var bucket search.Bucket
	for _, id := range bucketIDs {
		bucket.Positives = append(bucket.Positives, search.ByID(id))
	}

	// 1. The embedded default image encoder: pixels, L2-normalised. An honest
	// baseline; fine-tuning or Vertex AI replace it without changing the rest.
	base, err := local.NewImageEncoder()
	if err != nil {
		return err
	}

	// 2. The embedded default store.
	var store *memory.Store
	if cfg.storeDir != "" {
		store, err = memory.Open(ctx, cfg.storeDir, memory.WithMetric(index.Cosine))
	} else {
		store, err = memory.New(memory.WithMetric(index.Cosine))
	}
	if err != nil {
		return err
	}
	defer store.Close()

	// 3. Embed and index in one stream, one namespace per model version.
	baseNS := base.Info().Namespace()
	if err := embedAndIndex(ctx, base, store, baseNS, items, out, status); err != nil {
		return err
	}

	// 4. Search with a bucket of examples of one class, by stored ID.
	fmt.Fprintf(out, "\nQuery: a bucket of %d %q examples (%s), aggregated by %s.\n", len(bucketIDs), cfg.class, strings.Join(bucketIDs, ", "), agg)
	if err := searchAndShow(ctx, store, baseNS, bucket, agg, cfg, out, true); err != nil {
		return err
	}
	namespaces := []string{baseNS}
	names := []string{"pixels"}

	// 5. Fine-tune an adapter over the pixels on most of the labeled set, and
	// measure on the images it never saw; then index with the fine-tuned
	// model (an embedding.Encoder like any other) and search again.
	if cfg.epochs > 0 {
		model, err := fineTune(ctx, base, items, cfg, out)
		if err != nil {
			return err
		}
		tunedNS := model.Info().Namespace()
		if err := embedAndIndex(ctx, model, store, tunedNS, items, out, status); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nThe same bucket, searched in the fine-tuned embeddings.\n")
		if err := searchAndShow(ctx, store, tunedNS, bucket, agg, cfg, out, true); err != nil {
			return err
		}
		namespaces = append(namespaces, tunedNS)
		names = append(names, "fine-tuned")
	}

	// 6. Relevance feedback: each round shows the next k unseen results, the
	// labels play the user, and the session re-ranks the pool on the marks.
	if cfg.rounds > 0 {
		if err := feedbackRounds(ctx, store, namespaces, names, bucket, agg, cfg, out); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nDone in %v.\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// embedAndIndex embeds every item with enc and upserts it into namespace
// ns: EncodeAll batches and parallelises the encoder, UpsertAll batches and
// parallelises the store.
func embedAndIndex(ctx context.Context, enc embedding.Encoder, store index.VectorStore, ns string, items []dataset.Item, out, status io.Writer) error {
	var lastReport time.Duration
	progress := embedding.WithProgress(func(p embedding.Progress) {
		if p.Done < len(items) && p.Elapsed-lastReport < 250*time.Millisecond {
			return // at most four updates a second
		}
		lastReport = p.Elapsed
		fmt.Fprintf(status, "\rembedding: %d/%d images (%.0f/s)", p.Done, len(items), float64(p.Done)/p.Elapsed.Seconds())
	})
	t0 := time.Now()
	n, err := index.UpsertAll(ctx, store, ns, dataset.Records(ctx, enc, items, progress))
	fmt.Fprintln(status)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Embedded and indexed %d images with %s (dim %d) in %v.\n",
		n, enc.Info().Model, enc.Info().Dim, time.Since(t0).Round(time.Millisecond))
	return nil
}

// searchAndShow runs the bucket search in namespace ns and prints the
// results with their labels (the table only when table is set) and the
// precision.
func searchAndShow(ctx context.Context, store index.VectorStore, ns string, bucket search.Bucket, agg search.Aggregation, cfg config, out io.Writer, table bool) error {
	searcher, err := search.New(store, ns)
	if err != nil {
		return err
	}
	results, err := searcher.Search(ctx, bucket, search.WithTopK(cfg.k), search.WithAggregation(agg))
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	relevant := 0
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tid\tlabel\tscore\trelevant")
	for i, r := range results {
		label, _ := r.Metadata.String("label")
		mark := ""
		if label == cfg.class {
			relevant++
			mark = "yes"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%s\n", i+1, r.ID, label, r.Score, mark)
	}
	if table {
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	if len(results) > 0 {
		fmt.Fprintf(out, "precision@%d = %.2f (%d of %d results are %q)\n", len(results), float64(relevant)/float64(len(results)), relevant, len(results), cfg.class)
	}
	return nil
}

// fineTune trains an adapter over base on a seeded 80% of the items (the
// trainer holds out a tenth of those for early stopping) and reports
// precision@10 and mAP@R, leave-one-out, on the other 20% before and after.
func fineTune(ctx context.Context, base embedding.Encoder, items []dataset.Item, cfg config, out io.Writer) (*finetune.LocalModel, error) {
	examples := make([]finetune.Example, len(items))
	for i, it := range items {
		examples[i] = finetune.Example{Input: embedding.Input{ID: it.ID, Image: it.Image, MIMEType: it.MIMEType}, Label: it.Label}
	}
	r := rand.New(rand.NewPCG(cfg.seed, 0xf17e))
	r.Shuffle(len(examples), func(i, j int) { examples[i], examples[j] = examples[j], examples[i] })
	cut := len(examples) * 4 / 5
	train, heldOut := examples[:cut], examples[cut:]

	// 128 principal components of the pixels, a small MLP to 32 dimensions,
	// the proxy loss: a few seconds on two cores for 8,000 images.
	trainer, err := finetune.NewTrainer(base,
		finetune.WithInputPCA(min(128, len(train)/2), false),
		finetune.WithHidden(256),
		finetune.WithOutputDim(32),
		finetune.WithLoss(finetune.Proxy),
		finetune.WithTemperature(0.2),
		finetune.WithBatch(min(10, distinctLabels(train)), 16),
		finetune.WithEpochs(cfg.epochs),
		finetune.WithSeed(cfg.seed),
	)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nFine-tuning on %d images (%d held out for the measure)...\n", len(train), len(heldOut))
	model, err := trainer.TrainLocal(ctx, train, nil)
	if err != nil {
		return nil, err
	}
	rep := model.Report()
	before, err := finetune.Evaluate(ctx, base, heldOut)
	if err != nil {
		return nil, err
	}
	after, err := finetune.Evaluate(ctx, model, heldOut)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Trained %d epochs (kept epoch %d) in %v.\n", len(rep.Epochs), rep.BestEpoch, rep.Duration.Round(time.Millisecond))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "held-out (%d images)\tP@%d\tmAP@R\t\n", len(heldOut), before.K)
	fmt.Fprintf(tw, "pixels\t%.3f\t%.3f\t\n", before.PrecisionAtK, before.MAPAtR)
	fmt.Fprintf(tw, "fine-tuned\t%.3f\t%.3f\t\n", after.PrecisionAtK, after.MAPAtR)
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	return model, nil
}

// feedbackRounds runs cfg.rounds rounds of relevance feedback in each
// namespace, with the items' labels playing the user, and prints the fresh
// precision of every round.
func feedbackRounds(ctx context.Context, store index.VectorStore, namespaces, names []string, bucket search.Bucket, agg search.Aggregation, cfg config, out io.Writer) error {
	precisions := make([][]float64, len(namespaces))
	strategies := make([][]feedback.Strategy, len(namespaces))
	for n, ns := range namespaces {
		s, err := feedback.NewSession(store, ns, bucket, feedback.WithAggregation(agg))
		if err != nil {
			return err
		}
		for range cfg.rounds + 1 {
			res, err := s.Results(ctx, cfg.k)
			if err != nil {
				return err
			}
			marks := make([]feedback.Mark, len(res))
			for i, r := range res {
				label, _ := r.Metadata.String("label")
				marks[i] = feedback.Mark{ID: r.ID, Relevant: label == cfg.class}
			}
			if err := s.MarkAll(ctx, marks...); err != nil {
				return err
			}
		}
		for _, r := range s.Rounds() {
			precisions[n] = append(precisions[n], r.Precision())
			strategies[n] = append(strategies[n], r.Strategy)
		}
	}
	fmt.Fprintf(out, "\nRelevance feedback: each round shows the next %d unseen results; the labels play the user.\n\n", cfg.k)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "round")
	for _, name := range names {
		fmt.Fprintf(tw, "\t%s", name)
	}
	fmt.Fprintln(tw)
	for i := range precisions[0] {
		fmt.Fprintf(tw, "%d", i)
		for n := range names {
			if i < len(precisions[n]) {
				fmt.Fprintf(tw, "\t%.2f (%s)", precisions[n][i], strategies[n][i])
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// distinctLabels counts the labels among examples.
func distinctLabels(examples []finetune.Example) int {
	seen := map[string]bool{}
	for _, ex := range examples {
		seen[ex.Label] = true
	}
	return len(seen)
}

// pickBucket chooses n random items of class, reproducibly.
func pickBucket(items []dataset.Item, class string, n int, seed uint64) ([]string, error) {
	var ids []string
	labels := map[string]bool{}
	for _, it := range items {
		labels[it.Label] = true
		if it.Label == class {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) == 0 {
		known := make([]string, 0, len(labels))
		for l := range labels {
			known = append(known, l)
		}
		slices.Sort(known)
		return nil, fmt.Errorf("no item has label %q; labels are: %s", class, strings.Join(known, ", "))
	}
	if n < 1 {
		return nil, errors.New("-bucket must be at least 1")
	}
	r := rand.New(rand.NewPCG(seed, 0x5a0a1))
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids[:min(n, len(ids))], nil
}
