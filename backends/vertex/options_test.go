package vertex_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/vertex"
	"github.com/shoalhq/shoal/backends/vertex/vertextest"
	"github.com/shoalhq/shoal/embedding"
)

// TestOptionsApplyToTheirConstructors checks that an option passed to a
// constructor (or a target) it does not apply to is an error naming both,
// instead of being ignored, and that option errors name the package once.
func TestOptionsApplyToTheirConstructors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, gcs := newBatchWorld(t)
	co := vertex.WithClientOptions(srv.ClientOptions()...)
	ep := srv.AddEndpoint(project, location, 8)
	registry := "projects/p/locations/us-central1/models/42"
	newEnc := func(target string) func(...vertex.Option) error {
		return func(opts ...vertex.Option) error {
			e, err := vertex.NewEncoder(ctx, target, append(opts, co)...)
			if err == nil {
				_ = e.Close()
			}
			return err
		}
	}
	newBatch := func(target string) func(...vertex.Option) error {
		return func(opts ...vertex.Option) error {
			b, err := vertex.NewBatchEncoder(ctx, target, append(opts, co, vertex.WithStorageClient(gcs.Client()))...)
			if err == nil {
				_ = b.Close()
			}
			return err
		}
	}
	newTrainer := func(opts ...vertex.Option) error {
		_, err := vertex.NewTrainer(ctx, project, location, append(opts, co)...)
		return err
	}
	tests := []struct {
		name string
		ctor func(...vertex.Option) error
		opts []vertex.Option
		want string
	}{
		{"deploy to an encoder", newEnc(textModel()), []vertex.Option{vertex.WithDeploy(vertex.GPUL4(1))}, "vertex: WithDeploy does not apply to NewEncoder (only to NewTrainer)"},
		{"epochs to a batch encoder", newBatch(textModel()), []vertex.Option{vertex.WithEpochs(3)}, "vertex: WithEpochs does not apply to NewBatchEncoder (only to NewTrainer)"},
		{"max batch to a batch encoder", newBatch(textModel()), []vertex.Option{vertex.WithMaxBatch(8)}, "vertex: WithMaxBatch does not apply to NewBatchEncoder (only to NewEncoder)"},
		{"task type to a trainer", newTrainer, []vertex.Option{vertex.WithTaskType("CLUSTERING")}, "vertex: WithTaskType does not apply to NewTrainer (only to NewEncoder, NewBatchEncoder)"},
		{"poll interval to an encoder", newEnc(textModel()), []vertex.Option{vertex.WithPollInterval(1, 2)}, "vertex: WithPollInterval does not apply to NewEncoder (only to NewBatchEncoder, NewTrainer)"},
		{"instance builder for a publisher model", newEnc(textModel()), []vertex.Option{vertex.WithDimension(8),
			vertex.WithInstanceBuilder(func(embedding.Input) (map[string]any, error) { return nil, nil })},
			"vertex: WithInstanceBuilder does not apply to publisher model text-embedding-005"},
		{"normalized for a publisher model", newEnc(multimodalModel()), []vertex.Option{vertex.WithNormalized(true)}, "vertex: WithNormalized does not apply to publisher model multimodalembedding@001"},
		{"task type for multimodal", newEnc(multimodalModel()), []vertex.Option{vertex.WithTaskType("CLUSTERING")}, "vertex: WithTaskType does not apply to multimodalembedding@001"},
		{"task type for an endpoint", newEnc(ep), []vertex.Option{vertex.WithDimension(8), vertex.WithTaskType("CLUSTERING")}, "vertex: WithTaskType does not apply to " + ep},
		{"auto truncate for a registry model", newBatch(registry), []vertex.Option{vertex.WithDimension(8), vertex.WithAutoTruncate(false)}, "vertex: WithAutoTruncate does not apply to " + registry},
		{"bad value", newEnc(textModel()), []vertex.Option{vertex.WithDimension(0)}, "vertex: WithDimension: dimension 0 < 1"},
		{"nil option", newEnc(textModel()), []vertex.Option{nil}, "vertex: NewEncoder: nil option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ctor(tc.opts...)
			require.Error(t, err)
			assert.ErrorIs(t, err, vertex.ErrInvalidOption)
			assert.ErrorIs(t, err, embedding.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "vertex:"), "the package is named once: %v", err)
		})
	}
	// What does apply is accepted.
	require.NoError(t, newEnc(ep)(vertex.WithDimension(8), vertex.WithNormalized(true), vertex.WithPredictionPath("embedding"), vertex.WithMaxBatch(4)))
	require.NoError(t, newEnc(textModel())(vertex.WithTaskType("CLUSTERING"), vertex.WithAutoTruncate(false), vertex.WithModelName("m")))
}

func TestFakeOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]vertextest.Option{
		"WithJobSteps":         vertextest.WithJobSteps(0),
		"WithDefaultDimension": vertextest.WithDefaultDimension(-1),
		"WithStorage":          vertextest.WithStorage(nil),
	} {
		srv, err := vertextest.NewServer(opt)
		require.Error(t, err, name)
		assert.Nil(t, srv)
		assert.True(t, strings.HasPrefix(err.Error(), "vertextest: "+name+": "), err.Error())
	}
}
