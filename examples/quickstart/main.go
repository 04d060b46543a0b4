// Command quickstart runs Shoal's main job end to end on the embedded
// defaults, with no flags, no network and no cloud account:
//
//  1. load a labeled image set (the Fashion-MNIST test split that ships in
//     the repository, or -data DIR),
//  2. embed every image with embedding/local, showing progress,
//  3. index the vectors in index/memory (in memory, or on disk with -store),
//  4. take a bucket of 5 examples of one class as the query,
//  5. print the top results with their labels and the precision.
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
	"iter"
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
	flag.StringVar(&cfg.agg, "agg", "max", "how the bucket's examples combine: mean, max or rrf")
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
	bucket, k                  int
	seed                       uint64
}

func run(ctx context.Context, cfg config, out, status io.Writer) error {
	start := time.Now()
	items, err := dataset.Load(cfg.data)
	if err != nil {
		return err
	}
	byID := make(map[string]dataset.Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	fmt.Fprintf(out, "Loaded %d labeled images in %v.\n", len(items), time.Since(start).Round(time.Millisecond))

	// 1. The embedded default image encoder: pixels, L2-normalised. An honest
	// baseline; fine-tuning or Vertex AI replace it without changing the rest.
	enc, err := local.NewImageEncoder()
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
	ns := enc.Info().Model // one namespace per model version

	// 3. Embed and index in one stream: EncodeAll batches and parallelises the
	// encoder, UpsertAll batches and parallelises the store.
	inputs := func(yield func(embedding.Input, error) bool) {
		for _, it := range items {
			if !yield(embedding.Input{ID: it.ID, Image: it.Image, MIMEType: it.MIMEType}, nil) {
				return
			}
		}
	}
	var lastReport time.Duration
	progress := embedding.WithProgress(func(p embedding.Progress) {
		if p.Encoded < len(items) && p.Elapsed-lastReport < 250*time.Millisecond {
			return // at most four updates a second
		}
		lastReport = p.Elapsed
		fmt.Fprintf(status, "\rembedding: %d/%d images (%.0f/s)", p.Encoded, len(items), float64(p.Encoded)/p.Elapsed.Seconds())
	})
	records := toRecords(embedding.EncodeAll(ctx, enc, inputs, progress), byID)
	t0 := time.Now()
	n, err := index.UpsertAll(ctx, store, ns, records)
	fmt.Fprintln(status)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Embedded and indexed %d images with %s (dim %d) in %v.\n",
		n, enc.Info().Model, enc.Info().Dim, time.Since(t0).Round(time.Millisecond))

	// 4. A bucket of examples of one class, by stored ID.
	bucketIDs, err := pickBucket(items, cfg.class, cfg.bucket, cfg.seed)
	if err != nil {
		return err
	}
	searcher, err := search.New(store, ns)
	if err != nil {
		return err
	}
	var bucket search.Bucket
	for _, id := range bucketIDs {
		bucket.Positives = append(bucket.Positives, search.ByID(id))
	}
	agg, err := search.ParseAggregation(cfg.agg)
	if err != nil {
		return err
	}
	results, err := searcher.Search(ctx, bucket, search.TopK(cfg.k), search.WithAggregation(agg))
	if err != nil {
		return err
	}

	// 5. The results, with their labels.
	fmt.Fprintf(out, "\nQuery: a bucket of %d %q examples (%s), aggregated by %s.\n\n", len(bucketIDs), cfg.class, strings.Join(bucketIDs, ", "), agg)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tid\tlabel\tscore\trelevant")
	relevant := 0
	for i, r := range results {
		label, _ := r.Metadata.String("label")
		mark := ""
		if label == cfg.class {
			relevant++
			mark = "yes"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%s\n", i+1, r.ID, label, r.Score, mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(results) > 0 {
		fmt.Fprintf(out, "\nprecision@%d = %.2f (%d of %d results are %q)\n", len(results), float64(relevant)/float64(len(results)), relevant, len(results), cfg.class)
	}
	fmt.Fprintf(out, "Done in %v.\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// toRecords turns embeddings into records carrying each item's label.
func toRecords(embedded iter.Seq2[embedding.Embedded, error], byID map[string]dataset.Item) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		for e, err := range embedded {
			if err != nil {
				yield(index.Record{}, err)
				return
			}
			it := byID[e.Input.ID]
			md := index.Metadata{"label": it.Label}
			if it.Split != "" {
				md["split"] = it.Split
			}
			if !yield(index.Record{ID: e.Input.ID, Vector: e.Vector, Metadata: md}, nil) {
				return
			}
		}
	}
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
