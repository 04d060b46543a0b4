package vertex

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"

	"github.com/shoalhq/shoal/backends/vertex/internal/rules"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/finetune"
	"github.com/shoalhq/shoal/index"
)

// Machine describes the hardware of a training worker pool or of a
// deployed model, without Vertex's protobuf types. TPUs follow Vertex's
// "Configure compute resources for custom training"
// (https://cloud.google.com/vertex-ai/docs/training/configure-compute#tpu):
// TPU v2/v3 as machine type cloud-tpu with an accelerator type and count;
// TPU v5e, v6e and 7x as a machine type (ct5lp-hightpu-4t, ...) with a
// topology and no accelerator fields.
type Machine struct {
	// MachineType is Vertex's machine type: "cloud-tpu" (TPU v2/v3),
	// "ct5lp-hightpu-1t|4t|8t" (TPU v5e), "ct6e-standard-1t|4t|8t" (TPU
	// v6e), "tpu7x-standard-4t", or a VM such as "g2-standard-8".
	MachineType string
	// Accelerator is an aiplatform AcceleratorType name for cloud-tpu
	// ("TPU_V2", "TPU_V3") and GPU machines ("NVIDIA_L4", ...); "" for
	// none and for the TPU VM machine types, whose type names the TPU.
	Accelerator string
	// AcceleratorCount is the number of accelerators: for cloud-tpu 8, or
	// a TPU Pod's 32, 64, ...; 0 with no accelerator.
	AcceleratorCount int
	// TPUTopology is the TPU slice shape, required for the TPU VM machine
	// types ("2x2" for ct5lp-hightpu-4t) and absent otherwise.
	TPUTopology string
	// Replicas is the worker count of a training pool (1, the only count a
	// TPU pool takes), or the minimum replica count of a deployment
	// (default 1).
	Replicas int
}

// TPUv3 returns a TPU v3 of 8 cores on a cloud-tpu machine.
func TPUv3() Machine {
	return Machine{MachineType: "cloud-tpu", Accelerator: "TPU_V3", AcceleratorCount: 8}
}

// TPUv5e returns a single-host TPU v5e (ct5lp-hightpu) machine with chips
// chips: 1 (topology 1x1), 4 (2x2) or 8 (2x4). Other counts give a machine
// that Validate rejects.
func TPUv5e(chips int) Machine {
	topo := map[int]string{1: "1x1", 4: "2x2", 8: "2x4"}[chips]
	return Machine{MachineType: fmt.Sprintf("ct5lp-hightpu-%dt", chips), TPUTopology: topo}
}

// GPUL4 returns a g2-standard machine with count NVIDIA L4 GPUs (1, 2, 4
// or 8), for serving.
func GPUL4(count int) Machine {
	vcpus := map[int]int{1: 8, 2: 24, 4: 48, 8: 96}[count]
	return Machine{MachineType: fmt.Sprintf("g2-standard-%d", vcpus), Accelerator: "NVIDIA_L4", AcceleratorCount: count}
}

// Validate checks the machine against Vertex's TPU rules (see [Machine]):
// cloud-tpu takes TPU_V2 or TPU_V3 with 8 accelerators (or a TPU Pod's
// count) and no topology; a TPU VM machine type takes one of its
// documented topologies (which a single-host deployment may leave out) and
// no accelerator type or count; TPU_V4_POD is not a documented TPU.
// [WithTrainingMachine] adds the training rules: the topology is required
// and a TPU pool has one replica. The error wraps [ErrInvalidOption].
func (m Machine) Validate() error {
	if why := m.check(); why != "" {
		return invalidf("machine %s: %s", m.MachineType, why)
	}
	return nil
}

// check returns why the machine is unusable, or "".
func (m Machine) check() string {
	if m.Accelerator != "" {
		if _, ok := aiplatformpb.AcceleratorType_value[m.Accelerator]; !ok {
			return fmt.Sprintf("unknown accelerator %q", m.Accelerator)
		}
	}
	if m.Replicas < 0 || m.AcceleratorCount < 0 {
		return "negative replica or accelerator count"
	}
	return rules.CheckServingMachine(m.MachineType, m.Accelerator, m.AcceleratorCount, m.TPUTopology)
}

// checkTraining applies the rules of a training pool: a TPU VM machine
// type needs its topology, and a TPU pool has one replica.
func (m Machine) checkTraining() string {
	if why := m.check(); why != "" {
		return why
	}
	if why := rules.CheckMachine(m.MachineType, m.Accelerator, m.AcceleratorCount, m.TPUTopology); why != "" {
		return why
	}
	return rules.CheckTrainingPool(1, rules.IsTPU(m.MachineType, m.Accelerator), m.replicas())
}

func (m Machine) spec() *aiplatformpb.MachineSpec {
	return &aiplatformpb.MachineSpec{
		MachineType:      m.MachineType,
		AcceleratorType:  aiplatformpb.AcceleratorType(aiplatformpb.AcceleratorType_value[m.Accelerator]),
		AcceleratorCount: int32(m.AcceleratorCount),
		TpuTopology:      m.TPUTopology,
	}
}

func (m Machine) replicas() int {
	return max(m.Replicas, 1)
}

// Trainer options.
type trainerConfig struct {
	trainImage string
	serveImage string
	staging    string
	machine    Machine
	deploy     *Machine
	loss       finetune.Loss
	epochs     int
	args       []string
}

// WithTrainingImage sets the training container image (required for
// [NewTrainer]); see "Training container contract" in the package
// documentation.
//
// Applies to [NewTrainer].
func WithTrainingImage(uri string) Option {
	return newOption("WithTrainingImage", forTrainer, func(c *config) error {
		if uri == "" {
			return fmt.Errorf("empty training image")
		}
		c.trainer.trainImage = uri
		return nil
	})
}

// WithServingImage sets the serving container image that the Model Registry
// entry runs (required for [NewTrainer]).
//
// Applies to [NewTrainer].
func WithServingImage(uri string) Option {
	return newOption("WithServingImage", forTrainer, func(c *config) error {
		if uri == "" {
			return fmt.Errorf("empty serving image")
		}
		c.trainer.serveImage = uri
		return nil
	})
}

// WithStaging sets the Cloud Storage folder (gs://bucket/path) where the
// trainer writes manifests and the job writes the model (required for
// [NewTrainer]).
//
// Applies to [NewTrainer].
func WithStaging(uri string) Option {
	return newOption("WithStaging", forTrainer, func(c *config) error {
		if _, _, ok := splitGS(uri); !ok {
			return fmt.Errorf("staging %q is not gs://bucket/path", uri)
		}
		c.trainer.staging = strings.TrimSuffix(uri, "/")
		return nil
	})
}

// WithTrainingMachine sets the training worker pool's machine (default
// TPUv5e(4): ct5lp-hightpu-4t, 2x2).
//
// Applies to [NewTrainer].
func WithTrainingMachine(m Machine) Option {
	return newOption("WithTrainingMachine", forTrainer, func(c *config) error {
		if why := m.checkTraining(); why != "" {
			return fmt.Errorf("machine %s: %s", m.MachineType, why)
		}
		c.trainer.machine = m
		return nil
	})
}

// WithDeploy has Train deploy the trained model to a new endpoint on m (a
// TPU such as TPUv5e(1), or a GPU machine such as GPUL4(1)). Default: no
// deployment; the model's Deploy method does it later.
//
// Applies to [NewTrainer].
func WithDeploy(m Machine) Option {
	return newOption("WithDeploy", forTrainer, func(c *config) error {
		if why := m.check(); why != "" {
			return fmt.Errorf("machine %s: %s", m.MachineType, why)
		}
		c.trainer.deploy = &m
		return nil
	})
}

// WithTrainingLoss sets the --loss argument (default finetune.SupCon).
//
// Applies to [NewTrainer].
func WithTrainingLoss(l finetune.Loss) Option {
	return newOption("WithTrainingLoss", forTrainer, func(c *config) error {
		if s := l.String(); strings.HasPrefix(s, "Loss(") {
			return fmt.Errorf("unknown loss %d", int(l))
		}
		c.trainer.loss = l
		return nil
	})
}

// WithEpochs sets the --epochs argument (default 10).
//
// Applies to [NewTrainer].
func WithEpochs(n int) Option {
	return newOption("WithEpochs", forTrainer, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("epochs %d < 1", n)
		}
		c.trainer.epochs = n
		return nil
	})
}

// WithTrainingArgs appends arguments to the training container's command
// line, after the contract's own (default none).
//
// Applies to [NewTrainer].
func WithTrainingArgs(args ...string) Option {
	return newOption("WithTrainingArgs", forTrainer, func(c *config) error {
		c.trainer.args = append(c.trainer.args, args...)
		return nil
	})
}

// Trainer fine-tunes an embedding model on Vertex AI: it implements
// finetune.Trainer over a CustomJob on TPU (see "Training container
// contract" in the package documentation), registers the result in the
// Model Registry and, on request, deploys it to an endpoint. It is safe
// for concurrent use.
type Trainer struct {
	cfg       config
	project   string
	location  string
	jobs      *aiplatform.JobClient
	models    *aiplatform.ModelClient
	endpoints *aiplatform.EndpointClient
	gcs       *storage.Client
	ownGCS    bool
	pollMin   time.Duration
	pollMax   time.Duration
	name      string
}

// NewTrainer returns a trainer in project and location (a region with TPU
// training, for example us-central1 or europe-west4). It needs
// [WithTrainingImage], [WithServingImage] and [WithStaging]; the dimension
// of the trained model comes from [WithDimension] (default 256), passed to
// the container as --dimension.
func NewTrainer(ctx context.Context, project, location string, opts ...Option) (*Trainer, error) {
	if project == "" || location == "" || strings.Contains(project+location, "/") {
		return nil, fmt.Errorf("%w: project %q and location %q", ErrInvalidOption, project, location)
	}
	var c config
	c.trainer = trainerConfig{machine: TPUv5e(4), loss: finetune.SupCon, epochs: 10}
	if err := applyOptions(&c, ctorTrainer, opts); err != nil {
		return nil, err
	}
	if c.dim == 0 {
		c.dim = 256
	}
	tc := c.trainer
	if tc.trainImage == "" || tc.serveImage == "" || tc.staging == "" {
		return nil, fmt.Errorf("%w: NewTrainer needs WithTrainingImage, WithServingImage and WithStaging", ErrInvalidOption)
	}
	t := &Trainer{cfg: c, project: project, location: location, pollMin: DefaultPollInitial, pollMax: DefaultPollMax, name: "shoal-finetune"}
	if c.pollMin > 0 {
		t.pollMin, t.pollMax = c.pollMin, c.pollMax
	}
	if c.displayName != "" {
		t.name = c.displayName
	}
	co := clientOptions(location, c.clientOpts)
	var err error
	if t.jobs, err = aiplatform.NewJobClient(ctx, co...); err == nil {
		if t.models, err = aiplatform.NewModelClient(ctx, co...); err == nil {
			t.endpoints, err = aiplatform.NewEndpointClient(ctx, co...)
		}
	}
	if err == nil {
		t.gcs = c.gcs
		if t.gcs == nil {
			t.gcs, err = storage.NewClient(ctx)
			t.ownGCS = err == nil
		}
	}
	if err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("vertex: new trainer clients: %w", err)
	}
	return t, nil
}

// Close releases the clients.
func (t *Trainer) Close() error {
	var errs []error
	for _, c := range []io.Closer{t.jobs, t.models, t.endpoints} {
		if c != nil && !isNilCloser(c) {
			errs = append(errs, c.Close())
		}
	}
	if t.ownGCS {
		errs = append(errs, t.gcs.Close())
	}
	return errors.Join(errs...)
}

func isNilCloser(c io.Closer) bool {
	switch v := c.(type) {
	case *aiplatform.JobClient:
		return v == nil
	case *aiplatform.ModelClient:
		return v == nil
	case *aiplatform.EndpointClient:
		return v == nil
	}
	return false
}

// manifestLine is one labeled example of the JSONL manifests.
type manifestLine struct {
	ID     string         `json:"id"`
	Label  string         `json:"label"`
	Text   string         `json:"text,omitempty"`
	Image  map[string]any `json:"image,omitempty"`
	Vector []float32      `json:"vector,omitempty"`
}

// Train uploads the examples as JSONL manifests, runs the training
// container in a CustomJob on the configured TPU, waits for it (cancelling
// the job if ctx ends), uploads the model to the Model Registry and, with
// [WithDeploy], deploys it. An empty val lets the container hold out part
// of train. Examples without a label or input, or with a repeated ID, are
// rejected with finetune.ErrInvalidExamples naming them.
func (t *Trainer) Train(ctx context.Context, train, val []finetune.Example) (finetune.Model, error) {
	return t.TrainModel(ctx, train, val)
}

// TrainModel is Train returning the concrete *TrainedModel.
func (t *Trainer) TrainModel(ctx context.Context, train, val []finetune.Example) (*TrainedModel, error) {
	start := time.Now()
	classes, err := checkExamples(train, val)
	if err != nil {
		return nil, err
	}
	tc := t.cfg.trainer
	run := fmt.Sprintf("%s-%s", t.name, start.UTC().Format("20060102-150405.000000"))
	run = strings.ReplaceAll(run, ".", "-")
	base := tc.staging + "/" + run
	dataURI, valURI, outURI := base+"/data/train.jsonl", "", base+"/output"
	if err := t.writeManifest(ctx, dataURI, train); err != nil {
		return nil, err
	}
	if len(val) > 0 {
		valURI = base + "/data/val.jsonl"
		if err := t.writeManifest(ctx, valURI, val); err != nil {
			return nil, err
		}
	}
	args := []string{
		"--data-uri=" + dataURI,
		"--output-uri=" + outURI,
		"--loss=" + tc.loss.String(),
		"--epochs=" + strconv.Itoa(tc.epochs),
		"--dimension=" + strconv.Itoa(t.cfg.dim),
	}
	if valURI != "" {
		args = append(args, "--validation-uri="+valURI)
	}
	args = append(args, tc.args...)
	parent := fmt.Sprintf("projects/%s/locations/%s", t.project, t.location)
	job, err := t.jobs.CreateCustomJob(ctx, &aiplatformpb.CreateCustomJobRequest{
		Parent: parent,
		CustomJob: &aiplatformpb.CustomJob{
			DisplayName: run,
			JobSpec: &aiplatformpb.CustomJobSpec{
				WorkerPoolSpecs: []*aiplatformpb.WorkerPoolSpec{{
					MachineSpec:  tc.machine.spec(),
					ReplicaCount: int64(tc.machine.replicas()),
					Task: &aiplatformpb.WorkerPoolSpec_ContainerSpec{ContainerSpec: &aiplatformpb.ContainerSpec{
						ImageUri: tc.trainImage,
						Args:     args,
					}},
				}},
				BaseOutputDirectory: &aiplatformpb.GcsDestination{OutputUriPrefix: outURI},
			},
		},
	})
	if err != nil {
		return nil, mapError(ctx, "create custom job", err, index.ErrInvalidArgument)
	}
	what := "custom job " + job.GetName()
	err = waitJob(ctx, what, func(ctx context.Context) (aiplatformpb.JobState, string, error) {
		j, err := t.jobs.GetCustomJob(ctx, &aiplatformpb.GetCustomJobRequest{Name: job.GetName()})
		return j.GetState(), j.GetError().GetMessage(), err
	}, func(ctx context.Context) error {
		return t.jobs.CancelCustomJob(ctx, &aiplatformpb.CancelCustomJobRequest{Name: job.GetName()})
	}, t.pollMin, t.pollMax)
	if err != nil {
		return nil, err
	}
	meta, err := t.readResult(ctx, outURI+"/shoal.json")
	if err != nil {
		return nil, err
	}
	if meta.Dimension != t.cfg.dim {
		return nil, fmt.Errorf("vertex: %s: %w: the container reports dimension %d, want %d", what, embedding.ErrBadOutput, meta.Dimension, t.cfg.dim)
	}
	op, err := t.models.UploadModel(ctx, &aiplatformpb.UploadModelRequest{
		Parent: parent,
		Model: &aiplatformpb.Model{
			DisplayName:   run,
			ArtifactUri:   outURI + "/model",
			ContainerSpec: &aiplatformpb.ModelContainerSpec{ImageUri: tc.serveImage},
			Labels:        map[string]string{"shoal-dimension": strconv.Itoa(meta.Dimension), "shoal-loss": tc.loss.String()},
		},
	})
	if err != nil {
		return nil, mapError(ctx, "upload model", err, index.ErrInvalidArgument)
	}
	up, err := waitOp(ctx, "upload model", op.Poll, op.Done, t.pollMin, t.pollMax)
	if err != nil {
		return nil, err
	}
	report := finetune.Report{
		Base:          embedding.Info{Model: tc.trainImage, Dim: meta.Dimension},
		Config:        finetune.Config{OutputDim: meta.Dimension, Loss: tc.loss, Epochs: tc.epochs},
		TrainExamples: len(train),
		ValExamples:   len(val),
		Classes:       classes,
	}
	for _, e := range meta.Epochs {
		report.Epochs = append(report.Epochs, finetune.EpochStats{Epoch: e.Epoch, Loss: e.Loss})
	}
	report.BestEpoch = meta.BestEpoch
	if report.BestEpoch == 0 {
		report.BestEpoch = len(report.Epochs)
	}
	m := &TrainedModel{t: t, model: up.GetModel(), version: up.GetModelVersionId(), report: report, job: job.GetName()}
	m.info = embedding.Info{Model: m.model + "@" + m.version, Dim: meta.Dimension}
	if tc.deploy != nil {
		if err := m.Deploy(ctx, *tc.deploy); err != nil {
			return m, err
		}
	}
	m.report.Duration = time.Since(start)
	return m, nil
}

func checkExamples(train, val []finetune.Example) (int, error) {
	if len(train) == 0 {
		return 0, fmt.Errorf("%w: no training examples", finetune.ErrInvalidExamples)
	}
	seen := map[string]bool{}
	labels := map[string]bool{}
	for _, part := range []struct {
		set string
		exs []finetune.Example
	}{{"train", train}, {"val", val}} {
		set := part.set
		for i, e := range part.exs {
			id := e.Input.ID
			switch {
			case id == "":
				return 0, fmt.Errorf("%w: %s example %d has no ID", finetune.ErrInvalidExamples, set, i)
			case seen[id]:
				return 0, fmt.Errorf("%w: example %q appears twice", finetune.ErrInvalidExamples, id)
			case e.Label == "":
				return 0, fmt.Errorf("%w: example %q has no label", finetune.ErrInvalidExamples, id)
			case e.Input.Text == "" && len(e.Input.Image) == 0 && e.Input.URI == "" && len(e.Vector) == 0:
				return 0, fmt.Errorf("%w: example %q has no text, image, URI or vector", finetune.ErrInvalidExamples, id)
			}
			seen[id] = true
			if set == "train" {
				labels[e.Label] = true
			}
		}
	}
	if len(labels) < 2 {
		return 0, fmt.Errorf("%w: training examples need at least 2 labels, have %d", finetune.ErrInvalidExamples, len(labels))
	}
	return len(labels), nil
}

func (t *Trainer) writeManifest(ctx context.Context, uri string, exs []finetune.Example) error {
	bucket, object, _ := splitGS(uri)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := t.gcs.Bucket(bucket).Object(object).NewWriter(ctx)
	w.ContentType = "application/jsonl"
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	for _, e := range exs {
		ins, err := withPNG([]embedding.Input{e.Input})
		if err != nil {
			cancel()
			_ = w.Close()
			return fmt.Errorf("vertex: example %q: %w", e.Input.ID, err)
		}
		e.Input = ins[0]
		l := manifestLine{ID: e.Input.ID, Label: e.Label, Text: e.Input.Text, Vector: e.Vector}
		if len(e.Input.Image) > 0 {
			l.Image = map[string]any{"bytesBase64Encoded": base64.StdEncoding.EncodeToString(e.Input.Image)}
		} else if e.Input.URI != "" {
			l.Image = map[string]any{"gcsUri": e.Input.URI}
		}
		if l.Image != nil && e.Input.MIMEType != "" {
			l.Image["mimeType"] = e.Input.MIMEType
		}
		if err := enc.Encode(l); err != nil {
			cancel()
			_ = w.Close()
			return fmt.Errorf("vertex: example %q: %w", e.Input.ID, err)
		}
	}
	if err := bw.Flush(); err != nil {
		cancel()
		_ = w.Close()
		return fmt.Errorf("vertex: writing %s: %w", uri, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("vertex: writing %s: %w", uri, err)
	}
	return nil
}

// trainingResult is OUTPUT/shoal.json, written by the training container.
type trainingResult struct {
	Dimension int `json:"dimension"`
	BestEpoch int `json:"best_epoch"`
	Epochs    []struct {
		Epoch int     `json:"epoch"`
		Loss  float64 `json:"loss"`
	} `json:"epochs"`
}

func (t *Trainer) readResult(ctx context.Context, uri string) (*trainingResult, error) {
	bucket, object, _ := splitGS(uri)
	r, err := t.gcs.Bucket(bucket).Object(object).NewReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("vertex: the training container wrote no %s: %w", uri, err)
	}
	defer r.Close()
	var res trainingResult
	if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&res); err != nil {
		return nil, fmt.Errorf("vertex: %s: %w: %v", uri, embedding.ErrBadOutput, err)
	}
	if res.Dimension < 1 {
		return nil, fmt.Errorf("vertex: %s: %w: dimension %d", uri, embedding.ErrBadOutput, res.Dimension)
	}
	return &res, nil
}

// waitOp polls a long-running operation with backoff until it is done.
func waitOp[T any](ctx context.Context, what string, poll func(context.Context, ...gax.CallOption) (*T, error), done func() bool, pollMin, pollMax time.Duration) (*T, error) {
	delay := pollMin
	for {
		resp, err := poll(ctx)
		if err != nil {
			mapped := mapError(ctx, what, err, index.ErrInvalidArgument)
			if ctx.Err() != nil || !embedding.IsRetryable(mapped) {
				return nil, mapped
			}
		} else if done() {
			return resp, nil
		}
		tm := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil, fmt.Errorf("vertex: %s: %w", what, context.Cause(ctx))
		case <-tm.C:
		}
		delay = min(2*delay, pollMax)
	}
}

// TrainedModel is a model trained by [Trainer]: registered in the Model
// Registry and, once deployed, an embedding encoder served by its
// endpoint. It implements finetune.Model.
type TrainedModel struct {
	t       *Trainer
	model   string
	version string
	job     string
	report  finetune.Report

	mu       sync.Mutex
	info     embedding.Info
	endpoint string
	enc      *Encoder
}

// Model returns the Model Registry resource name
// (projects/P/locations/L/models/M).
func (m *TrainedModel) Model() string { return m.model }

// Job returns the CustomJob that trained the model.
func (m *TrainedModel) Job() string { return m.job }

// Endpoint returns the endpoint serving the model ("" until deployed).
func (m *TrainedModel) Endpoint() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.endpoint
}

// Report describes the training run, as the container reported it.
func (m *TrainedModel) Report() finetune.Report { return m.report }

// Info describes the model's vectors: Model is the registry name and
// version ("projects/P/locations/L/models/M@1").
func (m *TrainedModel) Info() embedding.Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.enc != nil {
		return m.enc.Info()
	}
	return m.info
}

// Encode embeds inputs through the endpoint serving the model; before
// Deploy it fails with index.ErrNotFound.
func (m *TrainedModel) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	m.mu.Lock()
	enc := m.enc
	m.mu.Unlock()
	if enc == nil {
		return nil, fmt.Errorf("vertex: model %s: %w: not deployed to an endpoint (call Deploy)", m.model, index.ErrNotFound)
	}
	return enc.Encode(ctx, in)
}

// Deploy creates an endpoint, deploys the model on machine (a TPU or GPU
// machine; Replicas is the minimum replica count) with all traffic, and
// points Encode at it. The encoder's options are the trainer's (for
// example WithInstanceBuilder, WithPredictionPath).
func (m *TrainedModel) Deploy(ctx context.Context, machine Machine) error {
	if err := machine.Validate(); err != nil {
		return err
	}
	t := m.t
	parent := fmt.Sprintf("projects/%s/locations/%s", t.project, t.location)
	cop, err := t.endpoints.CreateEndpoint(ctx, &aiplatformpb.CreateEndpointRequest{
		Parent:   parent,
		Endpoint: &aiplatformpb.Endpoint{DisplayName: t.name + "-endpoint"},
	})
	if err != nil {
		return mapError(ctx, "create endpoint", err, index.ErrInvalidArgument)
	}
	ep, err := waitOp(ctx, "create endpoint", cop.Poll, cop.Done, t.pollMin, t.pollMax)
	if err != nil {
		return err
	}
	dop, err := t.endpoints.DeployModel(ctx, &aiplatformpb.DeployModelRequest{
		Endpoint: ep.GetName(),
		DeployedModel: &aiplatformpb.DeployedModel{
			Model:       m.model + "@" + m.version,
			DisplayName: t.name,
			PredictionResources: &aiplatformpb.DeployedModel_DedicatedResources{DedicatedResources: &aiplatformpb.DedicatedResources{
				MachineSpec:     machine.spec(),
				MinReplicaCount: int32(machine.replicas()),
				MaxReplicaCount: int32(machine.replicas()),
			}},
		},
		TrafficSplit: map[string]int32{"0": 100},
	})
	if err != nil {
		return mapError(ctx, "deploy model to "+ep.GetName(), err, index.ErrInvalidArgument)
	}
	if _, err := waitOp(ctx, "deploy model to "+ep.GetName(), dop.Poll, dop.Done, t.pollMin, t.pollMax); err != nil {
		return err
	}
	opts := append([]Option{}, encoderOptions(t.cfg)...)
	opts = append(opts, WithDimension(m.info.Dim), WithModelName(m.info.Model))
	enc, err := NewEncoder(ctx, ep.GetName(), opts...)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.enc != nil {
		_ = m.enc.Close()
	}
	m.endpoint, m.enc = ep.GetName(), enc
	return nil
}

// encoderOptions replays the encoder settings of a trainer's config.
func encoderOptions(c config) []Option {
	opts := []Option{WithClientOptions(c.clientOpts...)}
	if c.builder != nil {
		opts = append(opts, WithInstanceBuilder(c.builder))
	}
	if c.predPath != nil {
		opts = append(opts, WithPredictionPath(strings.Join(c.predPath, ".")))
	}
	if c.params != nil {
		opts = append(opts, WithParameters(c.params))
	}
	if c.normalized != nil {
		opts = append(opts, WithNormalized(*c.normalized))
	}
	return opts
}

// Close releases the endpoint's encoder (the model and endpoint stay).
func (m *TrainedModel) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.enc != nil {
		return m.enc.Close()
	}
	return nil
}

var _ finetune.Trainer = (*Trainer)(nil)
var _ finetune.Model = (*TrainedModel)(nil)
