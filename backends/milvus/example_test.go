package milvus_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shoalhq/shoal/backends/milvus"
	"github.com/shoalhq/shoal/backends/milvus/milvustest"
	"github.com/shoalhq/shoal/index"
)

// Open a collection (here on the in-process fake; give a real Milvus
// address such as "localhost:19530" instead), write, and search.
func Example() {
	srv, err := milvustest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	store, err := milvus.Open(ctx, srv.Addr(), "products",
		milvus.WithDimension(3), milvus.WithMetric(index.Cosine),
		milvus.WithIndex(milvus.IndexSpec{Type: milvus.HNSW, M: 16, EfConstruction: 200}))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	err = store.Upsert(ctx, "catalog", []index.Record{
		{ID: "shoe", Vector: []float32{1, 0, 0}, Metadata: index.Metadata{"kind": "footwear", "price": 60.0}},
		{ID: "boot", Vector: []float32{0.9, 0.1, 0}, Metadata: index.Metadata{"kind": "footwear", "price": 120.0}},
		{ID: "hat", Vector: []float32{0, 1, 0}, Metadata: index.Metadata{"kind": "headwear"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	matches, err := store.Query(ctx, index.Query{
		Namespace: "catalog", Vector: []float32{1, 0, 0}, TopK: 2,
		Filter: index.And(index.Eq("kind", "footwear"), index.Lt("price", 100)),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range matches {
		fmt.Printf("%s %.2f\n", m.ID, m.Score)
	}
	// Output:
	// shoe 1.00
}

// The expression a filter becomes.
func ExampleTranslateFilter() {
	expr, err := milvus.TranslateFilter(index.And(index.Eq("label", `say "hi"`), index.Gte("score", 2)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(expr)
	// Output:
	// ((md["label"] == "say \"hi\"" or json_contains(md["label"], "say \"hi\"")) and (md["score"] >= 2.0))
}
