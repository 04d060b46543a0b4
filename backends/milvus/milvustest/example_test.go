package milvustest_test

import (
	"fmt"
	"log"
	"time"

	"github.com/shoalhq/shoal/backends/milvus/milvustest"
)

// Start a fake with 5 ms of latency and 10 % transient failures; give its
// address to the Milvus SDK or to backends/milvus.Open.
func ExampleStart() {
	srv, err := milvustest.Start(milvustest.WithLatency(5*time.Millisecond), milvustest.WithFailureRate(0.1, 42))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	fmt.Println(srv.Addr() != "")
	// Output: true
}

// Evaluate an expression the way the fake does.
func ExampleParseExpr() {
	e, err := milvustest.ParseExpr(`ns == "a" and json_contains(md["tags"], "x")`,
		map[string]milvustest.FieldKind{"ns": milvustest.KindScalar, "md": milvustest.KindJSON})
	if err != nil {
		log.Fatal(err)
	}
	md, _ := milvustest.DecodeJSON([]byte(`{"tags":["x","y"]}`))
	fmt.Println(e.Eval(map[string]any{"ns": "a", "md": md}))
	// Output: true
}
