package ingest_test

import (
	"context"
	"fmt"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/index/ingest"
	"github.com/shoalhq/shoal/index/memory"
)

func ExampleRun() {
	ctx := context.Background()
	enc, _ := local.NewTextEncoder()
	store, _ := memory.New()
	defer store.Close()
	pool := []embedding.Input{
		{ID: "a", Text: "a red dress", Metadata: map[string]any{"label": "dress"}},
		{ID: "b", Text: "blue jeans", Metadata: map[string]any{"label": "trousers"}},
	}
	sum, err := ingest.Run(ctx, enc, store, enc.Info().Namespace(), embedding.Inputs(pool))
	fmt.Println(sum.Written, sum.Unchanged, err)

	// Run again with one item changed: only that one is encoded.
	pool[1].Text = "black jeans"
	sum, err = ingest.Run(ctx, enc, store, enc.Info().Namespace(), embedding.Inputs(pool))
	fmt.Println(sum.Encoded, sum.Unchanged, err)
	// Output:
	// 2 0 <nil>
	// 1 1 <nil>
}

func ExampleMigrate() {
	ctx := context.Background()
	store, _ := memory.New()
	defer store.Close()
	pool := embedding.Inputs([]embedding.Input{
		{ID: "a", Text: "a red dress"},
		{ID: "b", Text: "blue jeans"},
	})
	v1, _ := local.NewTextEncoder(local.WithTextDim(64))
	_, err := ingest.Migrate(ctx, v1, store, "products", pool) // the first model, behind the alias

	// Readers resolve the alias before search.New or feedback.NewSession.
	ns, _ := ingest.Resolve(ctx, store, "products")
	fmt.Println(ns == v1.Info().Namespace(), err)

	// A new model: re-embed into its own namespace, check, switch, delete the old.
	v2, _ := local.NewTextEncoder(local.WithTextDim(128))
	sum, err := ingest.Migrate(ctx, v2, store, "products", pool, ingest.WithDeleteOld())
	fmt.Println(sum.Count, sum.Switched, sum.Deleted, err)
	ns, _ = ingest.Resolve(ctx, store, "products")
	fmt.Println(ns == v2.Info().Namespace())
	// Output:
	// true <nil>
	// 2 true 2 <nil>
	// true
}
