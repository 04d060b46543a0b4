package indextest_test

import (
	"fmt"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

func ExampleRandomRecords() {
	recs := indextest.RandomRecords(1, 3, 4)
	for _, r := range recs {
		fmt.Println(r.ID, len(r.Vector), r.Metadata["i"], r.Metadata["even"])
	}
	// Output:
	// r00000 4 0 true
	// r00001 4 1 false
	// r00002 4 2 true
}

func ExampleScore() {
	a, b := []float32{1, 1, 0}, []float32{2, 1, 0}
	for _, m := range []index.Metric{index.Cosine, index.DotProduct, index.Euclidean} {
		fmt.Printf("%s %.4f\n", m, indextest.Score(m, a, b))
	}
	// Output:
	// cosine 0.9487
	// dot 3.0000
	// euclidean -1.0000
}

func ExampleMetadataEqual() {
	written := index.Metadata{"n": int64(3), "tags": []string{"a"}}
	returned := index.Metadata{"n": 3.0, "tags": []string{"a"}} // as a remote store may return it
	fmt.Println(indextest.MetadataEqual(written, returned))
	fmt.Println(indextest.MetadataEqual(written, index.Metadata{"n": "3", "tags": []string{"a"}}))
	// Output:
	// true
	// false
}
