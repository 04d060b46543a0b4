// Command look shows what Shoal's search/look package sees in an embedding
// space, on the embedded defaults with no flags, no network and no cloud
// account:
//
//  1. load a labeled image set (the Fashion-MNIST test split that ships in
//     the repository, or -data DIR) and give it a seeded 80/20 train/test
//     split in metadata,
//  2. embed every image with embedding/local and index it in index/memory,
//  3. run a leave-one-out kNN classifier over the embeddings and store its
//     prediction on each record as metadata ("pred"),
//  4. draw the space as a PNG and as an HTML page with thumbnails (a
//     neighbourhood layout and PCA), and report how well each map keeps
//     the 10 nearest neighbours,
//  5. print the 20 rarest items, the near-duplicates and the train/test
//     leaks, and the clusters where the classifier fails most,
//  6. print where the files are.
//
// Run it with:
//
//	go run ./examples/look
//	go run ./examples/look -n 3000 -out /tmp/look
//	go run ./examples/look -data /usr/share/datasets/fashion-mnist
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"iter"
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
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search/look"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.data, "data", "", "a folder with labels.csv, or Fashion-MNIST IDX files (e.g. "+dataset.DebianFashionDir+"); default: the shipped sample")
	flag.StringVar(&cfg.out, "out", filepath.Join(os.TempDir(), "shoal-look"), "folder for the map files")
	flag.IntVar(&cfg.n, "n", 0, "use only the first n images (0: all)")
	flag.IntVar(&cfg.k, "k", 10, "neighbours of the rarity score and of the kNN classifier")
	flag.IntVar(&cfg.top, "top", 20, "rarest items to print")
	flag.Float64Var(&cfg.dup, "dup", 0.002, "near-duplicate threshold: cosine distance (1 − cosine similarity)")
	flag.IntVar(&cfg.clusters, "clusters", 0, "k-means clusters for the error analysis (0: √(n/2))")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the split, the clustering and the layout")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "look:", err)
		os.Exit(1)
	}
}

type config struct {
	data, out              string
	n, k, top, clusters    int
	dup                    float64
	seed                   uint64
	mapPoints              int // 0: look's default
	pictureWidth, pictHigh int
}

// result is what run found, for the tests.
type result struct {
	files   []string
	quality map[look.Method]look.Quality
	rarest  []look.Rare
	dups    *look.Duplicates
	leaks   *look.Duplicates
	errs    []look.Cluster
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	_, err := runResult(ctx, cfg, out)
	return err
}

func runResult(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	start := time.Now()
	items, err := dataset.Load(cfg.data)
	if err != nil {
		return nil, err
	}
	if cfg.n > 0 && cfg.n < len(items) {
		items = items[:cfg.n]
	}
	byID := make(map[string]dataset.Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	split := assignSplit(items, cfg.seed)
	fmt.Fprintf(out, "Loaded %d labeled images.\n", len(items))

	// Embed and index, with the label and the split as metadata.
	enc, err := local.NewImageEncoder()
	if err != nil {
		return nil, err
	}
	store, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		return nil, err
	}
	defer store.Close()
	ns := enc.Info().Namespace()
	inputs := func(yield func(embedding.Input, error) bool) {
		for _, it := range items {
			if !yield(embedding.Input{ID: it.ID, Image: it.Image, MIMEType: it.MIMEType}, nil) {
				return
			}
		}
	}
	n, err := index.UpsertAll(ctx, store, ns, records(embedding.EncodeAll(ctx, enc, inputs), byID, split))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Embedded and indexed %d images with %s (dim %d).\n", n, ns, enc.Info().Dim)

	// A leave-one-out kNN classifier: each item's label is predicted by a
	// vote of its k nearest neighbours; the prediction goes back into the
	// store as metadata, as a real model's would.
	space, err := look.Load(ctx, store, ns)
	if err != nil {
		return nil, err
	}
	if err := classify(ctx, store, ns, space, cfg.k); err != nil {
		return nil, err
	}
	space, err = look.Load(ctx, store, ns) // now with "pred"
	if err != nil {
		return nil, err
	}
	res := &result{quality: map[look.Method]look.Quality{}}

	// The rarest items.
	res.rarest, err = space.Rarest(ctx, look.WithK(cfg.k), look.WithTop(cfg.top))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nThe %d rarest items (mean cosine distance to their %d nearest neighbours):\n\n", len(res.rarest), cfg.k)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tid\tlabel\trarity\tnearest neighbour")
	for i, r := range res.rarest {
		label, _ := r.Metadata.String("label")
		nn := ""
		if len(r.Neighbors) > 0 {
			nl := labelOf(space, r.Neighbors[0].Index)
			nn = fmt.Sprintf("%s (%s, %.3f)", r.Neighbors[0].ID, nl, r.Neighbors[0].Distance)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%s\n", i+1, r.ID, label, r.Score, nn)
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}

	// Near-duplicates, and those that leak across the split.
	res.dups, err = space.Duplicates(ctx, cfg.dup)
	if err != nil {
		return nil, err
	}
	res.leaks, err = space.Duplicates(ctx, cfg.dup, look.WithAcross("split", "train", "test"))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\n%d near-duplicate pairs (cosine distance ≤ %g), %d of them across train and test:\n\n", len(res.dups.Pairs), cfg.dup, len(res.leaks.Pairs))
	leak := map[[2]string]bool{}
	for _, p := range res.leaks.Pairs {
		leak[[2]string{min(p.A, p.B), max(p.A, p.B)}] = true
	}
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "a\tb\tlabels\tdistance\tleak")
	for _, p := range res.dups.Pairs[:min(20, len(res.dups.Pairs))] {
		la, lb := labelOf(space, p.IndexA), labelOf(space, p.IndexB)
		mark := ""
		if leak[[2]string{min(p.A, p.B), max(p.A, p.B)}] {
			mark = "train/test"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s / %s\t%.5f\t%s\n", p.A, p.B, la, lb, p.Distance, mark)
	}
	if len(res.dups.Pairs) > 20 {
		fmt.Fprintf(tw, "… %d more\t\t\t\t\n", len(res.dups.Pairs)-20)
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}

	// Where the classifier fails.
	opts := []look.Option{look.WithSeed(cfg.seed)}
	if cfg.clusters > 0 {
		opts = append(opts, look.WithClusters(cfg.clusters))
	}
	res.errs, err = space.ErrorClusters(ctx, "pred", "label", opts...)
	if err != nil {
		return nil, err
	}
	wrong, total := 0, 0
	for _, c := range res.errs {
		wrong += c.Errors
		total += c.Size
	}
	fmt.Fprintf(out, "\nThe kNN classifier (k = %d, leave-one-out) is wrong on %d of %d items (%.1f%%). Clusters where it fails most\n(k-means; ranked by the 95%% Wilson lower bound of the error rate):\n\n", cfg.k, wrong, total, 100*float64(wrong)/float64(max(1, total)))
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tsize\terrors\trate\tscore\tmost frequent errors (label→predicted)\trepresentatives")
	for i, c := range res.errs[:min(5, len(res.errs))] {
		var conf []string
		for _, cf := range c.Confusions[:min(3, len(c.Confusions))] {
			conf = append(conf, fmt.Sprintf("%s→%s ×%d", cf.Label, cf.Predicted, cf.Count))
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.2f\t%.2f\t%s\t%s\n", i+1, c.Size, c.Errors, c.ErrorRate, c.Score, strings.Join(conf, ", "), strings.Join(c.Representatives, " "))
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}

	// The maps, with thumbnails, the rarest items ringed.
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return nil, err
	}
	rare := make([]string, len(res.rarest))
	for i, r := range res.rarest {
		rare[i] = r.ID
	}
	thumb := func(id string) string {
		it, ok := byID[id]
		if !ok || !strings.HasPrefix(it.MIMEType, "image/") {
			return ""
		}
		return "data:" + it.MIMEType + ";base64," + base64.StdEncoding.EncodeToString(it.Image)
	}
	fmt.Fprintln(out)
	mapOpts := []look.Option{look.WithSeed(cfg.seed)}
	if cfg.mapPoints > 0 {
		mapOpts = append(mapOpts, look.WithMapPoints(cfg.mapPoints))
	}
	for _, method := range []look.Method{look.Neighborhood, look.PCA} {
		t0 := time.Now()
		m, err := space.Map(ctx, method, mapOpts...)
		if err != nil {
			return nil, err
		}
		elapsed := time.Since(t0)
		q, err := m.Quality(ctx, 10)
		if err != nil {
			return nil, err
		}
		res.quality[method] = q
		fmt.Fprintf(out, "Map (%s, %d points, %v): trustworthiness %.3f, 10-NN preservation %.3f.\n", method, len(m.Points), elapsed.Round(time.Millisecond), q.Trustworthiness, q.KNNPreservation)
		popts := []look.PlotOption{look.WithHighlight(rare...), look.WithTitle(fmt.Sprintf("%s — %d images, %s map (rarest %d ringed)", ns, len(m.Points), method, len(rare)))}
		if cfg.pictureWidth > 0 {
			popts = append(popts, look.WithSize(cfg.pictureWidth, cfg.pictHigh))
		}
		base := filepath.Join(cfg.out, "map-"+method.String())
		if err := writeFile(base+".png", func(w io.Writer) error { return m.WritePNG(w, popts...) }); err != nil {
			return nil, err
		}
		if err := writeFile(base+".html", func(w io.Writer) error {
			return m.WriteHTML(w, append(popts, look.WithThumbnails(thumb))...)
		}); err != nil {
			return nil, err
		}
		res.files = append(res.files, base+".png", base+".html")
	}
	fmt.Fprintf(out, "\nWrote:\n")
	for _, f := range res.files {
		fmt.Fprintf(out, "  %s\n", f)
	}
	fmt.Fprintf(out, "Open the HTML pages in a browser: hover a point for its ID, label and picture; colour by any field.\nDone in %v.\n", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// classify predicts each item's label by a majority vote of its k nearest
// neighbours (ties to the nearer neighbour's label) and stores the
// prediction as metadata "pred".
func classify(ctx context.Context, store index.VectorStore, ns string, space *look.Space, k int) error {
	g, err := space.Neighbors(ctx, look.WithK(k))
	if err != nil {
		return err
	}
	recs := make([]index.Record, space.Len())
	for i := range space.Len() {
		it, err := space.Item(i)
		if err != nil {
			return err
		}
		nbs, err := g.Neighbors(i)
		if err != nil {
			return err
		}
		votes := map[string]int{}
		best, bestN := "", 0
		for _, nb := range nbs {
			l := labelOf(space, nb.Index)
			votes[l]++
			if votes[l] > bestN {
				best, bestN = l, votes[l]
			}
		}
		md := it.Metadata.Clone()
		md["pred"] = best
		recs[i] = index.Record{ID: it.ID, Vector: it.Vector, Metadata: md}
	}
	_, err = index.UpsertAll(ctx, store, ns, index.Records(recs))
	return err
}

// labelOf returns item i's "label" field, or "" for an item outside the
// space.
func labelOf(space *look.Space, i int) string {
	it, err := space.Item(i)
	if err != nil {
		return ""
	}
	l, _ := it.Metadata.String("label")
	return l
}

// assignSplit gives each item "train" (80%) or "test", seeded.
func assignSplit(items []dataset.Item, seed uint64) map[string]string {
	r := rand.New(rand.NewPCG(seed, 0x5911))
	out := make(map[string]string, len(items))
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	slices.Sort(ids)
	for _, id := range ids {
		out[id] = "train"
		if r.IntN(5) == 0 {
			out[id] = "test"
		}
	}
	return out
}

func records(embedded iter.Seq2[embedding.Embedded, error], byID map[string]dataset.Item, split map[string]string) iter.Seq2[index.Record, error] {
	return func(yield func(index.Record, error) bool) {
		for e, err := range embedded {
			if err != nil {
				yield(index.Record{}, err)
				return
			}
			md := index.Metadata{"label": byID[e.Input.ID].Label, "split": split[e.Input.ID]}
			if !yield(index.Record{ID: e.Input.ID, Vector: e.Vector, Metadata: md}, nil) {
				return
			}
		}
	}
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
