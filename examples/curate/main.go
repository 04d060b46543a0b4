// Command curate serves the curation page and API of package search/web over
// the shipped Fashion-MNIST sample (or a labeled folder): pick a few items,
// run feedback rounds with the keyboard, look at the map, export the picks.
//
//	go run ./examples/curate                          # the sample, in memory, on localhost:8080
//	go run ./examples/curate -store ~/.cache/curate   # keep the index and the sessions
//	go run ./examples/curate -data DIR -addr :9000    # a folder with a labels.csv
//	go run ./examples/curate -model model.shoal       # fine-tuned embeddings (finetune.LocalModel file)
//
// It prints the page's URL; the handler is mounted under /curate/, as a
// team would mount it in its own service.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/dataset"
	"github.com/shoalhq/shoal/embedding/local"
	shipped "github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/finetune"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run parses args, indexes the data, and serves until ctx is done. It
// prints the page's URL to out once it listens.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("curate", flag.ContinueOnError)
	data := fs.String("data", "", "a labeled folder: images and a labels.csv of path,label rows (default: the shipped Fashion-MNIST sample)")
	storeDir := fs.String("store", "", "a directory for the index and the saved sessions (default: in memory)")
	addr := fs.String("addr", "localhost:8080", "address to listen on")
	model := fs.String("model", "", "a fine-tuned model file (finetune.LocalModel over the pixel encoder)")
	limit := fs.Int("limit", 0, "index only the first n items (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	inputs, err := load(*data)
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < len(inputs) {
		inputs = inputs[:*limit]
	}
	var enc embedding.Encoder
	base, err := local.NewImageEncoder()
	if err != nil {
		return err
	}
	enc = base
	if *model != "" {
		if enc, err = finetune.LoadFile(*model, base); err != nil {
			return err
		}
	}
	store, sessions, err := open(ctx, *storeDir)
	if err != nil {
		return err
	}
	defer store.Close()
	ns := enc.Info().Namespace()
	if err := indexAll(ctx, store, ns, enc, inputs); err != nil {
		return err
	}
	h, err := web.New(store, ns, web.WithEncoder(enc), web.WithItems(thumbnails(inputs)),
		web.WithSessionStore(sessions), web.WithTitle("Fashion-MNIST curation"))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/curate/", http.StripPrefix("/curate", h))
	mux.Handle("/{$}", http.RedirectHandler("/curate/", http.StatusFound))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "curate: %d items in namespace %s; open http://%s/curate/\n", len(inputs), ns, ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func load(dir string) ([]embedding.Input, error) {
	if dir == "" {
		return shipped.FashionSampleInputs()
	}
	return dataset.LoadFolder(dir)
}

// open returns the store and the session store: in memory, or persistent
// under dir.
func open(ctx context.Context, dir string) (*memory.Store, web.SessionStore, error) {
	if dir == "" {
		s, err := memory.New()
		return s, web.NewMemorySessions(), err
	}
	s, err := memory.Open(ctx, filepath.Join(dir, "index"))
	if err != nil {
		return nil, nil, err
	}
	sessions, err := web.NewDirSessions(filepath.Join(dir, "sessions"))
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, sessions, nil
}

// indexAll embeds and stores the inputs, unless the namespace already holds
// as many records (a persistent store from an earlier run).
func indexAll(ctx context.Context, store *memory.Store, ns string, enc embedding.Encoder, inputs []embedding.Input) error {
	if n, err := store.Count(ctx, ns); err == nil && n == len(inputs) {
		return nil
	}
	_, err := index.UpsertAll(ctx, store, ns, index.FromEmbedded(embedding.EncodeAll(ctx, enc, embedding.Inputs(inputs))))
	return err
}

// thumbnails serves each input's image: its file bytes, or its decoded
// pixels encoded as PNG on first use.
func thumbnails(inputs []embedding.Input) web.ItemSource {
	byID := make(map[string]embedding.Input, len(inputs))
	for _, in := range inputs {
		byID[in.ID] = in
	}
	var cache sync.Map // id -> []byte
	return web.ItemFunc(func(_ context.Context, id string, _ index.Metadata) (web.Item, error) {
		in, ok := byID[id]
		if !ok {
			return web.Item{}, fmt.Errorf("no image for %q: %w", id, index.ErrNotFound)
		}
		if len(in.Image) > 0 {
			return web.Item{Thumbnail: in.Image, ContentType: in.MIMEType}, nil
		}
		if b, ok := cache.Load(id); ok {
			return web.Item{Thumbnail: b.([]byte), ContentType: "image/png"}, nil
		}
		if in.Decoded == nil {
			return web.Item{}, fmt.Errorf("item %q has no image: %w", id, index.ErrNotFound)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, in.Decoded); err != nil {
			return web.Item{}, err
		}
		cache.Store(id, buf.Bytes())
		return web.Item{Thumbnail: buf.Bytes(), ContentType: "image/png"}, nil
	})
}
