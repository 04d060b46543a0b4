// Command openai embeds a few short texts with a model behind an
// OpenAI-compatible embeddings API, indexes them in Shoal's embedded store
// and searches them with a query text:
//
//  1. embed the texts through embedding.EncodeAll and backends/openai —
//     batched within the server's limits, parallel, retrying rate limits
//     and availability errors,
//  2. index the vectors with their topic in index/memory,
//  3. embed the -query text and print the nearest texts.
//
// Against OpenAI (OPENAI_API_KEY in the environment):
//
//	go run ./examples/openai -model text-embedding-3-small -dimensions 256
//
// Against Ollama (ollama pull nomic-embed-text) or Text Embeddings
// Inference (docker run ... ghcr.io/huggingface/text-embeddings-inference
// --model-id BAAI/bge-small-en-v1.5):
//
//	go run ./examples/openai -base-url http://localhost:11434/v1 -model nomic-embed-text
//	go run ./examples/openai -base-url http://localhost:8080/v1 -model BAAI/bge-small-en-v1.5 -max-inputs 32 -max-input-tokens 512
//
// With -fake it runs against the in-process fake (backends/openai/openaitest),
// with no account and no network; the fake's vectors are sums of per-word
// random vectors, so texts that share words are near each other:
//
//	go run ./examples/openai -fake
//
// With -finetune it then fine-tunes an adapter over the served model on 200
// generated product titles labeled by category (finetune's local trainer
// works over any embedding.Encoder) and prints precision@10 and mAP@R on
// held-out titles before and after: the titles share colours and
// materials across categories, which the base model weighs as much as the
// category word, and the adapter learns to weigh the category.
//
//	go run ./examples/openai -fake -finetune
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"

	"github.com/shoalhq/shoal/backends/openai"
	"github.com/shoalhq/shoal/backends/openai/openaitest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/finetune"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

type config struct {
	baseURL, model, query    string
	dimensions, k, maxInputs int
	maxInputTokens, conc     int
	fake, finetune           bool
}

// corpus is the small set the example indexes: text and topic.
var corpus = [][2]string{
	{"a red leather shoe with a low heel", "footwear"},
	{"waterproof hiking boots for rocky trails", "footwear"},
	{"white canvas sneakers for running", "footwear"},
	{"a wool winter coat with a hood", "outerwear"},
	{"a light rain jacket that packs into its pocket", "outerwear"},
	{"a cotton t-shirt with a round neck", "tops"},
	{"a striped linen shirt with long sleeves", "tops"},
	{"a leather handbag with a gold clasp", "bags"},
	{"a canvas backpack for school and hiking", "bags"},
	{"denim jeans with a straight leg", "bottoms"},
}

func main() {
	var cfg config
	flag.StringVar(&cfg.baseURL, "base-url", "", "the server's base URL, e.g. http://localhost:11434/v1 (default $OPENAI_BASE_URL, else OpenAI)")
	flag.StringVar(&cfg.model, "model", openai.DefaultModel, "embedding model, as the server names it")
	flag.IntVar(&cfg.dimensions, "dimensions", 0, "vector length to ask for (text-embedding-3 and Matryoshka models; 0: the model's)")
	flag.IntVar(&cfg.maxInputs, "max-inputs", openai.DefaultMaxInputs, "inputs per request the server takes (TEI: 32)")
	flag.IntVar(&cfg.maxInputTokens, "max-input-tokens", openai.DefaultMaxInputTokens, "tokens per input the model takes (BERT-class: 512)")
	flag.IntVar(&cfg.conc, "concurrency", 4, "requests in flight")
	flag.IntVar(&cfg.k, "k", 3, "neighbours to print")
	flag.StringVar(&cfg.query, "query", "shoes for walking in the hills", "the text to search with")
	flag.BoolVar(&cfg.fake, "fake", false, "run against the in-process fake instead of a server")
	flag.BoolVar(&cfg.finetune, "finetune", false, "then fine-tune an adapter over the model on generated labeled titles and print the metrics before and after")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "openai:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	opts := []openai.Option{openai.WithModel(cfg.model), openai.WithMaxInputs(cfg.maxInputs),
		openai.WithMaxInputTokens(cfg.maxInputTokens)}
	if cfg.fake {
		srv, err := openaitest.NewServer()
		if err != nil {
			return err
		}
		defer srv.Close()
		cfg.baseURL = srv.URL()
	}
	if cfg.baseURL != "" {
		opts = append(opts, openai.WithBaseURL(cfg.baseURL))
	}
	if cfg.dimensions > 0 {
		opts = append(opts, openai.WithDimensions(cfg.dimensions))
	}
	enc, err := openai.NewEncoder(ctx, opts...)
	if err != nil {
		return err
	}
	info := enc.Info()
	fmt.Fprintf(out, "model %s: %d dimensions, %d inputs per request\n", info.Model, info.Dim, info.MaxBatch)

	store, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		return err
	}
	defer store.Close()
	in := make([]embedding.Input, len(corpus))
	for i, c := range corpus {
		in[i] = embedding.Input{ID: fmt.Sprintf("text-%02d", i), Text: c[0], Metadata: map[string]any{"topic": c[1], "text": c[0]}}
	}
	ns := info.Namespace()
	n, err := index.UpsertAll(ctx, store, ns, index.FromEmbedded(embedding.EncodeAll(ctx, enc, embedding.Inputs(in),
		embedding.WithConcurrency(cfg.conc))))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "indexed %d texts\n", n)

	q, err := enc.Encode(ctx, []embedding.Input{{ID: "query", Text: cfg.query}})
	if err != nil {
		return err
	}
	matches, err := store.Query(ctx, index.Query{Namespace: ns, Vector: q[0], TopK: cfg.k})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "nearest to %q:\n", cfg.query)
	for i, m := range matches {
		fmt.Fprintf(out, "%3d. %-10s %.4f  %s\n", i+1, m.Metadata["topic"], m.Score, m.Metadata["text"])
	}
	if cfg.finetune {
		return fineTune(ctx, enc, out)
	}
	return nil
}

// fineTune trains an adapter over enc on generated titles labeled by
// category and prints the held-out metrics before and after.
func fineTune(ctx context.Context, enc embedding.Encoder, out io.Writer) error {
	examples, err := finetune.Labeled(titles(40, 1), "category")
	if err != nil {
		return err
	}
	trainer, err := finetune.NewTrainer(enc, finetune.WithEpochs(40), finetune.WithSeed(1),
		finetune.WithValidationFraction(0.25), finetune.WithEncodeOptions(embedding.WithConcurrency(4)))
	if err != nil {
		return err
	}
	model, err := trainer.TrainLocal(ctx, examples, nil)
	if err != nil {
		return err
	}
	r := model.Report()
	fmt.Fprintf(out, "fine-tuned %s on %d titles (%d held out): precision@%d %.2f -> %.2f, mAP@R %.2f -> %.2f\n",
		r.Base.Model, r.TrainExamples, r.ValExamples, r.Before.K, r.Before.PrecisionAtK, r.After.PrecisionAtK, r.Before.MAPAtR, r.After.MAPAtR)
	return nil
}

// titles generates perCategory product titles for each of five categories:
// three shared attribute words (colour, material, size) and a noun of the
// category, with "category" in the metadata.
func titles(perCategory int, seed uint64) []embedding.Input {
	nouns := map[string][]string{
		"footwear": {"shoe", "boot", "sneaker"}, "outerwear": {"coat", "jacket", "parka"},
		"tops": {"shirt", "blouse", "tee"}, "bags": {"handbag", "backpack", "tote"}, "bottoms": {"jeans", "trousers", "shorts"},
	}
	attrs := [][]string{
		{"red", "blue", "green", "black", "white", "grey"},
		{"wool", "cotton", "leather", "denim", "linen", "canvas"},
		{"small", "large", "light", "heavy", "soft", "warm"},
	}
	r := rand.New(rand.NewPCG(seed, 7))
	var in []embedding.Input
	for _, cat := range []string{"footwear", "outerwear", "tops", "bags", "bottoms"} {
		for i := range perCategory {
			words := []string{attrs[0][r.IntN(6)], attrs[1][r.IntN(6)], attrs[2][r.IntN(6)], nouns[cat][r.IntN(3)]}
			in = append(in, embedding.Input{ID: fmt.Sprintf("%s-%03d", cat, i), Text: strings.Join(words, " "),
				Metadata: map[string]any{"category": cat}})
		}
	}
	return in
}
