package vertextest_test

import (
	"context"
	"math"
	"testing"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/shoalhq/shoal/backends/vertex/vertextest"
)

func TestVectorIsDeterministicAndUnitLength(t *testing.T) {
	t.Parallel()
	a, b := vertextest.Vector("text:x", 64), vertextest.Vector("text:x", 64)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, vertextest.Vector("text:y", 64))
	var n float64
	for _, x := range a {
		n += float64(x) * float64(x)
	}
	assert.InDelta(t, 1, math.Sqrt(n), 1e-5)
	assert.Equal(t, "uri:gs://b/o", vertextest.Key(map[string]any{"image": map[string]any{"gcsUri": "gs://b/o"}, "text": "ignored"}))
	assert.Equal(t, "text:hi", vertextest.Key(map[string]any{"content": "hi"}))
	assert.Equal(t, `json:{"a":1,"b":2}`, vertextest.Key(map[string]any{"b": 2, "a": 1}))
}

func newClients(t *testing.T) (*vertextest.Server, *aiplatform.PredictionClient, *aiplatform.JobClient) {
	t.Helper()
	srv, err := vertextest.NewServer()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	p, err := aiplatform.NewPredictionClient(context.Background(), srv.ClientOptions()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	j, err := aiplatform.NewJobClient(context.Background(), srv.ClientOptions()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return srv, p, j
}

func TestPredictValidatesLikeVertex(t *testing.T) {
	t.Parallel()
	srv, p, _ := newClients(t)
	val := func(m map[string]any) *structpb.Value { v, _ := structpb.NewValue(m); return v }
	mm := "projects/p/locations/l/publishers/google/models/multimodalembedding@001"
	tests := []struct {
		name string
		req  *aiplatformpb.PredictRequest
		code codes.Code
	}{
		{"two multimodal instances", &aiplatformpb.PredictRequest{Endpoint: mm, Instances: []*structpb.Value{val(map[string]any{"text": "a"}), val(map[string]any{"text": "b"})}}, codes.InvalidArgument},
		{"bad multimodal dimension", &aiplatformpb.PredictRequest{Endpoint: mm, Instances: []*structpb.Value{val(map[string]any{"text": "a"})}, Parameters: val(map[string]any{"dimension": 100})}, codes.InvalidArgument},
		{"http image uri", &aiplatformpb.PredictRequest{Endpoint: mm, Instances: []*structpb.Value{val(map[string]any{"image": map[string]any{"gcsUri": "http://x"}})}}, codes.InvalidArgument},
		{"text without content", &aiplatformpb.PredictRequest{Endpoint: "projects/p/locations/l/publishers/google/models/text-embedding-005", Instances: []*structpb.Value{val(map[string]any{"text": "a"})}}, codes.InvalidArgument},
		{"unknown publisher model", &aiplatformpb.PredictRequest{Endpoint: "projects/p/locations/l/publishers/google/models/nope", Instances: []*structpb.Value{val(map[string]any{"text": "a"})}}, codes.NotFound},
		{"unknown endpoint", &aiplatformpb.PredictRequest{Endpoint: "projects/p/locations/l/endpoints/9", Instances: []*structpb.Value{val(map[string]any{"text": "a"})}}, codes.NotFound},
		{"no instances", &aiplatformpb.PredictRequest{Endpoint: mm}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		_, err := p.Predict(context.Background(), tc.req)
		assert.Equal(t, tc.code, status.Code(err), tc.name)
	}
	srv.FailAfter(0, status.Error(codes.Aborted, "boom"))
	_, err := p.Predict(context.Background(), &aiplatformpb.PredictRequest{Endpoint: mm, Instances: []*structpb.Value{val(map[string]any{"text": "a"})}})
	assert.Equal(t, codes.Aborted, status.Code(err))
	assert.Equal(t, len(tests)+1, srv.Calls())
}

func TestCustomJobWorkerPoolRules(t *testing.T) {
	t.Parallel()
	_, _, j := newClients(t)
	job := func(ms *aiplatformpb.MachineSpec) *aiplatformpb.CreateCustomJobRequest {
		return &aiplatformpb.CreateCustomJobRequest{Parent: "projects/p/locations/l", CustomJob: &aiplatformpb.CustomJob{
			DisplayName: "j",
			JobSpec: &aiplatformpb.CustomJobSpec{WorkerPoolSpecs: []*aiplatformpb.WorkerPoolSpec{{
				MachineSpec: ms, ReplicaCount: 1,
				Task: &aiplatformpb.WorkerPoolSpec_ContainerSpec{ContainerSpec: &aiplatformpb.ContainerSpec{ImageUri: "img"}},
			}}},
		}}
	}
	for _, tc := range []struct {
		ms *aiplatformpb.MachineSpec
		ok bool
	}{
		{&aiplatformpb.MachineSpec{MachineType: "cloud-tpu", AcceleratorType: aiplatformpb.AcceleratorType_TPU_V3, AcceleratorCount: 8}, true},
		{&aiplatformpb.MachineSpec{MachineType: "cloud-tpu", AcceleratorType: aiplatformpb.AcceleratorType_TPU_V3, AcceleratorCount: 4}, false},
		// rules.ConfigureComputeDoc: v5e is a machine type and a topology
		// from the table, with no accelerator fields; TPU v4 is not a
		// documented training TPU.
		{&aiplatformpb.MachineSpec{MachineType: "ct5lp-hightpu-4t", TpuTopology: "2x2"}, true},
		{&aiplatformpb.MachineSpec{MachineType: "ct5lp-hightpu-4t", TpuTopology: "8x16"}, true},
		{&aiplatformpb.MachineSpec{MachineType: "ct5lp-hightpu-4t", AcceleratorType: aiplatformpb.AcceleratorType_TPU_V5_LITEPOD, AcceleratorCount: 4, TpuTopology: "2x2"}, false},
		{&aiplatformpb.MachineSpec{MachineType: "ct5lp-hightpu-4t"}, false},
		{&aiplatformpb.MachineSpec{MachineType: "ct5lp-hightpu-1t", TpuTopology: "2x2"}, false},
		{&aiplatformpb.MachineSpec{MachineType: "cloud-tpu", AcceleratorType: aiplatformpb.AcceleratorType_TPU_V4_POD, TpuTopology: "2x2x1"}, false},
		{&aiplatformpb.MachineSpec{MachineType: "cloud-tpu", AcceleratorType: aiplatformpb.AcceleratorType_TPU_V4_POD, AcceleratorCount: 4}, false},
	} {
		created, err := j.CreateCustomJob(context.Background(), job(tc.ms))
		if tc.ok {
			require.NoError(t, err, "%v", tc.ms)
			// PENDING → RUNNING → SUCCEEDED, one step per Get.
			var states []aiplatformpb.JobState
			for range 3 {
				got, err := j.GetCustomJob(context.Background(), &aiplatformpb.GetCustomJobRequest{Name: created.GetName()})
				require.NoError(t, err)
				states = append(states, got.GetState())
			}
			assert.Equal(t, []aiplatformpb.JobState{aiplatformpb.JobState_JOB_STATE_RUNNING, aiplatformpb.JobState_JOB_STATE_FAILED, aiplatformpb.JobState_JOB_STATE_FAILED}, states,
				"without the contract's arguments the container fails")
		} else {
			assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", tc.ms)
		}
	}
	// A TPU job has one worker pool of one replica.
	two := job(&aiplatformpb.MachineSpec{MachineType: "ct5lp-hightpu-4t", TpuTopology: "2x2"})
	two.CustomJob.JobSpec.WorkerPoolSpecs[0].ReplicaCount = 2
	_, err := j.CreateCustomJob(context.Background(), two)
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "two replicas")
	two.CustomJob.JobSpec.WorkerPoolSpecs[0].ReplicaCount = 1
	two.CustomJob.JobSpec.WorkerPoolSpecs = append(two.CustomJob.JobSpec.WorkerPoolSpecs, two.CustomJob.JobSpec.WorkerPoolSpecs[0])
	_, err = j.CreateCustomJob(context.Background(), two)
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "two pools")
}
