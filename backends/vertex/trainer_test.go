package vertex_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/finetune"
	"github.com/shoalhq/shoal/index"
)

func examples(n int) []finetune.Example {
	var out []finetune.Example
	for i := range n {
		out = append(out, finetune.Example{Input: embedding.Input{ID: fmt.Sprintf("ex-%d", i), Text: fmt.Sprintf("text %d", i)}, Label: []string{"cat", "dog", "fish"}[i%3]})
	}
	return out
}

func newTrainer(t *testing.T, srv *vertextest.Server, gcs *fakestorage.Server, opts ...vertex.Option) *vertex.Trainer {
	t.Helper()
	base := []vertex.Option{
		vertex.WithClientOptions(srv.ClientOptions()...), vertex.WithStorageClient(gcs.Client()),
		vertex.WithPollInterval(time.Millisecond, 5*time.Millisecond),
		vertex.WithTrainingImage("us-docker.pkg.dev/p/shoal/train:1"), vertex.WithServingImage("us-docker.pkg.dev/p/shoal/serve:1"),
		vertex.WithStaging("gs://data/staging"), vertex.WithDimension(32),
	}
	tr, err := vertex.NewTrainer(context.Background(), project, location, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func TestTrainerTrainsRegistersAndDeploys(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	tr := newTrainer(t, srv, gcs, vertex.WithEpochs(3), vertex.WithTrainingLoss(finetune.Triplet), vertex.WithDeploy(vertex.GPUL4(1)),
		vertex.WithTrainingMachine(vertex.TPUv3()))
	var ft finetune.Trainer = tr
	model, err := ft.Train(context.Background(), examples(30), examples(3)[:0])
	require.NoError(t, err)
	m := model.(*vertex.TrainedModel)
	defer m.Close()

	assert.True(t, strings.HasPrefix(m.Model(), "projects/p/locations/us-central1/models/"), m.Model())
	assert.Equal(t, m.Model()+"@1", m.Info().Model)
	assert.Equal(t, 32, m.Info().Dim)
	assert.NotEmpty(t, m.Endpoint())
	r := m.Report()
	assert.Equal(t, 30, r.TrainExamples)
	assert.Equal(t, 3, r.Classes)
	assert.Len(t, r.Epochs, 3)
	assert.Equal(t, finetune.Triplet, r.Config.Loss)

	// The model is an encoder served by its endpoint.
	vecs, err := m.Encode(context.Background(), []embedding.Input{{ID: "q", Text: "a query"}})
	require.NoError(t, err)
	assert.Equal(t, vertextest.Vector("text:a query", 32), vecs[0])

	// The calls, in order, and the manifest the container read.
	var methods []string
	for _, r := range srv.JobRequests() {
		m, _, _ := strings.Cut(r, " ")
		if len(methods) == 0 || methods[len(methods)-1] != m {
			methods = append(methods, m)
		}
	}
	assert.Equal(t, []string{"CreateCustomJob", "GetCustomJob", "UploadModel", "CreateEndpoint", "DeployModel"}, methods)
	var manifests []string
	list, err := gcs.ListObjectsWithOptionsPaginated("data", fakestorage.ListOptions{Prefix: "staging/"})
	require.NoError(t, err)
	for _, o := range list.Objects {
		if strings.HasSuffix(o.Name, "/data/train.jsonl") {
			obj, err := gcs.GetObject("data", o.Name)
			require.NoError(t, err)
			manifests = append(manifests, string(obj.Content))
		}
	}
	require.Len(t, manifests, 1)
	assert.Equal(t, 30, strings.Count(manifests[0], "\n"))
	assert.Contains(t, manifests[0], `{"id":"ex-4","label":"dog","text":"text 4"}`)
}

func TestTrainerDeployLater(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	tr := newTrainer(t, srv, gcs, vertex.WithTrainingMachine(vertex.TPUv5e(8)))
	m, err := tr.TrainModel(context.Background(), examples(12), examples(15)[12:])
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Encode(context.Background(), []embedding.Input{{ID: "q", Text: "x"}})
	assert.ErrorIs(t, err, index.ErrNotFound)
	assert.Equal(t, 3, m.Report().ValExamples)
	require.NoError(t, m.Deploy(context.Background(), vertex.TPUv5e(1)))
	vecs, err := m.Encode(context.Background(), []embedding.Input{{ID: "q", Text: "x"}})
	require.NoError(t, err)
	assert.Equal(t, vertextest.Vector("text:x", 32), vecs[0])
}

func TestCustomJobFails(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	tr := newTrainer(t, srv, gcs)
	srv.FailJobs("The replica workerpool0-0 exited with a non-zero status of 137 (out of memory)")
	_, err := tr.Train(context.Background(), examples(9), nil)
	require.ErrorIs(t, err, vertex.ErrJobFailed)
	assert.Contains(t, err.Error(), "non-zero status of 137")
	assert.NotContains(t, strings.Join(srv.JobRequests(), ","), "UploadModel", "nothing is registered")
}

func TestCustomJobCancelled(t *testing.T) {
	t.Parallel()
	srv, gcs := newBatchWorld(t)
	srv.HoldJobs(true)
	tr := newTrainer(t, srv, gcs)

	t.Run("context ends", func(t *testing.T) {
		// The context ends once the job exists and is being polled, however
		// slow the machine: no deadline races the job's creation.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var job string
		srv.OnJobCall(func(method, name string) {
			if method == "GetCustomJob" && job == "" {
				job = name
				cancel()
			}
		})
		defer srv.OnJobCall(nil)
		_, err := tr.Train(ctx, examples(9), nil)
		require.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, err.Error(), "job cancelled")
		assert.Contains(t, srv.JobRequests(), "CancelCustomJob "+job, "the job is cancelled")
	})
	t.Run("cancelled by someone else", func(t *testing.T) {
		other, err := aiplatform.NewJobClient(context.Background(), srv.ClientOptions()...)
		require.NoError(t, err)
		defer other.Close()
		done := make(chan error, 1)
		go func() {
			_, err := tr.Train(context.Background(), examples(9), nil)
			done <- err
		}()
		var name string
		require.Eventually(t, func() bool {
			for _, r := range srv.JobRequests() {
				if n, ok := strings.CutPrefix(r, "GetCustomJob "); ok {
					name = n
				}
			}
			return name != "" && !strings.Contains(strings.Join(srv.JobRequests(), ","), "CancelCustomJob "+name)
		}, 5*time.Second, time.Millisecond)
		require.NoError(t, other.CancelCustomJob(context.Background(), &aiplatformpb.CancelCustomJobRequest{Name: name}))
		select {
		case err := <-done:
			assert.ErrorIs(t, err, vertex.ErrJobCancelled)
		case <-time.After(30 * time.Second):
			t.Fatalf("Train did not notice %s was cancelled; job requests: %v", name, srv.JobRequests())
		}
	})
}

// TestMachineTPURules checks Machine against Vertex's "Configure compute
// resources for custom training" (section TPUs): TPU v2/v3 on cloud-tpu
// with an accelerator count, v5e/v6e/7x as a machine type with a topology
// from the document's table and no accelerator fields, no TPU v4, one
// replica in a TPU training pool.
func TestMachineTPURules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		m        vertex.Machine
		serve    bool // valid for a deployment (Validate, WithDeploy)
		train    bool // valid for training (WithTrainingMachine)
		contains string
	}{
		{"v3-8", vertex.TPUv3(), true, true, ""},
		{"v2 pod", vertex.Machine{MachineType: "cloud-tpu", Accelerator: "TPU_V2", AcceleratorCount: 64}, true, true, ""},
		{"v3 with 4 cores", vertex.Machine{MachineType: "cloud-tpu", Accelerator: "TPU_V3", AcceleratorCount: 4}, false, false, "accelerator count 8"},
		{"cloud-tpu with topology", vertex.Machine{MachineType: "cloud-tpu", Accelerator: "TPU_V3", AcceleratorCount: 8, TPUTopology: "2x2"}, false, false, "takes no TPU topology"},
		{"v4 pod", vertex.Machine{MachineType: "cloud-tpu", Accelerator: "TPU_V4_POD", AcceleratorCount: 4}, false, false, "TPU_V4_POD is not"},
		{"v4 pod with topology", vertex.Machine{MachineType: "cloud-tpu", Accelerator: "TPU_V4_POD", TPUTopology: "2x2x1"}, false, false, "takes no TPU topology"},
		{"cloud-tpu with a GPU", vertex.Machine{MachineType: "cloud-tpu", Accelerator: "NVIDIA_L4", AcceleratorCount: 1}, false, false, "TPU_V2 or TPU_V3"},
		{"v5e 2x2", vertex.TPUv5e(4), true, true, ""},
		{"v5e 4t multi-host 4x4", vertex.Machine{MachineType: "ct5lp-hightpu-4t", TPUTopology: "4x4"}, true, true, ""},
		{"v5e with accelerator fields", vertex.Machine{MachineType: "ct5lp-hightpu-4t", Accelerator: "TPU_V5_LITEPOD", AcceleratorCount: 4, TPUTopology: "2x2"}, false, false, "no accelerator type or count"},
		{"v5e without topology", vertex.Machine{MachineType: "ct5lp-hightpu-4t"}, true, false, "needs a TPU topology"},
		{"v5e wrong topology", vertex.Machine{MachineType: "ct5lp-hightpu-8t", TPUTopology: "2x2"}, false, false, `topology "2x2"`},
		{"v5e 3 chips", vertex.TPUv5e(3), false, false, "ct5lp-hightpu-3t is not a TPU machine type"},
		{"v5e two replicas", vertex.Machine{MachineType: "ct5lp-hightpu-4t", TPUTopology: "2x2", Replicas: 2}, true, false, "replica count 1"},
		{"v6e", vertex.Machine{MachineType: "ct6e-standard-4t", TPUTopology: "2x4"}, true, true, ""},
		{"7x", vertex.Machine{MachineType: "tpu7x-standard-4t", TPUTopology: "2x2x1"}, true, true, ""},
		{"TPU accelerator on a VM", vertex.Machine{MachineType: "n1-standard-8", Accelerator: "TPU_V3", AcceleratorCount: 8}, false, false, "needs a TPU machine type"},
		{"GPU", vertex.GPUL4(2), true, true, ""},
		{"GPU replicas", vertex.Machine{MachineType: "g2-standard-8", Accelerator: "NVIDIA_L4", AcceleratorCount: 1, Replicas: 3}, true, true, ""},
		{"unknown accelerator", vertex.Machine{MachineType: "n1-standard-8", Accelerator: "WARP_DRIVE"}, false, false, "unknown accelerator"},
		{"empty", vertex.Machine{}, false, false, "machine type is empty"},
	}
	srv, gcs := newBatchWorld(t)
	base := []vertex.Option{vertex.WithClientOptions(srv.ClientOptions()...), vertex.WithStorageClient(gcs.Client()),
		vertex.WithTrainingImage("img"), vertex.WithServingImage("img"), vertex.WithStaging("gs://data/s")}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Validate()
			if tc.serve {
				assert.NoError(t, err)
			} else {
				require.ErrorIs(t, err, vertex.ErrInvalidOption)
				assert.ErrorIs(t, err, embedding.ErrInvalidOption)
				assert.Contains(t, err.Error(), tc.contains)
			}
			for _, o := range []struct {
				name string
				opt  vertex.Option
				ok   bool
			}{{"WithTrainingMachine", vertex.WithTrainingMachine(tc.m), tc.train}, {"WithDeploy", vertex.WithDeploy(tc.m), tc.serve}} {
				tr, err := vertex.NewTrainer(context.Background(), project, location, append(base, o.opt)...)
				if o.ok {
					require.NoError(t, err, o.name)
					require.NoError(t, tr.Close())
				} else {
					require.ErrorIs(t, err, vertex.ErrInvalidOption, o.name)
					assert.Contains(t, err.Error(), "vertex: "+o.name+": machine ", o.name)
					assert.Contains(t, err.Error(), tc.contains, o.name)
					assert.Equal(t, 1, strings.Count(err.Error(), "vertex"), "the package is named once: %v", err)
				}
			}
		})
	}
}

func TestTrainerValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := vertex.NewTrainer(ctx, project, location, vertex.WithStaging("gs://b/x"))
	assert.ErrorIs(t, err, embedding.ErrInvalidOption, "images are required")
	_, err = vertex.NewTrainer(ctx, "", location)
	assert.ErrorIs(t, err, embedding.ErrInvalidOption)
	_, err = vertex.NewTrainer(ctx, project, location, vertex.WithStaging("/tmp"))
	assert.ErrorIs(t, err, embedding.ErrInvalidOption)

	srv, gcs := newBatchWorld(t)
	tr := newTrainer(t, srv, gcs)
	bad := map[string][]finetune.Example{
		"one label": {{Input: embedding.Input{ID: "a", Text: "x"}, Label: "l"}, {Input: embedding.Input{ID: "b", Text: "y"}, Label: "l"}},
		"no label":  {{Input: embedding.Input{ID: "a", Text: "x"}, Label: "l"}, {Input: embedding.Input{ID: "nolabel", Text: "y"}}},
		"duplicate": {{Input: embedding.Input{ID: "a", Text: "x"}, Label: "l"}, {Input: embedding.Input{ID: "a", Text: "y"}, Label: "m"}},
		"no input":  {{Input: embedding.Input{ID: "a", Text: "x"}, Label: "l"}, {Input: embedding.Input{ID: "empty"}, Label: "m"}},
		"none":      nil,
	}
	for name, exs := range bad {
		_, err := tr.Train(ctx, exs, nil)
		assert.ErrorIs(t, err, finetune.ErrInvalidExamples, name)
	}
	assert.Empty(t, srv.JobRequests(), "bad examples never reach the service")
}
