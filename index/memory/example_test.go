package memory_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

func Example() {
	ctx := context.Background()
	s, err := memory.New() // cosine similarity by default
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.Upsert(ctx, "shoes", []index.Record{
		{ID: "boot", Vector: []float32{0.9, 0.1, 0}, Metadata: index.Metadata{"kind": "boot", "price": 120.0}},
		{ID: "sneaker", Vector: []float32{0.7, 0.7, 0.1}, Metadata: index.Metadata{"kind": "sneaker", "price": 80.0}},
		{ID: "sandal", Vector: []float32{0.1, 0.2, 1}, Metadata: index.Metadata{"kind": "sandal", "price": 30.0}},
	})
	if err != nil {
		log.Fatal(err)
	}

	q := []float32{1, 0.3, 0}
	matches, err := s.Query(ctx, index.Query{Namespace: "shoes", Vector: q, TopK: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range matches {
		fmt.Printf("%-8s %.3f\n", m.ID, m.Score)
	}

	// The same query among the shoes under 100.
	cheap, err := s.Query(ctx, index.Query{Namespace: "shoes", Vector: q, TopK: 2, Filter: index.Lt("price", 100)})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range cheap {
		fmt.Printf("%-8s %.3f %v\n", m.ID, m.Score, m.Metadata["price"])
	}
	// Output:
	// boot     0.984
	// sneaker  0.876
	// sneaker  0.876 80
	// sandal   0.150 30
}

func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "shoal-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := memory.Open(ctx, dir, memory.WithMetric(index.DotProduct))
	if err != nil {
		log.Fatal(err)
	}
	err = s.Upsert(ctx, "pool", []index.Record{
		{ID: "a", Vector: []float32{1, 2}, Metadata: index.Metadata{"label": "cat", "round": int64(1)}},
		{ID: "b", Vector: []float32{3, 4}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	// Reopening loads what was written; the directory remembers the metric.
	s, err = memory.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	n, err := s.Count(ctx, "pool")
	if err != nil {
		log.Fatal(err)
	}
	recs, err := s.Fetch(ctx, "pool", []string{"a"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Metric(), n)
	fmt.Printf("%s %v %v %T\n", recs[0].ID, recs[0].Vector, recs[0].Metadata["label"], recs[0].Metadata["round"])
	// Output:
	// dot 2
	// a [1 2] cat int64
}
