package vertex_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

// Embed a stream with a publisher model. Against Vertex AI, drop the
// vertextest server and WithClientOptions: the client then uses
// Application Default Credentials and us-central1-aiplatform.googleapis.com.
func ExampleNewEncoder() {
	ctx := context.Background()
	srv, err := vertextest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	enc, err := vertex.NewEncoder(ctx, vertex.PublisherModel("my-project", "us-central1", vertex.TextEmbedding005),
		vertex.WithDimension(256), vertex.WithTaskType("RETRIEVAL_DOCUMENT"),
		vertex.WithClientOptions(srv.ClientOptions()...))
	if err != nil {
		log.Fatal(err)
	}
	defer enc.Close()
	fmt.Printf("%+v\n", enc.Info())

	in := embedding.Inputs([]embedding.Input{{ID: "a", Text: "a red shoe"}, {ID: "b", Text: "a blue boot"}})
	for e, err := range embedding.EncodeAll(ctx, enc, in, embedding.WithConcurrency(8)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Input.ID, len(e.Vector))
	}
	// Output:
	// {Model:text-embedding-005/256 Dim:256 Normalized:false MaxBatch:250 MaxBatchBytes:19500}
	// a 256
	// b 256
}

// Embed a pool with a batch prediction job and index the results.
func ExampleNewBatchEncoder() {
	ctx := context.Background()
	gcs := fakestorage.NewServer(nil) // Cloud Storage; in production storage.NewClient
	defer gcs.Stop()
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "my-bucket"})
	srv, err := vertextest.NewServer(vertextest.WithStorage(gcs.Client()))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	b, err := vertex.NewBatchEncoder(ctx, vertex.PublisherModel("my-project", "us-central1", vertex.MultimodalEmbedding001),
		vertex.WithDimension(128), vertex.WithStorageClient(gcs.Client()),
		vertex.WithPollInterval(time.Millisecond, 10*time.Millisecond), // default 5s..1m
		vertex.WithClientOptions(srv.ClientOptions()...))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	pool := embedding.Inputs([]embedding.Input{
		{ID: "img-1", URI: "gs://my-bucket/images/1.jpg"},
		{ID: "img-2", URI: "gs://my-bucket/images/2.jpg"},
	})
	if _, err := b.WriteInputs(ctx, "gs://my-bucket/jobs/pool.jsonl", pool); err != nil {
		log.Fatal(err)
	}
	store, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	n, err := index.UpsertAll(ctx, store, b.Info().Model, b.EncodeAll(ctx, "gs://my-bucket/jobs/pool.jsonl", "gs://my-bucket/jobs/out"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("indexed", n, "vectors in", b.Info().Model)
	// Output:
	// indexed 2 vectors in multimodalembedding@001/128
}

// Fine-tune on TPU and serve the model from an endpoint (needs a project,
// a bucket and the two container images).
func ExampleNewTrainer() {
	ctx := context.Background()
	tr, err := vertex.NewTrainer(ctx, "my-project", "us-central1",
		vertex.WithTrainingImage("us-docker.pkg.dev/my-project/shoal/train:1"),
		vertex.WithServingImage("us-docker.pkg.dev/my-project/shoal/serve:1"),
		vertex.WithStaging("gs://my-bucket/shoal"),
		vertex.WithTrainingMachine(vertex.TPUv5e(4)),
		vertex.WithDeploy(vertex.GPUL4(1)),
		vertex.WithDimension(256), vertex.WithEpochs(20))
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	_ = tr // model, err := tr.Train(ctx, labeled, nil); model.Encode(...)
}
