package openai_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shoalhq/shoal/backends/openai"
	"github.com/shoalhq/shoal/backends/openai/openaitest"
	"github.com/shoalhq/shoal/embedding"
)

// Embed a stream through an OpenAI-compatible server. Here the server is
// the in-process fake; against OpenAI, drop WithBaseURL and set
// OPENAI_API_KEY; against Ollama, WithBaseURL("http://localhost:11434/v1")
// and WithModel("nomic-embed-text").
func ExampleNewEncoder() {
	ctx := context.Background()
	srv, err := openaitest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	enc, err := openai.NewEncoder(ctx, openai.WithBaseURL(srv.URL()),
		openai.WithModel(openai.TextEmbedding3Small), openai.WithDimensions(256))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", enc.Info())

	in := embedding.Inputs([]embedding.Input{{ID: "a", Text: "a red shoe"}, {ID: "b", Text: "a blue boot"}})
	for e, err := range embedding.EncodeAll(ctx, enc, in, embedding.WithConcurrency(8)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Input.ID, len(e.Vector))
	}
	// Output:
	// {Model:text-embedding-3-small/256 Dim:256 Normalized:true MaxBatch:2048 MaxBatchBytes:295904}
	// a 256
	// b 256
}

// Point the encoder at a self-hosted server. Text Embeddings Inference
// serving BAAI/bge-small-en-v1.5 takes 32 inputs per request and 512
// tokens per input, counted by a WordPiece tokenizer: EstimateTokens bounds
// it from above. The vector length is learnt from one request.
func ExampleNewEncoder_tei() {
	ctx := context.Background()
	enc, err := openai.NewEncoder(ctx,
		openai.WithBaseURL("http://localhost:8080/v1"),
		openai.WithModel("BAAI/bge-small-en-v1.5"),
		openai.WithMaxInputs(32),
		openai.WithMaxInputTokens(512),
		openai.WithTokenCounter(openai.EstimateTokens),
		openai.WithEncodingFormat(openai.Float),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = enc
}

// Embed images with a CLIP-class model on Infinity: image bytes go as data:
// URIs in requests with "modality": "image".
func ExampleWithImages() {
	ctx := context.Background()
	srv, err := openaitest.NewServer(openaitest.WithImages(),
		openaitest.WithModel("jinaai/jina-clip-v1", openaitest.Model{Dim: 768}))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	enc, err := openai.NewEncoder(ctx, openai.WithBaseURL(srv.URL()), openai.WithModel("jinaai/jina-clip-v1"),
		openai.WithImages(), openai.WithNormalized(true))
	if err != nil {
		log.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\n") // the first bytes of a PNG file
	vecs, err := enc.Encode(ctx, []embedding.Input{{ID: "photo", Image: png}, {ID: "caption", Text: "a photo of a cat"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc.Info().Dim, len(vecs[0]), len(vecs[1]))
	// Output:
	// 768 768 768
}
