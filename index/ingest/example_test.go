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
