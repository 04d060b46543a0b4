package pinecone_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/shoalhq/shoal/backends/pinecone"
	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
)

// Open a Store on the in-process fake, creating the index, then write and
// search through the official client.
func ExampleOpen() {
	for _, k := range []string{"PINECONE_API_KEY", "PINECONE_CONTROLLER_HOST", "PINECONE_ADDITIONAL_HEADERS"} {
		os.Unsetenv(k)
	}
	srv, err := pineconetest.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	store, err := pinecone.Open(ctx, srv.APIKey(), "products",
		pinecone.WithControllerURL(srv.ControlURL()), // omit for the real service
		pinecone.WithCreate(pinecone.Spec{Dimension: 3, Metric: index.Euclidean,
			Serverless: &pinecone.ServerlessSpec{Cloud: "aws", Region: "us-east-1"}}))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	_, err = index.UpsertAll(ctx, store, "shoes", index.Records([]index.Record{
		{ID: "boot", Vector: []float32{1, 0, 0}, Metadata: index.Metadata{"size": 42}},
		{ID: "sandal", Vector: []float32{0, 1, 0}, Metadata: index.Metadata{"size": 38}},
	}))
	if err != nil {
		log.Fatal(err)
	}
	ms, err := store.Query(ctx, index.Query{Namespace: "shoes", Vector: []float32{1, 0.5, 0}, TopK: 2, Filter: index.Gt("size", 40)})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range ms {
		fmt.Printf("%s %.2f %v\n", m.ID, m.Score, m.Metadata["size"])
	}
	// Output:
	// boot -0.25 42
}
