package search_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search"
)

// photos returns an embedded store holding a few 3-D "photo embeddings"
// (axes: cat-like, dog-like, vehicle-like).
func photos(ctx context.Context) *memory.Store {
	store, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		log.Fatal(err)
	}
	err = store.Upsert(ctx, "photos", []index.Record{
		{ID: "tabby", Vector: []float32{1, 0.1, 0}, Metadata: index.Metadata{"kind": "cat"}},
		{ID: "siamese", Vector: []float32{0.95, 0.25, 0}, Metadata: index.Metadata{"kind": "cat"}},
		{ID: "lynx", Vector: []float32{0.8, 0.5, 0.1}, Metadata: index.Metadata{"kind": "cat"}},
		{ID: "fox", Vector: []float32{0.7, 0.7, 0}, Metadata: index.Metadata{"kind": "dog"}},
		{ID: "husky", Vector: []float32{0.1, 1, 0}, Metadata: index.Metadata{"kind": "dog"}},
		{ID: "truck", Vector: []float32{0, 0.1, 1}, Metadata: index.Metadata{"kind": "vehicle"}},
		{ID: "van", Vector: []float32{0.1, 0, 1}, Metadata: index.Metadata{"kind": "vehicle"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	return store
}

// More photos like the tabby, less like the fox.
func Example() {
	ctx := context.Background()
	store := photos(ctx)
	defer store.Close()

	s, err := search.New(store, "photos") // the store's metric, cosine
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.Search(ctx, search.Bucket{
		Positives: []search.Example{search.ByID("tabby")},
		Negatives: []search.Example{search.ByID("fox")},
	}, search.WithTopK(3))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Printf("%-7s %-7s %.3f\n", r.ID, r.Metadata["kind"], r.Score)
	}
	// Output:
	// siamese cat     0.805
	// lynx    cat     0.590
	// van     vehicle 0.093
}

// A bucket spanning two clusters: Max retrieves from both, and items the
// user has already seen are left out.
func ExampleSearcher_Search_max() {
	ctx := context.Background()
	store := photos(ctx)
	defer store.Close()

	s, err := search.New(store, "photos")
	if err != nil {
		log.Fatal(err)
	}
	bucket := search.Bucket{Positives: []search.Example{
		search.ByID("tabby"),
		search.ByVector([]float32{0, 0, 1}), // something vehicle-like
	}}
	res, err := s.Search(ctx, bucket,
		search.WithAggregation(search.Max),
		search.WithExclude("siamese"), // already seen
		search.WithTopK(3))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Printf("%-5s closest to positive %d, score %.3f\n", r.ID, r.Positive, r.Score)
	}
	// Output:
	// truck closest to positive 1, score 0.995
	// van   closest to positive 1, score 0.995
	// lynx  closest to positive 0, score 0.892
}

// A filtered bucket search: only records whose metadata the filter matches
// are ranked, here the photos that are not cats.
func ExampleWithFilter() {
	ctx := context.Background()
	store := photos(ctx)
	defer store.Close()

	// Options given to New are defaults for every search.
	s, err := search.New(store, "photos", search.WithTopK(2))
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.Search(ctx, search.Bucket{Positives: []search.Example{search.ByID("lynx")}},
		search.WithFilter(index.Ne("kind", "cat")))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Printf("%-5s %-7s %.3f\n", r.ID, r.Metadata["kind"], r.Score)
	}
	// Output:
	// fox   dog     0.969
	// husky dog     0.608
}
