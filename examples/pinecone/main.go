// Command pinecone indexes the quickstart's embeddings in Pinecone and
// searches them with a bucket of examples: the Fashion-MNIST sample that
// ships in the repository, embedded with embedding/local, written through
// index.UpsertAll into a Pinecone index (created serverless if missing),
// then searched for the neighbours of a few examples of one class.
//
// Against the real service (the key is read from PINECONE_API_KEY and never
// printed):
//
//	PINECONE_API_KEY=... go run ./examples/pinecone -index shoal-quickstart
//
// Against the in-process fake, no account needed:
//
//	go run ./examples/pinecone -fake
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/shoalhq/shoal/backends/pinecone"
	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/index"
)

type config struct {
	fake                 bool
	index, class, cloud  string
	region, data         string
	limit, k, bucketSize int
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.fake, "fake", false, "use the in-process Pinecone fake instead of the service")
	flag.StringVar(&cfg.index, "index", "shoal-quickstart", "Pinecone index (created serverless when missing)")
	flag.StringVar(&cfg.cloud, "cloud", "aws", "cloud of a created index")
	flag.StringVar(&cfg.region, "region", "us-east-1", "region of a created index")
	flag.StringVar(&cfg.data, "data", "", "a folder with labels.csv or Fashion-MNIST IDX files; default: the shipped sample")
	flag.StringVar(&cfg.class, "class", "Sneaker", "class of the query bucket")
	flag.IntVar(&cfg.bucketSize, "bucket", 5, "examples in the query bucket")
	flag.IntVar(&cfg.limit, "n", 0, "index only the first n items (0: all)")
	flag.IntVar(&cfg.k, "k", 10, "results to show")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Getenv("PINECONE_API_KEY"), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pinecone:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, apiKey string, out io.Writer) error {
	if !cfg.fake && apiKey == "" {
		return errors.New("set PINECONE_API_KEY, or run with -fake")
	}
	items, err := dataset.Load(cfg.data)
	if err != nil {
		return err
	}
	if cfg.limit > 0 && cfg.limit < len(items) {
		items = items[:cfg.limit]
	}
	enc, err := local.NewImageEncoder()
	if err != nil {
		return err
	}
	var opts []pinecone.Option
	if cfg.fake {
		srv, err := pineconetest.New(nil)
		if err != nil {
			return err
		}
		defer srv.Close()
		apiKey = srv.APIKey()
		opts = append(opts, pinecone.WithControllerURL(srv.ControlURL()), pinecone.WithReadyTimeout(time.Minute, 10*time.Millisecond))
		fmt.Fprintln(out, "Using the in-process Pinecone fake.")
	}
	opts = append(opts, pinecone.WithCreate(pinecone.Spec{
		Dimension: enc.Info().Dim, Metric: index.Cosine,
		Serverless: &pinecone.ServerlessSpec{Cloud: cfg.cloud, Region: cfg.region},
	}))
	store, err := pinecone.Open(ctx, apiKey, cfg.index, opts...)
	if err != nil {
		return err
	}
	defer store.Close()
	if store.Dimension() != enc.Info().Dim {
		return fmt.Errorf("index %q has dimension %d, the encoder %d: use another -index", cfg.index, store.Dimension(), enc.Info().Dim)
	}

	ns := enc.Info().Namespace() // one namespace per model version
	t0 := time.Now()
	n, err := index.UpsertAll(ctx, store, ns, dataset.Records(ctx, enc, items))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Indexed %d images (dim %d) in namespace %q in %v.\n", n, enc.Info().Dim, ns, time.Since(t0).Round(time.Millisecond))

	return dataset.SearchClass(ctx, store, ns, items, cfg.class, cfg.bucketSize, cfg.k, out)
}
