package finetune_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"math"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/finetune"
)

// colouredThings builds short texts whose wording is dominated by a colour
// (the nuisance) while the label is the kind of thing they name.
func colouredThings(colours []string) []finetune.Example {
	things := map[string][]string{
		"fruit":   {"apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "pear"},
		"vehicle": {"car", "truck", "bus", "van", "bicycle", "tractor", "scooter", "tram"},
	}
	var out []finetune.Example
	for _, kind := range []string{"fruit", "vehicle"} {
		for i, thing := range things[kind] {
			for j, c := range colours {
				if (i+j)%2 == 0 { // each thing in half of the colours
					text := fmt.Sprintf("a %s %s, %s all over, very %s", c, thing, c, c)
					out = append(out, finetune.Example{
						Input: embedding.Input{ID: fmt.Sprintf("%s-%s", c, thing), Text: text},
						Label: kind,
					})
				}
			}
		}
	}
	return out
}

// Train an adapter over the embedded text encoder so that "similar" means
// "the same kind of thing", not "the same colour".
func ExampleLocalTrainer() {
	ctx := context.Background()
	base, err := local.NewTextEncoder()
	if err != nil {
		log.Fatal(err)
	}
	train := colouredThings([]string{"red", "blue", "green", "yellow"})
	val := colouredThings([]string{"purple", "orange"})

	trainer, err := finetune.NewTrainer(base,
		finetune.WithHidden(), // a linear map is enough here
		finetune.WithOutputDim(16),
		finetune.WithEpochs(60),
	)
	if err != nil {
		log.Fatal(err)
	}
	model, err := trainer.Train(ctx, train, val)
	if err != nil {
		log.Fatal(err)
	}
	rep := model.Report()
	fmt.Printf("%d training and %d validation examples, %d labels\n", rep.TrainExamples, rep.ValExamples, rep.Classes)
	fmt.Println("validation mAP@R improved:", rep.After.MAPAtR > rep.Before.MAPAtR+0.2)

	// The model is an embedding.Encoder: it embeds new inputs directly.
	vecs, err := model.Encode(ctx, []embedding.Input{{ID: "q", Text: "a grey plum"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("dimension:", len(vecs[0]), "normalised:", math.Abs(norm(vecs[0])-1) < 1e-5)
	// Output:
	// 32 training and 16 validation examples, 2 labels
	// validation mAP@R improved: true
	// dimension: 16 normalised: true
}

func norm(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// Measure how well vectors group by label, leave-one-out.
func ExampleEvaluateVectors() {
	vecs := [][]float32{
		{1, 0.1}, {1, 0.2}, {0.9, 0}, // three "a", pointing right
		{0, 1}, {0.1, 1}, // two "b", pointing up
		{0.8, 0.6}, // a "b" that looks like an "a"
	}
	labels := []string{"a", "a", "a", "b", "b", "b"}
	m, err := finetune.EvaluateVectors(context.Background(), vecs, labels, finetune.WithPrecisionAtK(2), finetune.WithKNN(3))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m)
	// Output:
	// P@2 0.833 mAP@R 0.833 kNN@3 0.833 (6 queries)
}

// Save a trained adapter and load it back over the same base encoder.
func ExampleLoad() {
	ctx := context.Background()
	base, err := local.NewTextEncoder()
	if err != nil {
		log.Fatal(err)
	}
	trainer, err := finetune.NewTrainer(base, finetune.WithHidden(32), finetune.WithOutputDim(8), finetune.WithEpochs(3))
	if err != nil {
		log.Fatal(err)
	}
	model, err := trainer.TrainLocal(ctx, colouredThings([]string{"red", "blue", "green", "yellow"}), nil)
	if err != nil {
		log.Fatal(err)
	}
	var file bytes.Buffer // or model.SaveFile(path) and finetune.LoadFile(path, base)
	if err := model.Save(&file); err != nil {
		log.Fatal(err)
	}
	loaded, err := finetune.Load(&file, base)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same model:", loaded.Info() == model.Info())

	other, err := local.NewTextEncoder(local.WithTextDim(128))
	if err != nil {
		log.Fatal(err)
	}
	if err := model.Save(&file); err != nil {
		log.Fatal(err)
	}
	_, err = finetune.Load(&file, other)
	fmt.Println(err != nil)
	// Output:
	// same model: true
	// true
}
