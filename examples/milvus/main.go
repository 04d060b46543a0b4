// Command milvus indexes the quickstart's embeddings in Milvus and searches
// them with a bucket of examples: the Fashion-MNIST sample that ships in
// the repository, embedded with embedding/local, written through
// index.UpsertAll into a Milvus collection (created when missing), then
// searched for the neighbours of a few examples of one class.
//
// Against a real Milvus (credentials, if any, are read from MILVUS_USER
// and MILVUS_PASSWORD or MILVUS_TOKEN and never printed):
//
//	go run ./examples/milvus -addr localhost:19530
//
// Against the in-process fake, nothing to install:
//
//	go run ./examples/milvus -fake
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

	"github.com/shoalhq/shoal/backends/milvus"
	"github.com/shoalhq/shoal/backends/milvus/milvustest"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/index"
)

type config struct {
	fake                 bool
	addr, collection     string
	indexType, class     string
	data                 string
	limit, k, bucketSize int
}

type credentials struct{ user, password, token string }

func main() {
	var cfg config
	flag.BoolVar(&cfg.fake, "fake", false, "use the in-process Milvus fake instead of a server")
	flag.StringVar(&cfg.addr, "addr", "localhost:19530", "Milvus address (host:port, or https://... for TLS)")
	flag.StringVar(&cfg.collection, "collection", "shoal_quickstart", "collection (created when missing)")
	flag.StringVar(&cfg.indexType, "index", "AUTOINDEX", "vector index of a created collection: AUTOINDEX, HNSW or IVF_FLAT")
	flag.StringVar(&cfg.data, "data", "", "a folder with labels.csv or Fashion-MNIST IDX files; default: the shipped sample")
	flag.StringVar(&cfg.class, "class", "Sneaker", "class of the query bucket")
	flag.IntVar(&cfg.bucketSize, "bucket", 5, "examples in the query bucket")
	flag.IntVar(&cfg.limit, "n", 0, "index only the first n items (0: all)")
	flag.IntVar(&cfg.k, "k", 10, "results to show")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	creds := credentials{user: os.Getenv("MILVUS_USER"), password: os.Getenv("MILVUS_PASSWORD"), token: os.Getenv("MILVUS_TOKEN")}
	if err := run(ctx, cfg, creds, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "milvus:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, creds credentials, out io.Writer) error {
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
	addr := cfg.addr
	opts := []milvus.Option{
		milvus.WithDimension(enc.Info().Dim),
		milvus.WithMetric(index.Cosine),
		milvus.WithIndex(milvus.IndexSpec{Type: milvus.IndexType(cfg.indexType)}),
	}
	if cfg.fake {
		srv, err := milvustest.Start()
		if err != nil {
			return err
		}
		defer srv.Close()
		addr = srv.Addr()
		opts = append(opts, milvus.WithLoadTimeout(time.Minute, 10*time.Millisecond))
		fmt.Fprintln(out, "Using the in-process Milvus fake.")
	} else {
		switch {
		case creds.token != "":
			opts = append(opts, milvus.WithAPIKey(creds.token))
		case creds.user != "":
			opts = append(opts, milvus.WithCredentials(creds.user, creds.password))
		}
	}
	openCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	store, err := milvus.Open(openCtx, addr, cfg.collection, opts...)
	if err != nil {
		if errors.Is(err, index.ErrDimension) {
			return fmt.Errorf("%w (the encoder makes %d-dimensional vectors: use another -collection)", err, enc.Info().Dim)
		}
		return err
	}
	defer store.Close()

	ns := enc.Info().Namespace() // one namespace per model version
	t0 := time.Now()
	n, err := index.UpsertAll(ctx, store, ns, dataset.Records(ctx, enc, items))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Indexed %d images (dim %d) in namespace %q of collection %q in %v.\n", n, enc.Info().Dim, ns, cfg.collection, time.Since(t0).Round(time.Millisecond))

	return dataset.SearchClass(ctx, store, ns, items, cfg.class, cfg.bucketSize, cfg.k, out)
}
