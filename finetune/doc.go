// Package finetune learns domain-specific embeddings from labeled data.
//
// Generic embeddings capture a generic similarity: a pixel or ImageNet
// encoder groups x-rays by background colour, not by fracture. Fine-tuning
// trains a small adapter over a frozen base encoder so that "similar" means
// what a team's labels say, and the result is again an
// [embedding.Encoder]: it drops into every pipeline, search and store
// unchanged.
//
// The pieces:
//
//   - [Example] is a labeled item: an [embedding.Input], or a precomputed
//     base embedding, with its label. [Labeled] makes examples of inputs
//     whose metadata holds a label, such as those the loaders of package
//     embedding/dataset return.
//   - [Trainer] learns a [Model] (an Encoder that reports how it was
//     trained). [LocalTrainer], built by [NewTrainer], trains on this
//     machine's CPUs: an optional principal-component projection of the
//     base embeddings, a linear map or small MLP, L2-normalised output,
//     trained with a supervised contrastive, batch-hard triplet or proxy
//     loss on class-balanced batches, with AdamW and early stopping on the
//     validation mAP@R. It is seeded and reproducible.
//   - [Evaluate] and [EvaluateVectors] measure precision@k, mAP@R and kNN
//     accuracy, leave-one-out; every [Report] holds them before and after
//     training.
//   - [LocalModel.Save] and [Load] keep a trained adapter in a versioned,
//     checksummed file that records the base encoder it belongs to.
//
// A typical run, here over the embedded image encoder:
//
//	base, _ := local.NewImageEncoder() // 784 pixels
//	trainer, err := finetune.NewTrainer(base,
//		finetune.WithInputPCA(128, false), // start from 128 principal components
//		finetune.WithLoss(finetune.Proxy), finetune.WithTemperature(0.2))
//	model, err := trainer.TrainLocal(ctx, train, nil) // holds out 10% for validation
//	rep := model.Report()
//	fmt.Println(rep.Before, "→", rep.After) // validation P@10, mAP@R, kNN accuracy
//	err = model.SaveFile("adapter.shoalft")
//	// later: model, err = finetune.LoadFile("adapter.shoalft", base)
//
// Then embed and index with model in place of base; model.Info().Model names
// a new namespace. On Fashion-MNIST (60,000 training images) such an
// adapter takes about 30 seconds on two cores and raises the leave-one-out
// mAP@R of the test split from 0.33 (raw pixels) to 0.78; see
// examples/finetunebench.
//
// # Choosing a loss
//
// [SupCon] (the default) and [Triplet] learn from pairs within a batch and
// suit many labels with few examples each. [Proxy] learns one vector per
// label; with many examples per label it converges faster and gives tighter
// classes. A temperature of 0.1 to 0.25 keeps pulling each class together
// after it is separated, which is what raises mAP@R; lower temperatures stop
// once classes are apart.
//
// # Performance
//
// Matrix products use an AVX2/FMA kernel (internal/vecmath) where the CPU
// has one and gonum's BLAS elsewhere; training, projection and evaluation
// use all cores (GOMAXPROCS) and give the same bits on any number of them.
//
// # Errors
//
// [ErrInvalidExamples] reports an unusable training or evaluation set (no
// examples, a single label, an empty label, a precomputed vector of the
// wrong dimension or with NaN/Inf values), wrapped with the example's ID
// (or position) and the reason. [ErrInvalidOption] reports a bad option,
// naming it and its value (for example "WithEpochs(0)").
// [ErrBaseMismatch] reports a model file loaded over another base encoder
// than the one it was trained on, or vectors of the wrong dimension given to
// a model. [ErrCorruptModel] reports a truncated, damaged or unsupported
// model file. [ErrDiverged] reports a training run whose loss became NaN.
// Errors of the base encoder and of [embedding.EncodeAll] (for example
// [embedding.ErrInvalidInput] for an undecodable image) pass through as
// they are: they already name the input. A cancelled
// context ends Train and Evaluate with the context's error.
package finetune
