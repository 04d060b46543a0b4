// Command finetunebench measures package finetune on two labeled sets, each
// split into a training part and a test part, and prints the leave-one-out
// retrieval quality of the test part (precision@10, mAP@R, kNN accuracy)
// before and after fine-tuning, the training time and the peak memory.
//
// Fashion-MNIST (the default): an adapter over the pixel encoder of
// embedding/local, trained on the 60,000 images of the train split (10% of
// them held out for early stopping), evaluated on the 10,000 of the test
// split. It needs Debian's dataset-fashion-mnist:
//
//	sudo apt-get install dataset-fashion-mnist
//	go run ./examples/finetunebench
//
// Text (-text): an adapter over the text encoder of embedding/local,
// trained on short descriptions of Debian packages labeled with their
// archive section (testdata/debian-packages.tsv, see testdata/README.md):
// 70% for training, 30% for the test.
//
//	go run ./examples/finetunebench -text
//
// The training time is the wall-clock time of the Train call, base
// embeddings included (they are reported apart); the peak memory is the
// process's maximum resident set size, dataset included. Flags override the
// preset of each set; run with -h for them.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/finetune"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// fashionPreset is the adapter for Fashion-MNIST: the first 128 principal
// components of the pixels (a sixth of the input, most of the variance),
// two hidden layers of 512, 32 output dimensions, the proxy loss at a
// temperature that keeps pulling each class together, at most 15 epochs of
// 170 batches of 320, and a moving average of the weights over the last
// few hundred steps.
var fashionPreset = []finetune.Option{
	finetune.WithInputPCA(128, false),
	finetune.WithHidden(512, 512),
	finetune.WithOutputDim(32),
	finetune.WithLoss(finetune.Proxy),
	finetune.WithTemperature(0.2),
	finetune.WithBatch(10, 32),
	finetune.WithEpochs(15),
	finetune.WithPatience(3),
	finetune.WithWeightAveraging(0.995),
}

// textPreset is the adapter for the package descriptions: the proxy loss
// and dropout (the set is small: about 60 training examples per label), and
// more epochs.
var textPreset = []finetune.Option{
	finetune.WithLoss(finetune.Proxy),
	finetune.WithTemperature(0.25),
	finetune.WithDropout(0.3),
	finetune.WithEpochs(60),
	finetune.WithPatience(10),
}

type config struct {
	data, textData   string
	text             bool
	overrides        []finetune.Option
	cacheDir         string
	cpuprofile, save string
}

func main() {
	cfg, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "finetunebench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "finetunebench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "finetunebench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.text {
		_, err = runText(ctx, cfg, os.Stdout)
	} else {
		_, err = runFashion(ctx, cfg, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "finetunebench:", err)
		stop()
		os.Exit(1)
	}
}

// parseFlags reads the command line; only the training flags that are set
// override the preset.
func parseFlags(fs *flag.FlagSet, args []string) (config, error) {
	var cfg config
	fs.StringVar(&cfg.data, "data", dataset.DebianFashionDir, "directory of the Fashion-MNIST IDX files")
	fs.BoolVar(&cfg.text, "text", false, "run the text benchmark (Debian package descriptions)")
	fs.StringVar(&cfg.textData, "textdata", "", "the labeled text set of -text (default: testdata/debian-packages.tsv next to this program's source)")
	fs.StringVar(&cfg.cacheDir, "cache", "", "cache base embeddings in this directory (finetune.WithCacheDir)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile to this file")
	fs.StringVar(&cfg.save, "save", "", "save the trained model to this file")
	epochs := fs.Int("epochs", 0, "most epochs")
	patience := fs.Int("patience", 0, "early-stopping patience, in epochs")
	hidden := fs.String("hidden", "", "hidden layer widths, comma-separated; \"none\" for a linear map")
	out := fs.Int("out", 0, "output dimension")
	loss := fs.String("loss", "", "loss: supcon, triplet or proxy")
	tau := fs.Float64("tau", 0, "temperature (supcon, proxy)")
	margin := fs.Float64("margin", 0, "margin (triplet)")
	pca := fs.Int("pca", 0, "input PCA components (0: none)")
	whiten := fs.Bool("whiten", false, "whiten the input PCA components")
	lr := fs.Float64("lr", 0, "peak learning rate")
	wd := fs.Float64("wd", 0, "weight decay")
	batch := fs.String("batch", "", "batch shape P,K: P labels × K examples")
	dropout := fs.Float64("dropout", 0, "dropout of the hidden units")
	act := fs.String("act", "", "activation: relu or gelu")
	val := fs.Float64("val", 0, "validation fraction of the training part")
	seed := fs.Uint64("seed", 0, "seed")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	set := func(o finetune.Option) { cfg.overrides = append(cfg.overrides, o) }
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "epochs":
			set(finetune.WithEpochs(*epochs))
		case "patience":
			set(finetune.WithPatience(*patience))
		case "hidden":
			var widths []int
			if *hidden != "none" {
				for _, w := range strings.Split(*hidden, ",") {
					n, e := strconv.Atoi(strings.TrimSpace(w))
					if e != nil {
						err = fmt.Errorf("-hidden: %w", e)
					}
					widths = append(widths, n)
				}
			}
			set(finetune.WithHidden(widths...))
		case "out":
			set(finetune.WithOutputDim(*out))
		case "loss":
			var l finetune.Loss
			if e := l.UnmarshalText([]byte(*loss)); e != nil {
				err = e
			}
			set(finetune.WithLoss(l))
		case "tau":
			set(finetune.WithTemperature(*tau))
		case "margin":
			set(finetune.WithMargin(*margin))
		case "pca", "whiten":
			set(finetune.WithInputPCA(*pca, *whiten))
		case "lr":
			set(finetune.WithLearningRate(*lr))
		case "wd":
			set(finetune.WithWeightDecay(*wd))
		case "batch":
			p, k, ok := strings.Cut(*batch, ",")
			pn, e1 := strconv.Atoi(p)
			kn, e2 := strconv.Atoi(k)
			if !ok || e1 != nil || e2 != nil {
				err = fmt.Errorf("-batch %q: want P,K", *batch)
			}
			set(finetune.WithBatch(pn, kn))
		case "dropout":
			set(finetune.WithDropout(*dropout))
		case "act":
			var a finetune.Activation
			if e := a.UnmarshalText([]byte(*act)); e != nil {
				err = e
			}
			set(finetune.WithActivation(a))
		case "val":
			set(finetune.WithValidationFraction(*val))
		case "seed":
			set(finetune.WithSeed(*seed))
		}
	})
	return cfg, err
}

// result is what a benchmark measured.
type result struct {
	before, after finetune.Metrics // on the test part
	train         time.Duration    // wall clock of Train
	report        finetune.Report
}

func runFashion(ctx context.Context, cfg config, out io.Writer) (result, error) {
	if _, err := os.Stat(cfg.data); err != nil {
		return result{}, fmt.Errorf("%w (install Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist)", err)
	}
	t0 := time.Now()
	trainInputs, err := dataset.LoadFashionInputs(cfg.data, "train")
	if err != nil {
		return result{}, err
	}
	testInputs, err := dataset.LoadFashionInputs(cfg.data, "test")
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(out, "Fashion-MNIST: %d train and %d test images, read as raw pixels in %v\n",
		len(trainInputs), len(testInputs), time.Since(t0).Round(time.Millisecond))
	base, err := local.NewImageEncoder()
	if err != nil {
		return result{}, err
	}
	train, err := finetune.Labeled(trainInputs, "label")
	if err != nil {
		return result{}, err
	}
	test, err := finetune.Labeled(testInputs, "label")
	if err != nil {
		return result{}, err
	}
	return benchmark(ctx, cfg, out, base, fashionPreset, train, test)
}

func runText(ctx context.Context, cfg config, out io.Writer) (result, error) {
	path := cfg.textData
	if path == "" {
		path = defaultTextData()
	}
	all, err := readTSV(path)
	if err != nil {
		return result{}, err
	}
	// A fixed 70/30 split by a hash of the package name (salted: the set
	// itself was sampled by the unsalted hash).
	var train, test []finetune.Example
	for _, ex := range all {
		if h := sha256.Sum256([]byte("split:" + ex.Input.ID)); h[0] < 77 { // 77/256 ≈ 30%
			test = append(test, ex)
		} else {
			train = append(train, ex)
		}
	}
	fmt.Fprintf(out, "Debian package descriptions (%s): %d train, %d test\n", path, len(train), len(test))
	base, err := local.NewTextEncoder()
	if err != nil {
		return result{}, err
	}
	return benchmark(ctx, cfg, out, base, textPreset, train, test)
}

// defaultTextData finds testdata/debian-packages.tsv from the repository
// root or from this program's directory.
func defaultTextData() string {
	const rel = "testdata/debian-packages.tsv"
	for _, p := range []string{rel, "examples/finetunebench/" + rel} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "examples/finetunebench/" + rel
}

// readTSV reads "package<TAB>section<TAB>description" lines after a header.
func readTSV(path string) ([]finetune.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []finetune.Example
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue
		}
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 3", path, line, len(fields))
		}
		out = append(out, finetune.Example{Input: embedding.Input{ID: fields[0], Text: fields[2]}, Label: fields[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no examples")
	}
	return out, nil
}

// benchmark trains over base with the preset and the command line's
// overrides, then evaluates the test examples before and after.
func benchmark(ctx context.Context, cfg config, out io.Writer, base embedding.Encoder, preset []finetune.Option, train, test []finetune.Example) (result, error) {
	opts := append(append([]finetune.Option(nil), preset...), cfg.overrides...)
	opts = append(opts, finetune.WithProgress(func(e finetune.EpochStats) {
		mark := ""
		if e.Best {
			mark = "  (best)"
		}
		fmt.Fprintf(out, "  epoch %2d  loss %.4f  validation %v  %v%s\n", e.Epoch, e.Loss, e.Validation, e.Duration.Round(time.Millisecond), mark)
	}))
	if cfg.cacheDir != "" {
		opts = append(opts, finetune.WithCacheDir(cfg.cacheDir))
	}
	trainer, err := finetune.NewTrainer(base, opts...)
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(out, "base encoder: %s\nmachine: %s/%s, GOMAXPROCS %d, AVX2 kernel %v\n",
		base.Info().Model, runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), vecmath.FastSgemm)
	fmt.Fprintf(out, "config: %+v\n", trainer.Config())
	start := time.Now()
	model, err := trainer.TrainLocal(ctx, train, nil)
	if err != nil {
		return result{}, err
	}
	res := result{train: time.Since(start), report: model.Report()}
	rep := res.report
	fmt.Fprintf(out, "trained in %v (wall clock of Train; base embeddings %v, then %d epochs, best %d)\n",
		res.train.Round(time.Millisecond), rep.EncodeDuration.Round(time.Millisecond), len(rep.Epochs), rep.BestEpoch)
	fmt.Fprintf(out, "validation (%d held out): before %v\n                         after  %v\n", rep.ValExamples, rep.Before, rep.After)

	// The test part, leave-one-out: base vectors, then the same projected.
	labels := make([]string, len(test))
	inputs := make([]embedding.Input, len(test))
	for i, ex := range test {
		labels[i], inputs[i] = ex.Label, ex.Input
	}
	raw := make([][]float32, 0, len(test))
	for e, err := range embedding.EncodeAll(ctx, base, embedding.Inputs(inputs)) {
		if err != nil {
			return result{}, err
		}
		raw = append(raw, e.Vector)
	}
	t0 := time.Now()
	if res.before, err = finetune.EvaluateVectors(ctx, raw, labels); err != nil {
		return result{}, err
	}
	evalBefore := time.Since(t0)
	tuned, err := model.Project(raw)
	if err != nil {
		return result{}, err
	}
	t0 = time.Now()
	if res.after, err = finetune.EvaluateVectors(ctx, tuned, labels); err != nil {
		return result{}, err
	}
	evalAfter := time.Since(t0)
	fmt.Fprintf(out, "test (%d items, leave-one-out, cosine):\n", len(test))
	fmt.Fprintf(out, "  base, %4d dims:       %v   [evaluated in %v]\n", base.Info().Dim, res.before, evalBefore.Round(time.Millisecond))
	fmt.Fprintf(out, "  fine-tuned, %4d dims: %v   [evaluated in %v]\n", model.Info().Dim, res.after, evalAfter.Round(time.Millisecond))
	fmt.Fprintf(out, "model: %s\n", model.Info().Model)
	if rss, user, sys, ok := resources(); ok {
		fmt.Fprintf(out, "peak memory (max RSS of the process): %d MiB; CPU time so far: user %v, system %v\n",
			rss>>20, user.Round(time.Millisecond), sys.Round(time.Millisecond))
	}
	if cfg.save != "" {
		if err := model.SaveFile(cfg.save); err != nil {
			return result{}, err
		}
		fmt.Fprintf(out, "saved to %s\n", cfg.save)
	}
	return res, nil
}
