// Command ingest indexes a pool with index/ingest: a resumable,
// rate-limited job from a source (a manifest, a labeled folder, or
// synthetic items) through an encoder into a store, with a progress line,
// dead letters and a summary. Stop it (Ctrl-C, or kill -9) and run it
// again with the same flags: it resumes where it stopped.
//
//	go run ./examples/ingest -fake -n 20000              # in-process fakes
//	go run ./examples/ingest -manifest pool.jsonl -store ./shoal-data
//	go run ./examples/ingest -folder ./images -store ./shoal-data -rate 50
//
// Model migration: -alias builds the encoder's namespace behind an alias;
// run again with a new model (here -dim 128) to re-embed, check and
// switch the alias, and -delete-old to drop the old namespace:
//
//	go run ./examples/ingest -fake -store ./shoal-data -alias pool
//	go run ./examples/ingest -fake -store ./shoal-data -alias pool -dim 128 -delete-old
//
// With -fake the encoder is a stand-in with 50 ms per call that answers
// 429 to a few calls; otherwise texts are embedded by embedding/local's
// text encoder and images by its image encoder, into index/memory (on
// disk with -store).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/dataset"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/index/ingest"
	"github.com/shoalhq/shoal/index/memory"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fake := fs.Bool("fake", false, "use an in-process fake encoder (50 ms per call, some 429s) and synthetic items")
	n := fs.Int("n", 10000, "synthetic items with -fake")
	manifest := fs.String("manifest", "", "CSV or JSONL manifest (id, path or text, metadata columns)")
	folder := fs.String("folder", "", "labeled image folder (labels.csv)")
	storeDir := fs.String("store", "", "directory of a persistent index/memory store (default: in memory)")
	namespace := fs.String("namespace", "", "namespace (default: the encoder's Info().Namespace())")
	checkpoint := fs.String("checkpoint", "", "checkpoint file (default: ingest.checkpoint in -store, none in memory)")
	batchSize := fs.Int("batch", ingest.DefaultBatchSize, "items per batch")
	concurrency := fs.Int("concurrency", ingest.DefaultConcurrency, "encoder calls at once")
	rate := fs.Float64("rate", 0, "encoder requests per second (0: no limit)")
	remove := fs.Bool("remove-missing", false, "delete records whose IDs the source no longer has")
	quiet := fs.Bool("quiet", false, "no progress line")
	alias := fs.String("alias", "", "migrate: re-embed into the encoder's namespace, check, then point this alias at it (readers resolve it)")
	deleteOld := fs.Bool("delete-old", false, "with -alias: delete the namespace the alias named before")
	dim := fs.Int("dim", 0, "text encoder dimension with -fake or -manifest (0: its default); a new dimension is a new model to -alias")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	var (
		enc   embedding.Encoder
		src   iter.Seq2[embedding.Input, error]
		total int
		err   error
	)
	switch {
	case *fake:
		enc, err = newFakeEncoder(textOptions(*dim)...)
		src, total = synthetic(*n), *n
	case *manifest != "":
		enc, err = local.NewTextEncoder(textOptions(*dim)...)
		src = dataset.ScanManifest(*manifest)
	case *folder != "":
		enc, err = local.NewImageEncoder()
		src = dataset.ScanFolder(*folder)
	default:
		return errors.New("give -fake, -manifest FILE or -folder DIR")
	}
	if err != nil {
		return err
	}
	var store *memory.Store
	if *storeDir != "" {
		store, err = memory.Open(ctx, *storeDir)
		if *checkpoint == "" {
			*checkpoint = filepath.Join(*storeDir, "ingest.checkpoint")
		}
	} else {
		store, err = memory.New()
	}
	if err != nil {
		return err
	}
	defer store.Close()
	ns := *namespace
	if ns == "" {
		ns = enc.Info().Namespace()
	}
	opts := []ingest.Option{
		ingest.WithBatchSize(*batchSize), ingest.WithConcurrency(*concurrency),
		ingest.WithEncoderRate(*rate, 0), ingest.WithTotal(total),
		ingest.WithDeadLetters(func(d ingest.DeadLetter) {
			fmt.Fprintf(out, "\ndead letter: %s (item %d, %s): %v\n", d.ID, d.Position, d.Stage, d.Err)
		}),
		ingest.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	if *checkpoint != "" {
		opts = append(opts, ingest.WithCheckpoint(*checkpoint))
	}
	if *remove {
		opts = append(opts, ingest.WithRemoveMissing())
	}
	if !*quiet {
		opts = append(opts, ingest.WithProgress(func(p ingest.Progress) { fmt.Fprint(out, "\r"+bar(p, total)) }))
	}
	if *alias != "" {
		return migrate(ctx, out, enc, store, *alias, src, *namespace, *deleteOld, opts)
	}
	sum, err := ingest.Run(ctx, enc, store, ns, src, opts...)
	fmt.Fprintln(out)
	fmt.Fprintf(out, "namespace %s: read %d (resumed past %d), written %d (encoded %d), unchanged %d, failed %d, duplicates %d, removed %d\n",
		ns, sum.Read, sum.Resumed, sum.Written, sum.Encoded, sum.Unchanged, sum.Failed, sum.Duplicates, sum.Removed)
	fmt.Fprintf(out, "%d encoder calls, %d store calls, %d throttled, %v\n", sum.EncodeCalls, sum.StoreCalls, sum.Throttled, sum.Elapsed.Round(time.Millisecond))
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped; run again with the same flags to resume: %w", err)
	}
	return err
}

func textOptions(dim int) []local.TextOption {
	if dim > 0 {
		return []local.TextOption{local.WithTextDim(dim)}
	}
	return nil
}

// migrate runs ingest.Migrate and prints what the alias names.
func migrate(ctx context.Context, out io.Writer, enc embedding.Encoder, store *memory.Store, alias string,
	src iter.Seq2[embedding.Input, error], namespace string, deleteOld bool, opts []ingest.Option) error {
	if namespace != "" {
		opts = append(opts, ingest.WithNewNamespace(namespace))
	}
	if deleteOld {
		opts = append(opts, ingest.WithDeleteOld())
	}
	sum, err := ingest.Migrate(ctx, enc, store, alias, src, opts...)
	fmt.Fprintln(out)
	fmt.Fprintf(out, "alias %s: %s -> %s, %d records for %d source IDs (encoded %d, unchanged %d), switched %v, deleted %d\n",
		alias, sum.From, sum.To, sum.Count, sum.SourceIDs, sum.Run.Encoded, sum.Run.Unchanged, sum.Switched, sum.Deleted)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped; run again with the same flags to resume: %w", err)
	}
	return err
}

// bar renders a progress line: a bar when the total is known, the rate and
// the ETA.
func bar(p ingest.Progress, total int) string {
	done := p.Read + p.Resumed
	line := fmt.Sprintf("%d items", done)
	if total > 0 {
		const width = 30
		k := min(width, done*width/max(1, total))
		line = fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("=", k), strings.Repeat(" ", width-k), done, total)
	}
	line += fmt.Sprintf(" %.0f/s failed %d", p.Rate, p.Failed)
	if p.ETA > 0 {
		line += " ETA " + p.ETA.Round(time.Second).String()
	}
	return line + "   "
}

// synthetic yields n generated text items.
func synthetic(n int) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		for i := range n {
			in := embedding.Input{ID: "item-" + strconv.Itoa(i), Text: "synthetic item " + strconv.Itoa(i),
				Metadata: map[string]any{"shard": int64(i % 16)}}
			if !yield(in, nil) {
				return
			}
		}
	}
}

// fakeEncoder stands in for a remote model: 50 ms per call, 2 % of calls
// answered with a quota error and a retry-after (as Vertex AI answers 429
// / RESOURCE_EXHAUSTED), vectors from the text embedding of embedding/local.
type fakeEncoder struct {
	text  *local.TextEncoder
	calls atomic.Int64
}

func newFakeEncoder(opts ...local.TextOption) (*fakeEncoder, error) {
	t, err := local.NewTextEncoder(opts...)
	return &fakeEncoder{text: t}, err
}

func (e *fakeEncoder) Info() embedding.Info { return e.text.Info() }

func (e *fakeEncoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	e.calls.Add(1)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(50 * time.Millisecond):
	}
	if rand.Float64() < 0.02 {
		return nil, driver.Temporary(fmt.Errorf("%w: fake quota", index.ErrResourceExhausted), 100*time.Millisecond)
	}
	return e.text.Encode(ctx, in)
}
