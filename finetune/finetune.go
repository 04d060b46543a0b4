package finetune

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoalhq/shoal/embedding"
)

// Example is one labeled item to train or evaluate on.
//
// Vector, when set, is the item's precomputed embedding by the base encoder
// and is used instead of Input: it saves encoding a pool that is already
// embedded (for example vectors fetched from a store). Otherwise Input is
// encoded with the base encoder. Input.ID names the example in errors.
type Example struct {
	// Input is the item, encoded by the base encoder unless Vector is set.
	Input embedding.Input
	// Vector is the item's precomputed base embedding (optional). Its
	// length must be the base encoder's Info().Dim.
	Vector []float32
	// Label is the item's class. Items with the same label are similar;
	// it must not be empty.
	Label string
}

// Trainer learns a [Model] from labeled examples.
//
// Train fits on train and uses val to choose when to stop; a nil or empty
// val asks the trainer to hold out part of train itself. Train returns
// ctx's error when ctx is cancelled. The local implementation is
// [LocalTrainer]; backends (for example a managed training service) provide
// others.
type Trainer interface {
	Train(ctx context.Context, train, val []Example) (Model, error)
}

// Model is a fine-tuned encoder: it embeds inputs like any
// [embedding.Encoder] (so it drops into every pipeline, search and store
// unchanged) and reports how it was trained.
//
// Its Info().Model names the base model and the trained weights, so a store
// namespace never mixes vectors of two models.
type Model interface {
	embedding.Encoder
	// Report describes the training run that produced the model.
	Report() Report
}

// Report describes a training run: its configuration, the loss and
// validation quality of every epoch, the epoch whose weights were kept, and
// the validation metrics before (base encoder) and after fine-tuning.
type Report struct {
	// Base describes the frozen base encoder.
	Base embedding.Info `json:"base"`
	// Config is the trainer's configuration, defaults filled in.
	Config Config `json:"config"`
	// TrainExamples and ValExamples count the examples used for fitting and
	// for validation (after any automatic split).
	TrainExamples int `json:"train_examples"`
	ValExamples   int `json:"val_examples"`
	// Classes counts the distinct labels in the training examples.
	Classes int `json:"classes"`
	// Epochs has one entry per epoch run, in order.
	Epochs []EpochStats `json:"epochs"`
	// BestEpoch is the epoch (1-based) whose weights the model has: the one
	// with the best validation mAP@R, or the last one without validation.
	BestEpoch int `json:"best_epoch"`
	// Before holds the validation metrics of the base encoder, After those
	// of the fine-tuned model. Both are zero without validation examples.
	Before Metrics `json:"before"`
	After  Metrics `json:"after"`
	// EncodeDuration is the time spent computing base embeddings (zero when
	// they all came from Example.Vector or a cache).
	EncodeDuration time.Duration `json:"encode_duration"`
	// Duration is the whole Train call, base embeddings included.
	Duration time.Duration `json:"duration"`
	// StoppedEarly reports that validation stopped training before
	// Config.Epochs.
	StoppedEarly bool `json:"stopped_early"`
}

// EpochStats describes one epoch of training. [WithProgress] receives one
// after every epoch.
type EpochStats struct {
	// Epoch is 1-based.
	Epoch int `json:"epoch"`
	// Loss is the mean training loss over the epoch's batches.
	Loss float64 `json:"loss"`
	// Validation holds the validation metrics after the epoch (zero without
	// validation examples).
	Validation Metrics `json:"validation"`
	// Best reports that this epoch is the best so far (its weights are kept).
	Best bool `json:"best"`
	// Duration is the epoch's time, validation included.
	Duration time.Duration `json:"duration"`
}

// Metrics are retrieval-quality measures computed leave-one-out: each item
// in turn is the query, and all other items, ranked by cosine similarity,
// are the results. An item is relevant to a query when it has the same
// label. Ties in similarity rank the earlier item first.
//
// Only items whose label has at least one other item are queries; the
// others are counted in Skipped (they still appear as results).
type Metrics struct {
	// Queries counts the items used as queries.
	Queries int `json:"queries"`
	// Skipped counts the items whose label no other item has.
	Skipped int `json:"skipped,omitempty"`
	// K is the cut-off of PrecisionAtK.
	K int `json:"k"`
	// PrecisionAtK is the mean fraction of relevant items among a query's
	// K nearest neighbours.
	PrecisionAtK float64 `json:"precision_at_k"`
	// MAPAtR is the mean average precision at R (Musgrave et al., "A Metric
	// Learning Reality Check", 2020): for a query with R relevant items,
	// (1/R)·Σ_{i≤R} P(i)·rel(i), where P(i) is the precision of the top i
	// results and rel(i) is 1 if result i is relevant. It is 1 only when
	// all R relevant items come first, so it rewards tight, well-separated
	// classes, not just a correct nearest neighbour.
	MAPAtR float64 `json:"map_at_r"`
	// KNN is the number of neighbours that vote in KNNAccuracy.
	KNN int `json:"knn"`
	// KNNAccuracy is the fraction of queries whose label wins the majority
	// vote of their KNN nearest neighbours (a tie goes to the tied label
	// ranked first).
	KNNAccuracy float64 `json:"knn_accuracy"`
}

// String formats the metrics on one line, for example
// "P@10 0.761 mAP@R 0.331 kNN@10 0.853 (10000 queries)".
func (m Metrics) String() string {
	s := fmt.Sprintf("P@%d %.3f mAP@R %.3f kNN@%d %.3f (%d queries", m.K, m.PrecisionAtK, m.MAPAtR, m.KNN, m.KNNAccuracy, m.Queries)
	if m.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", m.Skipped)
	}
	return s + ")"
}

// Errors returned by this package; test with errors.Is. They are wrapped
// with the example's ID (or position) and the reason.
var (
	// ErrInvalidExamples reports a training or evaluation set the package
	// cannot use: empty, a single label, an empty label, a precomputed
	// vector of the wrong dimension or with NaN/Inf values.
	ErrInvalidExamples = errors.New("finetune: invalid examples")
	// ErrInvalidOption reports an option with an unusable value.
	ErrInvalidOption = errors.New("finetune: invalid option")
	// ErrBaseMismatch reports a model file loaded over a base encoder other
	// than the one it was trained on (another model name or dimension), or
	// vectors of the wrong dimension passed to a model.
	ErrBaseMismatch = errors.New("finetune: base encoder mismatch")
	// ErrCorruptModel reports a model file that is truncated, corrupt, or
	// of an unsupported version.
	ErrCorruptModel = errors.New("finetune: corrupt model file")
	// ErrDiverged reports a training run whose loss became NaN or infinite;
	// a lower learning rate usually helps.
	ErrDiverged = errors.New("finetune: training diverged")
)
