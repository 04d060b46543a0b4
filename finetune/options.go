package finetune

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"

	"github.com/shoalhq/shoal/embedding"
)

// Activation is the nonlinearity between the hidden layers of the adapter.
type Activation int

const (
	// ReLU is max(0, x). It is the default.
	ReLU Activation = iota
	// GELU is the Gaussian error linear unit, in its tanh approximation.
	GELU
)

// String returns "relu" or "gelu".
func (a Activation) String() string {
	switch a {
	case ReLU:
		return "relu"
	case GELU:
		return "gelu"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// MarshalText implements encoding.TextMarshaler.
func (a Activation) MarshalText() ([]byte, error) {
	if a != ReLU && a != GELU {
		return nil, fmt.Errorf("%w: unknown activation %d", ErrInvalidOption, int(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Activation) UnmarshalText(b []byte) error {
	switch string(b) {
	case "relu":
		*a = ReLU
	case "gelu":
		*a = GELU
	default:
		return fmt.Errorf("%w: unknown activation %q", ErrInvalidOption, b)
	}
	return nil
}

// Loss is the metric-learning objective the adapter is trained with.
type Loss int

const (
	// SupCon is the supervised contrastive loss (Khosla et al., 2020): for
	// every anchor in a batch, the softmax over its similarities to the
	// other batch items (divided by the temperature) should put its mass on
	// the items with the same label. A low temperature pulls each class into
	// a tight cluster. It is the default.
	SupCon Loss = iota
	// Triplet is the batch-hard triplet loss (Hermans et al., 2017): for
	// every anchor, its least similar positive should be more similar than
	// its most similar in-batch negative, by the margin (in squared
	// Euclidean distance between unit vectors, 2-2·cos).
	Triplet
	// Proxy is the normalised-softmax (proxy) loss: one learned unit vector
	// per class, and a softmax cross-entropy over the cosine similarities to
	// them divided by the temperature. It converges in few epochs on sets
	// with many examples per class; the proxies are used only in training.
	Proxy
)

// String returns "supcon", "triplet" or "proxy".
func (l Loss) String() string {
	switch l {
	case SupCon:
		return "supcon"
	case Triplet:
		return "triplet"
	case Proxy:
		return "proxy"
	}
	return fmt.Sprintf("Loss(%d)", int(l))
}

// MarshalText implements encoding.TextMarshaler.
func (l Loss) MarshalText() ([]byte, error) {
	if l < SupCon || l > Proxy {
		return nil, fmt.Errorf("%w: unknown loss %d", ErrInvalidOption, int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Loss) UnmarshalText(b []byte) error {
	switch string(b) {
	case "supcon":
		*l = SupCon
	case "triplet":
		*l = Triplet
	case "proxy":
		*l = Proxy
	default:
		return fmt.Errorf("%w: unknown loss %q", ErrInvalidOption, b)
	}
	return nil
}

// Config is the configuration of a [LocalTrainer], as recorded in every
// [Report]. Build it with options; [NewTrainer] fills in the defaults.
type Config struct {
	// InputPCA is the number of principal components of the base
	// embeddings the adapter starts from (0: the base embeddings as they
	// are). See [WithInputPCA].
	InputPCA int `json:"input_pca,omitempty"`
	// Whiten scales the principal components to unit variance.
	Whiten bool `json:"whiten,omitempty"`
	// Hidden holds the widths of the hidden layers (none: a linear map).
	Hidden []int `json:"hidden"`
	// OutputDim is the dimension of the fine-tuned embeddings.
	OutputDim int `json:"output_dim"`
	// Activation follows every hidden layer.
	Activation Activation `json:"activation"`
	// Dropout is the probability of zeroing a hidden unit in training.
	Dropout float64 `json:"dropout,omitempty"`
	// Loss is the training objective.
	Loss Loss `json:"loss"`
	// Temperature divides similarities in the SupCon and Proxy losses.
	Temperature float64 `json:"temperature"`
	// Margin is the Triplet loss margin.
	Margin float64 `json:"margin"`
	// ClassesPerBatch (P) and PerClass (K) shape the class-balanced
	// batches of P·K examples.
	ClassesPerBatch int `json:"classes_per_batch"`
	PerClass        int `json:"per_class"`
	// Epochs is the most epochs run; Patience the epochs without a better
	// validation mAP@R after which training stops.
	Epochs   int `json:"epochs"`
	Patience int `json:"patience"`
	// LearningRate is Adam's peak step size (decayed along a cosine);
	// WeightDecay the decoupled weight decay (AdamW).
	LearningRate float64 `json:"learning_rate"`
	WeightDecay  float64 `json:"weight_decay"`
	// WeightAveraging is the decay of the moving average of the weights
	// that is validated and kept (0: none, the weights themselves).
	WeightAveraging float64 `json:"weight_averaging,omitempty"`
	// ValidationFraction is the share of train held out per label when no
	// validation set is given (0: no validation, no early stopping).
	ValidationFraction float64 `json:"validation_fraction"`
	// EvalK and EvalKNN are the k of the precision@k and of the kNN
	// accuracy in the report's metrics.
	EvalK   int `json:"eval_k"`
	EvalKNN int `json:"eval_knn"`
	// Seed seeds initialisation, batching and the validation split.
	Seed uint64 `json:"seed"`
}

// Defaults of [NewTrainer].
const (
	DefaultOutputDim          = 64
	DefaultTemperature        = 0.1
	DefaultMargin             = 0.2
	DefaultClassesPerBatch    = 16
	DefaultPerClass           = 8
	DefaultEpochs             = 30
	DefaultPatience           = 5
	DefaultLearningRate       = 2e-3
	DefaultWeightDecay        = 1e-4
	DefaultValidationFraction = 0.1
	DefaultEvalK              = 10
	DefaultEvalKNN            = 10
	DefaultSeed               = 1
)

// DefaultHidden is the default hidden layer widths: one layer of 512.
var DefaultHidden = []int{512}

// Limits on the adapter's shape.
const (
	// MaxWidth bounds every layer width and the output dimension.
	MaxWidth = 1 << 14
	// MaxLayers bounds the number of hidden layers.
	MaxLayers = 8
)

// Option configures [NewTrainer]. Each option checks its own value: an
// unusable one makes NewTrainer return an error wrapping [ErrInvalidOption]
// that names the option and the value.
type Option func(*trainerConfig) error

type trainerConfig struct {
	cfg        Config
	progress   func(EpochStats)
	cacheDir   string
	encodeOpts []embedding.Option
	logger     *slog.Logger
}

// invalidOption returns an error wrapping [ErrInvalidOption] that names the
// option call (for example "WithEpochs(0)") and the reason.
func invalidOption(call, format string, args ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{ErrInvalidOption, call}, args...)...)
}

// WithHidden sets the widths of the adapter's hidden layers (default
// [DefaultHidden], one layer of 512). No widths make the adapter a linear
// map (an affine one: every layer has a bias). At most [MaxLayers] layers,
// each from 1 to [MaxWidth] wide.
func WithHidden(widths ...int) Option {
	return func(o *trainerConfig) error {
		call := fmt.Sprintf("WithHidden(%s)", joinInts(widths))
		if len(widths) > MaxLayers {
			return invalidOption(call, "%d layers, want at most %d", len(widths), MaxLayers)
		}
		for _, w := range widths {
			if w < 1 || w > MaxWidth {
				return invalidOption(call, "width %d, want 1 to %d", w, MaxWidth)
			}
		}
		o.cfg.Hidden = slices.Clone(widths)
		if o.cfg.Hidden == nil {
			o.cfg.Hidden = []int{}
		}
		return nil
	}
}

// joinInts formats ns as "1, 2, 3".
func joinInts(ns []int) string {
	s := fmt.Sprint(ns)
	return strings.ReplaceAll(s[1:len(s)-1], " ", ", ")
}

// WithOutputDim sets the dimension of the fine-tuned embeddings (default
// [DefaultOutputDim], 64; from 1 to [MaxWidth]).
func WithOutputDim(n int) Option {
	return func(o *trainerConfig) error {
		if n < 1 || n > MaxWidth {
			return invalidOption(fmt.Sprintf("WithOutputDim(%d)", n), "want 1 to %d", MaxWidth)
		}
		o.cfg.OutputDim = n
		return nil
	}
}

// WithActivation sets the nonlinearity after each hidden layer (default
// [ReLU]; [ReLU] or [GELU]).
func WithActivation(a Activation) Option {
	return func(o *trainerConfig) error {
		if a != ReLU && a != GELU {
			return invalidOption(fmt.Sprintf("WithActivation(%v)", a), "want ReLU or GELU")
		}
		o.cfg.Activation = a
		return nil
	}
}

// WithDropout zeroes each hidden unit with probability p in training
// (inverted dropout; default 0, none), which regularises a wide MLP trained
// on few examples per label. It has no effect on a linear adapter. p must
// be in [0, 0.9].
func WithDropout(p float64) Option {
	return func(o *trainerConfig) error {
		if !(p >= 0 && p <= 0.9) {
			return invalidOption(fmt.Sprintf("WithDropout(%v)", p), "want 0 to 0.9")
		}
		o.cfg.Dropout = p
		return nil
	}
}

// WithLoss sets the training objective (default [SupCon]; [SupCon],
// [Triplet] or [Proxy]).
func WithLoss(l Loss) Option {
	return func(o *trainerConfig) error {
		if l < SupCon || l > Proxy {
			return invalidOption(fmt.Sprintf("WithLoss(%v)", l), "want SupCon, Triplet or Proxy")
		}
		o.cfg.Loss = l
		return nil
	}
}

// WithTemperature sets the temperature of the SupCon and Proxy losses
// (default [DefaultTemperature], 0.1; lower makes tighter classes and a
// harder optimisation). It must be in (0, 10].
func WithTemperature(t float64) Option {
	return func(o *trainerConfig) error {
		if !(t > 0 && t <= 10) {
			return invalidOption(fmt.Sprintf("WithTemperature(%v)", t), "want more than 0, at most 10")
		}
		o.cfg.Temperature = t
		return nil
	}
}

// WithMargin sets the margin of the Triplet loss (default [DefaultMargin],
// 0.2), in squared Euclidean distance between unit vectors. It must be in
// (0, 4].
func WithMargin(m float64) Option {
	return func(o *trainerConfig) error {
		if !(m > 0 && m <= 4) {
			return invalidOption(fmt.Sprintf("WithMargin(%v)", m), "want more than 0, at most 4")
		}
		o.cfg.Margin = m
		return nil
	}
}

// WithBatch shapes the class-balanced batches: each holds up to
// classesPerBatch labels (P, default [DefaultClassesPerBatch], 16) with up
// to perClass examples of each (K, default [DefaultPerClass], 8). An epoch
// has as many batches as it takes to draw about as many examples as the
// training set holds. P and K must be at least 2 (so that every anchor has
// a positive), and P·K at most 65,536.
func WithBatch(classesPerBatch, perClass int) Option {
	return func(o *trainerConfig) error {
		if classesPerBatch < 2 || perClass < 2 || classesPerBatch*perClass > 1<<16 {
			return invalidOption(fmt.Sprintf("WithBatch(%d, %d)", classesPerBatch, perClass), "want P ≥ 2, K ≥ 2, P·K ≤ 65536")
		}
		o.cfg.ClassesPerBatch, o.cfg.PerClass = classesPerBatch, perClass
		return nil
	}
}

// WithEpochs sets the most epochs to run (default [DefaultEpochs], 30; from
// 1 to 100,000). The learning rate decays along a cosine over them.
func WithEpochs(n int) Option {
	return func(o *trainerConfig) error {
		if n < 1 || n > 100_000 {
			return invalidOption(fmt.Sprintf("WithEpochs(%d)", n), "want 1 to 100000")
		}
		o.cfg.Epochs = n
		return nil
	}
}

// WithPatience stops training after n epochs without a better validation
// mAP@R (default [DefaultPatience], 5); the model keeps the weights of the
// best epoch. 0 disables early stopping (the best epoch is still kept); n
// must not be negative.
func WithPatience(n int) Option {
	return func(o *trainerConfig) error {
		if n < 0 {
			return invalidOption(fmt.Sprintf("WithPatience(%d)", n), "want 0 or more")
		}
		o.cfg.Patience = n
		return nil
	}
}

// WithLearningRate sets Adam's peak learning rate (default
// [DefaultLearningRate], 2e-3; in (0, 1]).
func WithLearningRate(lr float64) Option {
	return func(o *trainerConfig) error {
		if !(lr > 0 && lr <= 1) {
			return invalidOption(fmt.Sprintf("WithLearningRate(%v)", lr), "want more than 0, at most 1")
		}
		o.cfg.LearningRate = lr
		return nil
	}
}

// WithWeightDecay sets the decoupled weight decay of AdamW on the layer
// weights (default [DefaultWeightDecay], 1e-4; in [0, 1]; biases are not
// decayed).
func WithWeightDecay(wd float64) Option {
	return func(o *trainerConfig) error {
		if !(wd >= 0 && wd <= 1) {
			return invalidOption(fmt.Sprintf("WithWeightDecay(%v)", wd), "want 0 to 1")
		}
		o.cfg.WeightDecay = wd
		return nil
	}
}

// WithWeightAveraging validates and keeps an exponential moving average of
// the weights (Polyak averaging) with the given decay per step, instead of
// the weights themselves (default 0: off; in [0, 1)). An average over the
// last hundreds of steps (0.99 to 0.999) generalises a little better than
// the last weights, at the cost of one more pass over the weights per step.
func WithWeightAveraging(decay float64) Option {
	return func(o *trainerConfig) error {
		if !(decay >= 0 && decay < 1) {
			return invalidOption(fmt.Sprintf("WithWeightAveraging(%v)", decay), "want at least 0, less than 1")
		}
		o.cfg.WeightAveraging = decay
		return nil
	}
}

// WithValidationFraction sets the share of each label's training examples
// held out for validation when Train gets no validation set (default
// [DefaultValidationFraction], 0.1; in [0, 1)). 0 trains on everything, for
// the full number of epochs, with no early stopping and no before/after
// metrics.
func WithValidationFraction(f float64) Option {
	return func(o *trainerConfig) error {
		if !(f >= 0 && f < 1) {
			return invalidOption(fmt.Sprintf("WithValidationFraction(%v)", f), "want at least 0, less than 1")
		}
		o.cfg.ValidationFraction = f
		return nil
	}
}

// WithInputPCA starts the adapter from the first n principal components of
// the training set's base embeddings (default 0: the base embeddings as
// they are). With whiten, each component is scaled to unit variance;
// otherwise all are scaled by one factor, which keeps their proportions.
// The projection is computed once, before training, from at most 10,000
// training examples, and is saved with the model.
//
// On high-dimensional base embeddings (a 784-pixel image, a large model's
// 1,024 dimensions) it makes each epoch several times faster at little or
// no cost in quality. n must not exceed the base dimension (nor
// [MaxWidth]).
func WithInputPCA(n int, whiten bool) Option {
	return func(o *trainerConfig) error {
		if n < 0 || n > MaxWidth {
			return invalidOption(fmt.Sprintf("WithInputPCA(%d, %t)", n, whiten), "want 0 to %d components", MaxWidth)
		}
		o.cfg.InputPCA, o.cfg.Whiten = n, whiten && n > 0
		return nil
	}
}

// WithEvalK sets the k of the precision@k (default [DefaultEvalK], 10) and
// of the kNN accuracy (default [DefaultEvalKNN], 10) reported per epoch and
// before/after training; both at least 1.
func WithEvalK(k, knn int) Option {
	return func(o *trainerConfig) error {
		if k < 1 || knn < 1 {
			return invalidOption(fmt.Sprintf("WithEvalK(%d, %d)", k, knn), "want both at least 1")
		}
		o.cfg.EvalK, o.cfg.EvalKNN = k, knn
		return nil
	}
}

// WithSeed seeds the weights' initialisation, the batches and the
// validation split (default [DefaultSeed], 1; every seed is valid). The
// same seed, examples and options give a bit-identical model on the same
// machine, whatever the number of cores.
func WithSeed(seed uint64) Option {
	return func(o *trainerConfig) error { o.cfg.Seed = seed; return nil }
}

// WithProgress has fn called after every epoch, from the goroutine running
// Train (default: none). A nil fn is an error.
func WithProgress(fn func(EpochStats)) Option {
	return func(o *trainerConfig) error {
		if fn == nil {
			return invalidOption("WithProgress(nil)", "want a function")
		}
		o.progress = fn
		return nil
	}
}

// WithCacheDir keeps the base embeddings of each training set in a file
// under dir, named after the base encoder's Info().Model and the examples'
// IDs and contents, so a later Train on the same examples (in this process
// or another) skips encoding. A corrupt cache file is ignored and replaced.
// By default base embeddings are cached in memory only, for the trainer's
// next Train call. An empty dir is an error.
func WithCacheDir(dir string) Option {
	return func(o *trainerConfig) error {
		if dir == "" {
			return invalidOption(`WithCacheDir("")`, "want a directory")
		}
		o.cacheDir = dir
		return nil
	}
}

// WithEncodeOptions passes options (batch size, concurrency, retries,
// progress) to the [embedding.EncodeAll] run that computes the base
// embeddings (default: none, EncodeAll's defaults). They are passed on
// unchanged and checked by EncodeAll, so an unusable one ends Train with
// EncodeAll's error.
func WithEncodeOptions(opts ...embedding.Option) Option {
	return func(o *trainerConfig) error { o.encodeOpts = append(o.encodeOpts, opts...); return nil }
}

// WithLogger logs the training's milestones (encoding, each epoch, early
// stop) at Info level (default: none). A nil logger is an error.
func WithLogger(l *slog.Logger) Option {
	return func(o *trainerConfig) error {
		if l == nil {
			return invalidOption("WithLogger(nil)", "want a logger")
		}
		o.logger = l
		return nil
	}
}

func defaultConfig() trainerConfig {
	return trainerConfig{cfg: Config{
		Hidden:             slices.Clone(DefaultHidden),
		OutputDim:          DefaultOutputDim,
		Activation:         ReLU,
		Loss:               SupCon,
		Temperature:        DefaultTemperature,
		Margin:             DefaultMargin,
		ClassesPerBatch:    DefaultClassesPerBatch,
		PerClass:           DefaultPerClass,
		Epochs:             DefaultEpochs,
		Patience:           DefaultPatience,
		LearningRate:       DefaultLearningRate,
		WeightDecay:        DefaultWeightDecay,
		ValidationFraction: DefaultValidationFraction,
		EvalK:              DefaultEvalK,
		EvalKNN:            DefaultEvalKNN,
		Seed:               DefaultSeed,
	}}
}

// finite reports whether every value is a finite number.
func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
