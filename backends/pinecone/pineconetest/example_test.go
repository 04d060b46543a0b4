package pineconetest_test

import (
	"context"
	"fmt"
	"log"
	"os"

	pc "github.com/pinecone-io/go-pinecone/v5/pinecone"

	"github.com/shoalhq/shoal/backends/pinecone/pineconetest"
	"github.com/shoalhq/shoal/index"
)

// The official client against the fake: create nothing, point the client at
// the fake's control URL and an index's host.
func ExampleNew() {
	for _, k := range []string{"PINECONE_API_KEY", "PINECONE_CONTROLLER_HOST", "PINECONE_ADDITIONAL_HEADERS"} {
		os.Unsetenv(k)
	}
	srv, err := pineconetest.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreateIndex("demo", 2, index.DotProduct); err != nil {
		log.Fatal(err)
	}
	c, err := pc.NewClient(pc.NewClientParams{ApiKey: srv.APIKey(), Host: srv.ControlURL()})
	if err != nil {
		log.Fatal(err)
	}
	conn, err := c.Index(pc.NewIndexConnParams{Host: srv.Host("demo")})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	n, err := conn.UpsertVectors(context.Background(), []*pc.Vector{{Id: "a", Values: &[]float32{1, 2}}})
	fmt.Println(n, err, srv.Calls())
	// Output: 1 <nil> 1
}
