package finetune_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/shoalhq/shoal/finetune"
)

// clustered returns n random vectors of dimension d in 10 noisy clusters.
func clustered(n, d int) ([][]float32, []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	vecs := make([][]float32, n)
	labels := make([]string, n)
	for i := range vecs {
		v := make([]float32, d)
		l := rng.IntN(10)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		v[l] += 5
		vecs[i], labels[i] = v, strconv.Itoa(l)
	}
	return vecs, labels
}

func BenchmarkEvaluateVectors(b *testing.B) {
	for _, c := range []struct{ n, d int }{{10000, 64}, {10000, 784}} {
		b.Run(strconv.Itoa(c.n)+"x"+strconv.Itoa(c.d), func(b *testing.B) {
			vecs, labels := clustered(c.n, c.d)
			for b.Loop() {
				if _, err := finetune.EvaluateVectors(context.Background(), vecs, labels); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrainEpoch measures one epoch over 20,000 precomputed
// 256-dimensional vectors with an MLP of 512 hidden units and validation
// on 2,000 (about 11 G multiply-adds).
func BenchmarkTrainEpoch(b *testing.B) {
	vecs, labels := clustered(22000, 256)
	train := make([]finetune.Example, 20000)
	val := make([]finetune.Example, 2000)
	for i := range train {
		train[i] = finetune.Example{Vector: vecs[i], Label: labels[i]}
	}
	for i := range val {
		val[i] = finetune.Example{Vector: vecs[20000+i], Label: labels[20000+i]}
	}
	enc := &tableEncoder{model: "bench", dim: 256}
	trainer, err := finetune.NewTrainer(enc, finetune.WithEpochs(1), finetune.WithBatch(10, 32), finetune.WithLoss(finetune.Proxy))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := trainer.Train(context.Background(), train, val); err != nil {
			b.Fatal(err)
		}
	}
}
