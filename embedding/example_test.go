package embedding_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
)

// Embed a stream of inputs in batches, several at a time; results come back
// in input order.
func ExampleEncodeAll() {
	enc, err := local.NewTextEncoder(local.WithTextDim(64))
	if err != nil {
		log.Fatal(err)
	}
	pool := []embedding.Input{
		{ID: "sku-1", Text: "red cotton t-shirt"},
		{ID: "sku-2", Text: "blue denim jacket"},
		{ID: "sku-3", Text: "leather ankle boots"},
	}
	var done int
	for e, err := range embedding.EncodeAll(context.Background(), enc, embedding.Inputs(pool),
		embedding.WithBatchSize(2), embedding.WithConcurrency(2),
		embedding.WithProgress(func(p embedding.Progress) { done = p.Done })) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Input.ID, len(e.Vector))
	}
	fmt.Println("encoded:", done)
	// Output:
	// sku-1 64
	// sku-2 64
	// sku-3 64
	// encoded: 3
}

// With WithContinueOnError, an input the encoder rejects is reported and the
// run goes on.
func ExampleWithContinueOnError() {
	enc, err := local.NewTextEncoder()
	if err != nil {
		log.Fatal(err)
	}
	pool := []embedding.Input{{ID: "a", Text: "wool scarf"}, {ID: "b", Text: ""}, {ID: "c", Text: "silk tie"}}
	for e, err := range embedding.EncodeAll(context.Background(), enc, embedding.Inputs(pool),
		embedding.WithBatchSize(1), embedding.WithContinueOnError()) {
		if err != nil {
			fmt.Println(e.Input.ID, "failed:", err)
			continue
		}
		fmt.Println(e.Input.ID, "ok")
	}
	// Output:
	// a ok
	// b failed: item 1: embedding: invalid input: input "b": empty text
	// c ok
}
