// Command vertex embeds a folder of labeled images with a Vertex AI model,
// indexes them in Shoal's embedded store and searches it with one of the
// images:
//
//  1. load the images (a folder with labels.csv, Fashion-MNIST IDX files,
//     or by default the Fashion-MNIST sample that ships with Shoal),
//  2. embed them with multimodalembedding@001 (or -endpoint, your own
//     model) through embedding.EncodeAll — batched within the model's
//     request limits, parallel, retrying quota and availability errors,
//  3. index the vectors with their labels in index/memory,
//  4. query with the -query image and print the nearest neighbours.
//
// Against Vertex AI it uses Application Default Credentials (gcloud auth
// application-default login):
//
//	go run ./examples/vertex -project my-project -location us-central1 -n 500
//	go run ./examples/vertex -project my-project -endpoint 1234567890 -dim 256 -data ./my-images
//
// With -fake it runs against the in-process fake (backends/vertex/vertextest),
// with no account and no network; the fake's vectors are hashes of the
// images, so only identical images are near each other:
//
//	go run ./examples/vertex -fake -n 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

type config struct {
	data, project, location, model, endpoint, query string
	n, dim, k, concurrency                          int
	fake                                            bool
	fakeLatency                                     time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.data, "data", "", "a folder with labels.csv, or Fashion-MNIST IDX files (e.g. "+dataset.DebianFashionDir+"); default: the shipped sample")
	flag.StringVar(&cfg.project, "project", os.Getenv("GOOGLE_CLOUD_PROJECT"), "Google Cloud project (default $GOOGLE_CLOUD_PROJECT)")
	flag.StringVar(&cfg.location, "location", "us-central1", "Vertex AI region")
	flag.StringVar(&cfg.model, "model", vertex.MultimodalEmbedding001, "publisher embedding model")
	flag.StringVar(&cfg.endpoint, "endpoint", "", "endpoint ID serving your own model (instead of -model)")
	flag.IntVar(&cfg.dim, "dim", 512, "vector dimension (multimodalembedding@001: 128, 256, 512 or 1408)")
	flag.IntVar(&cfg.n, "n", 0, "use only the first n images (0: all)")
	flag.IntVar(&cfg.k, "k", 10, "neighbours to print")
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "requests in flight")
	flag.StringVar(&cfg.query, "query", "", "ID of the query image (default: the first)")
	flag.BoolVar(&cfg.fake, "fake", false, "run against the in-process fake instead of Vertex AI")
	flag.DurationVar(&cfg.fakeLatency, "fake-latency", 0, "latency of each fake call")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vertex:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out, status io.Writer) error {
	items, err := dataset.Load(cfg.data)
	if err != nil {
		return err
	}
	if cfg.n > 0 && cfg.n < len(items) {
		items = items[:cfg.n]
	}
	var opts []vertex.Option
	var srv *vertextest.Server
	if cfg.fake {
		srv, err = vertextest.NewServer()
		if err != nil {
			return err
		}
		defer srv.Close()
		srv.SetLatency(cfg.fakeLatency)
		opts = append(opts, vertex.WithClientOptions(srv.ClientOptions()...))
		if cfg.project == "" {
			cfg.project = "fake-project"
		}
	}
	if cfg.project == "" {
		return fmt.Errorf("-project is required (or set GOOGLE_CLOUD_PROJECT, or use -fake)")
	}
	target := vertex.PublisherModel(cfg.project, cfg.location, cfg.model)
	if cfg.endpoint != "" {
		target = vertex.Endpoint(cfg.project, cfg.location, cfg.endpoint)
		if cfg.fake {
			target = srv.AddEndpoint(cfg.project, cfg.location, cfg.dim) // the fake picks the ID
		}
	}
	enc, err := vertex.NewEncoder(ctx, target, append(opts, vertex.WithDimension(cfg.dim))...)
	if err != nil {
		return err
	}
	defer enc.Close()
	info := enc.Info()
	fmt.Fprintf(out, "model %s: %d dimensions, %d inputs per request\n", info.Model, info.Dim, info.MaxBatch)

	store, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		return err
	}
	defer store.Close()
	labels := make(map[string]string, len(items))
	for _, it := range items {
		labels[it.ID] = it.Label
	}
	start := time.Now()
	records := dataset.Records(ctx, enc, items, embedding.WithConcurrency(cfg.concurrency),
		embedding.WithProgress(func(p embedding.Progress) {
			if p.Done%1000 < info.MaxBatch || p.Done == len(items) {
				fmt.Fprintf(status, "\rembedded %d/%d images (%d retries)", p.Done, len(items), p.Retries)
			}
		}))
	n, err := index.UpsertAll(ctx, store, info.Model, records)
	fmt.Fprintln(status)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "indexed %d images in %v\n", n, time.Since(start).Round(time.Millisecond))

	qid := cfg.query
	if qid == "" {
		qid = items[0].ID
	}
	q, err := store.Fetch(ctx, info.Model, []string{qid})
	if err != nil {
		return err
	}
	if len(q) == 0 {
		return fmt.Errorf("query image %q is not in the set", qid)
	}
	matches, err := store.Query(ctx, index.Query{Namespace: info.Model, Vector: q[0].Vector, TopK: cfg.k})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "nearest to %s (%s):\n", qid, labels[qid])
	same := 0
	for i, m := range matches {
		label, _ := m.Metadata["label"].(string)
		if label == labels[qid] {
			same++
		}
		fmt.Fprintf(out, "%3d. %-24s %-12s %.4f\n", i+1, m.ID, label, m.Score)
	}
	fmt.Fprintf(out, "%d of %d share the query's label\n", same, len(matches))
	return nil
}
