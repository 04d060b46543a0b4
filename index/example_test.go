package index_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

func ExampleFilter_Match() {
	f := index.And(
		index.Eq("kind", "shoe"),
		index.Or(index.Lt("price", 50), index.Eq("tags", "sale")),
		index.Ne("discontinued", true),
	)
	items := []index.Metadata{
		{"kind": "shoe", "price": int64(40), "discontinued": false},
		{"kind": "shoe", "price": 80.0, "tags": []string{"new", "sale"}, "discontinued": false},
		{"kind": "shoe", "price": 30.0}, // no "discontinued": Ne needs the field
		{"kind": "bag", "price": int64(20), "discontinued": false},
	}
	fmt.Println(f)
	for i, md := range items {
		fmt.Println(i, f.Match(md))
	}
	// Output:
	// and(eq("kind", "shoe"), or(lt("price", 50), eq("tags", "sale")), ne("discontinued", true))
	// 0 true
	// 1 true
	// 2 false
	// 3 false
}

func ExampleFilter_Validate() {
	for _, f := range []index.Filter{
		index.In("color", "red", "blue"),
		index.In("color"),
		index.Gt("size", "large"),
	} {
		fmt.Println(f.Validate())
	}
	// Output:
	// <nil>
	// index: invalid filter: in "color": no values
	// index: invalid filter: gt "size": value of type string (want a number)
}

func ExampleMetadata_Normalize() {
	md, err := index.Metadata{"width": 640, "ratio": float32(1.5), "tags": []string{"cat"}}.Normalize()
	fmt.Printf("%T %T %T %v\n", md["width"], md["ratio"], md["tags"], err)

	_, err = index.Metadata{"$where": "x"}.Normalize()
	fmt.Println(errors.Is(err, index.ErrInvalidMetadata))
	// Output:
	// int64 float64 []string <nil>
	// true
}

func ExampleMetadata_Number() {
	// A remote store may hand an int64 back as a float64; Number reads both.
	for _, md := range []index.Metadata{{"n": int64(3)}, {"n": 3.0}, {"n": "3"}} {
		n, ok := md.Number("n")
		fmt.Println(n, ok)
	}
	// Output:
	// 3 true
	// 3 true
	// 0 false
}

func ExampleParseMetric() {
	m, err := index.ParseMetric("L2")
	fmt.Println(m, err)
	_, err = index.ParseMetric("manhattan")
	fmt.Println(err)
	// Output:
	// euclidean <nil>
	// index: invalid argument: unknown metric "manhattan"
}

func ExampleItemError() {
	store, _ := memory.New()
	err := store.Upsert(context.Background(), "ns", []index.Record{
		{ID: "a", Vector: []float32{1, 0}},
		{ID: "b", Vector: []float32{1, 0, 0}},
	})
	var ie *index.ItemError
	if errors.As(err, &ie) && errors.Is(err, index.ErrDimension) {
		fmt.Println(ie.Index, ie.ID)
	}
	fmt.Println(err)
	// Output:
	// 1 b
	// record 1 (id "b"): index: dimension mismatch: got 3, want 2
}
