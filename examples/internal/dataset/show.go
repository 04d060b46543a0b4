package dataset

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/search"
)

// SearchClass searches namespace ns of store with a bucket of the first
// bucketSize items labelled class (by stored ID) and prints the top k
// results as a table of rank, ID, label and score, followed by the
// precision: the share of results labelled class.
func SearchClass(ctx context.Context, store index.VectorStore, ns string, items []Item, class string, bucketSize, k int, out io.Writer) error {
	var bucket search.Bucket
	for _, it := range items {
		if it.Label == class && len(bucket.Positives) < bucketSize {
			bucket.Positives = append(bucket.Positives, search.ByID(it.ID))
		}
	}
	if len(bucket.Positives) == 0 {
		return fmt.Errorf("no item of class %q", class)
	}
	searcher, err := search.New(store, ns)
	if err != nil {
		return err
	}
	results, err := searcher.Search(ctx, bucket, search.WithTopK(k))
	if err != nil {
		return err
	}
	relevant := 0
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tid\tlabel\tscore")
	for i, r := range results {
		label, _ := r.Metadata.String("label")
		if label == class {
			relevant++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\n", i+1, r.ID, label, r.Score)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(results) > 0 {
		fmt.Fprintf(out, "precision@%d = %.2f for a bucket of %d %q\n", len(results), float64(relevant)/float64(len(results)), len(bucket.Positives), class)
	}
	return nil
}
