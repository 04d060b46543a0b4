package memory_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

// QueryBatch answers many queries in one call, each exactly as Query would:
// here the two nearest records of each of four points (equal scores rank
// by ID).
func ExampleStore_QueryBatch() {
	ctx := context.Background()
	s, err := memory.New(memory.WithMetric(index.Euclidean))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	err = s.Upsert(ctx, "points", []index.Record{
		{ID: "origin", Vector: []float32{0, 0}},
		{ID: "east", Vector: []float32{1, 0}},
		{ID: "north", Vector: []float32{0, 1}},
		{ID: "far", Vector: []float32{5, 5}},
	})
	if err != nil {
		log.Fatal(err)
	}
	var qs []index.Query
	for _, v := range [][]float32{{0.1, 0}, {0.9, 0.2}, {0, 0.8}, {4, 4}} {
		qs = append(qs, index.Query{Namespace: "points", Vector: v, TopK: 2})
	}
	results, err := s.QueryBatch(ctx, qs)
	if err != nil {
		log.Fatal(err)
	}
	for i, ms := range results {
		fmt.Printf("query %d:", i)
		for _, m := range ms {
			fmt.Printf(" %s (%.2f)", m.ID, m.Score)
		}
		fmt.Println()
	}
	// Output:
	// query 0: origin (-0.01) east (-0.81)
	// query 1: east (-0.05) origin (-0.85)
	// query 2: north (-0.04) origin (-0.64)
	// query 3: far (-2.00) east (-25.00)
}
