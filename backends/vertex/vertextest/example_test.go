package vertextest_test

import (
	"context"
	"fmt"
	"log"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/backends/vertex/vertextest"
)

// Point the official client at the fake and embed one text; the vector is
// the fake's deterministic one.
func Example() {
	srv, err := vertextest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	c, err := aiplatform.NewPredictionClient(ctx, srv.ClientOptions()...)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	inst, _ := structpb.NewValue(map[string]any{"content": "hello"})
	params, _ := structpb.NewValue(map[string]any{"outputDimensionality": 4})
	resp, err := c.Predict(ctx, &aiplatformpb.PredictRequest{
		Endpoint:   "projects/p/locations/us-central1/publishers/google/models/text-embedding-005",
		Instances:  []*structpb.Value{inst},
		Parameters: params,
	})
	if err != nil {
		log.Fatal(err)
	}
	got := resp.GetPredictions()[0].GetStructValue().GetFields()["embeddings"].GetStructValue().GetFields()["values"].GetListValue().GetValues()
	want := vertextest.Vector("text:hello", 4)
	fmt.Println(len(got), float32(got[0].GetNumberValue()) == want[0])
	// Output: 4 true
}
