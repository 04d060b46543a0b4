package index_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

// The most common path: embed a stream of inputs and index it, with each
// input's metadata carried to its record. Both halves batch, parallelise
// and retry, and take the same options.
func ExampleFromEmbedded() {
	ctx := context.Background()
	enc, err := local.NewTextEncoder(local.WithTextDim(64))
	if err != nil {
		log.Fatal(err)
	}
	store, err := memory.New() // in memory; memory.Open(ctx, dir) persists it
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	pool := []embedding.Input{
		{ID: "sku-1", Text: "red cotton t-shirt", Metadata: map[string]any{"kind": "top"}},
		{ID: "sku-2", Text: "blue denim jacket", Metadata: map[string]any{"kind": "outerwear"}},
		{ID: "sku-3", Text: "green linen t-shirt", Metadata: map[string]any{"kind": "top"}},
	}
	ns := enc.Info().Namespace() // a URL-safe namespace for this model's vectors
	embedded := embedding.EncodeAll(ctx, enc, embedding.Inputs(pool), embedding.WithConcurrency(2))
	n, err := index.UpsertAll(ctx, store, ns, index.FromEmbedded(embedded), embedding.WithBatchSize(2))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("indexed:", n)

	// Filtered search: the nearest tops to a query text.
	q, err := enc.Encode(ctx, []embedding.Input{{Text: "t-shirt"}})
	if err != nil {
		log.Fatal(err)
	}
	matches, err := store.Query(ctx, index.Query{Namespace: ns, Vector: q[0], TopK: 5, Filter: index.Eq("kind", "top")})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range matches {
		fmt.Println(m.ID, m.Metadata["kind"])
	}
	// Unordered output:
	// indexed: 3
	// sku-1 top
	// sku-3 top
}
