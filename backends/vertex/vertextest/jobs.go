package vertextest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/shoalhq/shoal/backends/vertex/internal/rules"
)

// OutputLinesPerFile is how many lines the fake writes into each
// predictions_NNNNN.jsonl file of a batch prediction job.
const OutputLinesPerFile = 1000

var parentRE = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+$`)

type jobState struct {
	state   aiplatformpb.JobState
	steps   int // Get calls spent in the current state
	hold    bool
	failMsg string
}

// advance moves a job one Get call along its state machine and reports
// whether it just reached SUCCEEDED (the moment its work is done).
func (j *jobState) advance(stepsPer int) (justSucceeded bool) {
	switch j.state {
	case aiplatformpb.JobState_JOB_STATE_PENDING:
		j.steps++
		if j.steps >= stepsPer {
			j.state, j.steps = aiplatformpb.JobState_JOB_STATE_RUNNING, 0
		}
	case aiplatformpb.JobState_JOB_STATE_RUNNING:
		if j.hold {
			return false
		}
		j.steps++
		if j.steps >= stepsPer {
			if j.failMsg != "" {
				j.state = aiplatformpb.JobState_JOB_STATE_FAILED
				return false
			}
			j.state = aiplatformpb.JobState_JOB_STATE_SUCCEEDED
			return true
		}
	case aiplatformpb.JobState_JOB_STATE_CANCELLING:
		j.state = aiplatformpb.JobState_JOB_STATE_CANCELLED
	}
	return false
}

func terminal(s aiplatformpb.JobState) bool {
	switch s {
	case aiplatformpb.JobState_JOB_STATE_SUCCEEDED, aiplatformpb.JobState_JOB_STATE_FAILED,
		aiplatformpb.JobState_JOB_STATE_CANCELLED, aiplatformpb.JobState_JOB_STATE_EXPIRED,
		aiplatformpb.JobState_JOB_STATE_PARTIALLY_SUCCEEDED:
		return true
	}
	return false
}

type batchJob struct {
	jobState
	pb *aiplatformpb.BatchPredictionJob
}

type customJob struct {
	jobState
	pb *aiplatformpb.CustomJob
}

type jobService struct {
	aiplatformpb.UnimplementedJobServiceServer
	s *Server
}

func (j *jobService) CreateBatchPredictionJob(ctx context.Context, req *aiplatformpb.CreateBatchPredictionJobRequest) (*aiplatformpb.BatchPredictionJob, error) {
	s := j.s
	if err := s.logJob("CreateBatchPredictionJob", req.GetParent()); err != nil {
		return nil, err
	}
	if !parentRE.MatchString(req.GetParent()) {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/P/locations/L", req.GetParent())
	}
	in := proto.Clone(req.GetBatchPredictionJob()).(*aiplatformpb.BatchPredictionJob)
	if in == nil || in.GetModel() == "" || in.GetDisplayName() == "" {
		return nil, status.Error(codes.InvalidArgument, "batch prediction job needs a display name and a model")
	}
	if m := publisherRE.FindStringSubmatch(in.GetModel()); m != nil && !rules.SupportsBatch(m[1]) {
		// rules.BatchEmbeddingsDoc excepts the Gemini embedding models; the
		// service's answer is rules.UnsupportedBatchMessage.
		return nil, status.Error(codes.InvalidArgument, rules.UnsupportedBatchMessage+m[1])
	}
	ic := in.GetInputConfig()
	switch ic.GetInstancesFormat() {
	case "jsonl":
		if len(ic.GetGcsSource().GetUris()) == 0 {
			return nil, status.Error(codes.InvalidArgument, "jsonl input needs gcs_source uris")
		}
		for _, u := range ic.GetGcsSource().GetUris() {
			if !strings.HasPrefix(u, "gs://") {
				return nil, status.Errorf(codes.InvalidArgument, "input uri %q is not gs://", u)
			}
		}
	case "bigquery":
		if !strings.HasPrefix(ic.GetBigquerySource().GetInputUri(), "bq://") {
			return nil, status.Error(codes.InvalidArgument, "bigquery input needs a bq:// input uri")
		}
	default:
		return nil, status.Errorf(codes.InvalidArgument, "instances format %q not supported", ic.GetInstancesFormat())
	}
	oc := in.GetOutputConfig()
	if oc.GetPredictionsFormat() != "jsonl" || !strings.HasPrefix(oc.GetGcsDestination().GetOutputUriPrefix(), "gs://") {
		return nil, status.Error(codes.InvalidArgument, "output needs predictions format jsonl and a gs:// output uri prefix")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	in.Name = fmt.Sprintf("%s/batchPredictionJobs/%d", req.GetParent(), id)
	in.State = aiplatformpb.JobState_JOB_STATE_PENDING
	in.CreateTime = timestamppb.Now()
	bj := &batchJob{jobState: jobState{state: in.State, hold: s.holdJobs, failMsg: s.failJobs}, pb: in}
	s.batchJobs[in.Name] = bj
	return proto.Clone(in).(*aiplatformpb.BatchPredictionJob), nil
}

func (j *jobService) GetBatchPredictionJob(ctx context.Context, req *aiplatformpb.GetBatchPredictionJobRequest) (*aiplatformpb.BatchPredictionJob, error) {
	s := j.s
	if err := s.logJob("GetBatchPredictionJob", req.GetName()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	bj, ok := s.batchJobs[req.GetName()]
	if !ok {
		s.mu.Unlock()
		return nil, notFound("BatchPredictionJob", req.GetName())
	}
	run := bj.advance(s.jobSteps)
	malform := s.malform
	s.mu.Unlock()
	if run {
		// The job's work happens outside the lock; its outcome is recorded after.
		outDir, stats, err := s.runBatch(ctx, bj.pb, malform)
		s.mu.Lock()
		if err != nil {
			bj.state = aiplatformpb.JobState_JOB_STATE_FAILED
			bj.failMsg = err.Error()
		} else {
			bj.pb.OutputInfo = &aiplatformpb.BatchPredictionJob_OutputInfo{
				OutputLocation: &aiplatformpb.BatchPredictionJob_OutputInfo_GcsOutputDirectory{GcsOutputDirectory: outDir}}
			bj.pb.CompletionStats = stats
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bj.pb.State = bj.state
	bj.pb.UpdateTime = timestamppb.Now()
	if bj.state == aiplatformpb.JobState_JOB_STATE_FAILED {
		bj.pb.Error = &statuspb.Status{Code: int32(codes.Internal), Message: bj.failMsg}
	}
	if terminal(bj.state) && bj.pb.EndTime == nil {
		bj.pb.EndTime = timestamppb.Now()
	}
	return proto.Clone(bj.pb).(*aiplatformpb.BatchPredictionJob), nil
}

func (j *jobService) CancelBatchPredictionJob(ctx context.Context, req *aiplatformpb.CancelBatchPredictionJobRequest) (*emptypb.Empty, error) {
	s := j.s
	if err := s.logJob("CancelBatchPredictionJob", req.GetName()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bj, ok := s.batchJobs[req.GetName()]
	if !ok {
		return nil, notFound("BatchPredictionJob", req.GetName())
	}
	if terminal(bj.state) {
		return nil, status.Errorf(codes.FailedPrecondition, "job %s is already %s", req.GetName(), bj.state)
	}
	bj.state = aiplatformpb.JobState_JOB_STATE_CANCELLING
	return &emptypb.Empty{}, nil
}

// runBatch reads the job's JSONL input from storage, predicts every
// instance and writes Vertex's output files. It returns the output
// directory.
func (s *Server) runBatch(ctx context.Context, job *aiplatformpb.BatchPredictionJob, malform func(any) Malformation) (string, *aiplatformpb.CompletionStats, error) {
	prefix := strings.TrimSuffix(job.GetOutputConfig().GetGcsDestination().GetOutputUriPrefix(), "/")
	modelID := job.GetModel()[strings.LastIndex(job.GetModel(), "/")+1:]
	outDir := fmt.Sprintf("%s/prediction-%s-%s", prefix, modelID, job.GetCreateTime().AsTime().UTC().Format("2006_01_02T15_04_05_000Z"))
	if s.storage == nil {
		return outDir, &aiplatformpb.CompletionStats{}, nil
	}
	var instances []map[string]any
	switch job.GetInputConfig().GetInstancesFormat() {
	case "bigquery":
		s.mu.Lock()
		rows, ok := s.tables[job.GetInputConfig().GetBigquerySource().GetInputUri()]
		s.mu.Unlock()
		if !ok {
			return "", nil, fmt.Errorf("BigQuery table %s not found", job.GetInputConfig().GetBigquerySource().GetInputUri())
		}
		for _, r := range rows {
			instances = append(instances, maps.Clone(r))
		}
	default:
		for _, u := range job.GetInputConfig().GetGcsSource().GetUris() {
			rows, err := s.readJSONL(ctx, u)
			if err != nil {
				return "", nil, err
			}
			instances = append(instances, rows...)
		}
	}
	// Publisher models write {"instance"|"key", "predictions": [P],
	// "status": ""}, an item's failure as a non-empty status
	// (rules.BatchEmbeddingsDoc); custom models write {"instance"|"key",
	// "prediction": P}, and their failed instances to errors_N files, as
	// the instance followed by "error": {"code", "message"}
	// (rules.CustomOutputDoc).
	publisher := publisherRE.MatchString(job.GetModel())
	endpoint := job.GetModel()
	if !publisher {
		ep, err := s.registryEndpoint(job.GetModel())
		if err != nil {
			return "", nil, err
		}
		endpoint = ep
	}
	if m := publisherRE.FindStringSubmatch(job.GetModel()); m != nil && strings.Contains(m[1], "embedding") &&
		!strings.HasPrefix(m[1], "multimodal") && len(instances) > rules.MaxBatchJobPrompts {
		return "", nil, fmt.Errorf("the job has %d prompts; a text-embedding batch job takes at most %d", len(instances), rules.MaxBatchJobPrompts)
	}
	keyField := job.GetInstanceConfig().GetKeyField()
	var preds, errs []map[string]any
	var failed int
	for _, inst := range instances {
		line := map[string]any{}
		original := maps.Clone(inst)
		if keyField != "" {
			line["key"] = inst[keyField]
			delete(inst, keyField)
		} else {
			line["instance"] = inst
		}
		v, err := structpb.NewValue(inst)
		if err != nil {
			return "", nil, err
		}
		resp, err := s.predict(&aiplatformpb.PredictRequest{Endpoint: endpoint, Instances: []*structpb.Value{v}, Parameters: job.GetModelParameters()}, malform)
		switch {
		case err != nil && status.Code(err) == codes.NotFound:
			return "", nil, err
		case err != nil && publisher:
			failed++
			line["predictions"] = []any{}
			line["status"] = status.Convert(err).Message()
			preds = append(preds, line)
		case err != nil:
			failed++
			original["error"] = map[string]any{"code": int(status.Code(err)), "message": status.Convert(err).Message()}
			errs = append(errs, original)
		case publisher:
			line["predictions"] = []any{resp.GetPredictions()[0].AsInterface()}
			line["status"] = ""
			preds = append(preds, line)
		default:
			line["prediction"] = resp.GetPredictions()[0].AsInterface()
			preds = append(preds, line)
		}
	}
	bucket, obj, _ := splitGS(outDir)
	write := func(name string, lines []map[string]any) error {
		w := s.storage.Bucket(bucket).Object(obj + "/" + name).NewWriter(ctx)
		enc := json.NewEncoder(w)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				_ = w.Close()
				return err
			}
		}
		return w.Close()
	}
	for i := 0; i*OutputLinesPerFile < len(preds) || i == 0; i++ {
		end := min(len(preds), (i+1)*OutputLinesPerFile)
		if err := write(fmt.Sprintf("predictions_%04d.jsonl", i+1), preds[i*OutputLinesPerFile:end]); err != nil {
			return "", nil, fmt.Errorf("writing output: %w", err)
		}
	}
	if len(errs) > 0 {
		if err := write("errors_0001.jsonl", errs); err != nil {
			return "", nil, fmt.Errorf("writing errors: %w", err)
		}
	}
	return outDir, &aiplatformpb.CompletionStats{SuccessfulCount: int64(len(instances) - failed), FailedCount: int64(failed)}, nil
}

func splitGS(uri string) (bucket, object string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "gs://")
	if !ok {
		return "", "", false
	}
	bucket, object, _ = strings.Cut(rest, "/")
	return bucket, object, bucket != ""
}

func (s *Server) readJSONL(ctx context.Context, uri string) ([]map[string]any, error) {
	bucket, obj, ok := splitGS(uri)
	if !ok {
		return nil, fmt.Errorf("bad uri %q", uri)
	}
	r, err := s.storage.Bucket(bucket).Object(obj).NewReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", uri, err)
	}
	defer r.Close()
	var out []map[string]any
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", uri, n, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// registryEndpoint returns the endpoint name under which predict serves a
// Model Registry model (projects/P/locations/L/models/M[@version]) in a
// batch job: the fake serves {"embedding": [...]} of the dimension in the
// model's "shoal-dimension" label (else the default dimension).
func (s *Server) registryEndpoint(model string) (string, error) {
	name, _, _ := strings.Cut(model, "@")
	s.mu.Lock()
	defer s.mu.Unlock()
	mdl, ok := s.models[name]
	if !ok {
		return "", notFound("Model", model)
	}
	dim := s.defaultDim
	if d, err := strconv.Atoi(mdl.GetLabels()["shoal-dimension"]); err == nil && d > 0 {
		dim = d
	}
	ep := strings.Replace(name, "/models/", "/endpoints/batch-", 1)
	s.endpointDims(ep, dim)
	return ep, nil
}

// AddModel registers a Model Registry model whose predictions are
// {"embedding": [dim numbers]}, as if uploaded, for batch prediction jobs,
// and returns its resource name (projects/P/locations/L/models/N).
func (s *Server) AddModel(project, location string, dim int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := fmt.Sprintf("projects/%s/locations/%s/models/%d", project, location, s.newID())
	s.models[name] = &aiplatformpb.Model{Name: name, DisplayName: "vertextest", VersionId: "1",
		Labels: map[string]string{"shoal-dimension": strconv.Itoa(dim)}}
	return name
}

// AddBigQueryTable makes rows the content of the BigQuery table uri
// (bq://project.dataset.table) for batch prediction jobs.
func (s *Server) AddBigQueryTable(uri string, rows []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables == nil {
		s.tables = map[string][]map[string]any{}
	}
	s.tables[uri] = rows
}

// Custom jobs.

func (j *jobService) CreateCustomJob(ctx context.Context, req *aiplatformpb.CreateCustomJobRequest) (*aiplatformpb.CustomJob, error) {
	s := j.s
	if err := s.logJob("CreateCustomJob", req.GetParent()); err != nil {
		return nil, err
	}
	if !parentRE.MatchString(req.GetParent()) {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/P/locations/L", req.GetParent())
	}
	in := proto.Clone(req.GetCustomJob()).(*aiplatformpb.CustomJob)
	if in == nil || in.GetDisplayName() == "" || len(in.GetJobSpec().GetWorkerPoolSpecs()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "custom job needs a display name and a worker pool")
	}
	if err := checkWorkerPools(in.GetJobSpec().GetWorkerPoolSpecs()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in.Name = fmt.Sprintf("%s/customJobs/%d", req.GetParent(), s.newID())
	in.State = aiplatformpb.JobState_JOB_STATE_PENDING
	in.CreateTime = timestamppb.Now()
	s.customJobs[in.Name] = &customJob{jobState: jobState{state: in.State, hold: s.holdJobs, failMsg: s.failJobs}, pb: in}
	return proto.Clone(in).(*aiplatformpb.CustomJob), nil
}

// checkWorkerPools enforces Vertex's TPU rules for custom training
// (rules.ConfigureComputeDoc, "Configure compute resources for custom
// training", section TPUs): cloud-tpu takes TPU_V2 or TPU_V3 with 8
// accelerators (or a TPU Pod's count) and no topology; ct5lp-hightpu-*,
// ct6e-standard-* and tpu7x-standard-4t take a topology from the
// document's table and no accelerator type or count; TPU_V4_POD is not a
// documented training TPU; a TPU job has one worker pool of one replica.
func checkWorkerPools(pools []*aiplatformpb.WorkerPoolSpec) error {
	for i, wp := range pools {
		if wp.GetContainerSpec().GetImageUri() == "" {
			return fmt.Errorf("worker pool %d: container spec needs an image uri", i)
		}
		if wp.GetReplicaCount() < 1 {
			return fmt.Errorf("worker pool %d: replica count must be at least 1", i)
		}
		ms := wp.GetMachineSpec()
		accel := ms.GetAcceleratorType().String()
		if why := rules.CheckMachine(ms.GetMachineType(), accel, int(ms.GetAcceleratorCount()), ms.GetTpuTopology()); why != "" {
			return fmt.Errorf("worker pool %d: %s", i, why)
		}
		if why := rules.CheckTrainingPool(len(pools), rules.IsTPU(ms.GetMachineType(), accel), int(wp.GetReplicaCount())); why != "" {
			return fmt.Errorf("worker pool %d: %s", i, why)
		}
	}
	return nil
}

func (j *jobService) GetCustomJob(ctx context.Context, req *aiplatformpb.GetCustomJobRequest) (*aiplatformpb.CustomJob, error) {
	s := j.s
	if err := s.logJob("GetCustomJob", req.GetName()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	cj, ok := s.customJobs[req.GetName()]
	if !ok {
		s.mu.Unlock()
		return nil, notFound("CustomJob", req.GetName())
	}
	run := cj.advance(s.jobSteps)
	s.mu.Unlock()
	if run {
		if err := s.runTraining(ctx, cj.pb); err != nil {
			s.mu.Lock()
			cj.state, cj.failMsg = aiplatformpb.JobState_JOB_STATE_FAILED, err.Error()
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cj.pb.State = cj.state
	cj.pb.UpdateTime = timestamppb.Now()
	if cj.state == aiplatformpb.JobState_JOB_STATE_FAILED {
		cj.pb.Error = &statuspb.Status{Code: int32(codes.Internal), Message: cj.failMsg}
	}
	if terminal(cj.state) && cj.pb.EndTime == nil {
		cj.pb.EndTime = timestamppb.Now()
	}
	return proto.Clone(cj.pb).(*aiplatformpb.CustomJob), nil
}

func (j *jobService) CancelCustomJob(ctx context.Context, req *aiplatformpb.CancelCustomJobRequest) (*emptypb.Empty, error) {
	s := j.s
	if err := s.logJob("CancelCustomJob", req.GetName()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cj, ok := s.customJobs[req.GetName()]
	if !ok {
		return nil, notFound("CustomJob", req.GetName())
	}
	if terminal(cj.state) {
		return nil, status.Errorf(codes.FailedPrecondition, "job %s is already %s", req.GetName(), cj.state)
	}
	cj.state = aiplatformpb.JobState_JOB_STATE_CANCELLING
	return &emptypb.Empty{}, nil
}

// runTraining plays the training container: it checks the arguments of the
// container contract, reads the training manifest, and writes
// OUTPUT/model/ and OUTPUT/shoal.json.
func (s *Server) runTraining(ctx context.Context, job *aiplatformpb.CustomJob) error {
	args := map[string]string{}
	for _, a := range job.GetJobSpec().GetWorkerPoolSpecs()[0].GetContainerSpec().GetArgs() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok {
			args[k] = v
		}
	}
	for _, k := range []string{"data-uri", "output-uri", "loss", "epochs"} {
		if args[k] == "" {
			return fmt.Errorf("training container: missing --%s", k)
		}
	}
	epochs, err := strconv.Atoi(args["epochs"])
	if err != nil || epochs < 1 {
		return fmt.Errorf("training container: bad --epochs %q", args["epochs"])
	}
	dim := s.defaultDim
	if d, err := strconv.Atoi(args["dimension"]); err == nil && d > 0 {
		dim = d
	}
	if s.storage == nil {
		return nil
	}
	rows, err := s.readJSONL(ctx, args["data-uri"])
	if err != nil {
		return fmt.Errorf("training container: %w", err)
	}
	labels := map[string]bool{}
	for i, r := range rows {
		l, _ := r["label"].(string)
		if l == "" {
			return fmt.Errorf("training container: manifest line %d has no label", i+1)
		}
		labels[l] = true
	}
	bucket, obj, ok := splitGS(strings.TrimSuffix(args["output-uri"], "/"))
	if !ok {
		return fmt.Errorf("training container: --output-uri %q is not gs://", args["output-uri"])
	}
	put := func(name string, data []byte) error {
		w := s.storage.Bucket(bucket).Object(strings.TrimPrefix(obj+"/"+name, "/")).NewWriter(ctx)
		if _, err := w.Write(data); err != nil {
			_ = w.Close()
			return err
		}
		return w.Close()
	}
	if err := put("model/saved_model.pb", []byte("vertextest model")); err != nil {
		return err
	}
	var hist []map[string]any
	for e := 1; e <= epochs; e++ {
		hist = append(hist, map[string]any{"epoch": e, "loss": 1.0 / float64(e+1)})
	}
	meta, _ := json.Marshal(map[string]any{"dimension": dim, "train_examples": len(rows), "classes": len(labels), "epochs": hist})
	return put("shoal.json", meta)
}

// Model and endpoint services.

type modelService struct {
	aiplatformpb.UnimplementedModelServiceServer
	s *Server
}

func (m *modelService) UploadModel(ctx context.Context, req *aiplatformpb.UploadModelRequest) (*longrunningpb.Operation, error) {
	s := m.s
	if err := s.logJob("UploadModel", req.GetParent()); err != nil {
		return nil, err
	}
	if !parentRE.MatchString(req.GetParent()) {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/P/locations/L", req.GetParent())
	}
	mdl := proto.Clone(req.GetModel()).(*aiplatformpb.Model)
	if mdl == nil || mdl.GetDisplayName() == "" || mdl.GetContainerSpec().GetImageUri() == "" {
		return nil, status.Error(codes.InvalidArgument, "model needs a display name and a serving container image")
	}
	if !strings.HasPrefix(mdl.GetArtifactUri(), "gs://") {
		return nil, status.Errorf(codes.InvalidArgument, "artifact uri %q is not gs://", mdl.GetArtifactUri())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mdl.Name = fmt.Sprintf("%s/models/%d", req.GetParent(), s.newID())
	mdl.VersionId = "1"
	mdl.CreateTime = timestamppb.Now()
	s.models[mdl.Name] = mdl
	return s.newOperation(req.GetParent(), &aiplatformpb.UploadModelResponse{Model: mdl.Name, ModelVersionId: "1"})
}

func (m *modelService) GetModel(ctx context.Context, req *aiplatformpb.GetModelRequest) (*aiplatformpb.Model, error) {
	s := m.s
	s.mu.Lock()
	defer s.mu.Unlock()
	mdl, ok := s.models[req.GetName()]
	if !ok {
		return nil, notFound("Model", req.GetName())
	}
	return proto.Clone(mdl).(*aiplatformpb.Model), nil
}

type endpointService struct {
	aiplatformpb.UnimplementedEndpointServiceServer
	s *Server
}

func (e *endpointService) CreateEndpoint(ctx context.Context, req *aiplatformpb.CreateEndpointRequest) (*longrunningpb.Operation, error) {
	s := e.s
	if err := s.logJob("CreateEndpoint", req.GetParent()); err != nil {
		return nil, err
	}
	if !parentRE.MatchString(req.GetParent()) || req.GetEndpoint().GetDisplayName() == "" {
		return nil, status.Error(codes.InvalidArgument, "endpoint needs a parent projects/P/locations/L and a display name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := proto.Clone(req.GetEndpoint()).(*aiplatformpb.Endpoint)
	ep.Name = fmt.Sprintf("%s/endpoints/%d", req.GetParent(), 1000+s.newID())
	ep.CreateTime = timestamppb.Now()
	s.endpoints[ep.Name] = ep
	return s.newOperation(req.GetParent(), ep)
}

func (e *endpointService) GetEndpoint(ctx context.Context, req *aiplatformpb.GetEndpointRequest) (*aiplatformpb.Endpoint, error) {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.endpoints[req.GetName()]
	if !ok {
		return nil, notFound("Endpoint", req.GetName())
	}
	return proto.Clone(ep).(*aiplatformpb.Endpoint), nil
}

func (e *endpointService) DeployModel(ctx context.Context, req *aiplatformpb.DeployModelRequest) (*longrunningpb.Operation, error) {
	s := e.s
	if err := s.logJob("DeployModel", req.GetEndpoint()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.endpoints[req.GetEndpoint()]
	if !ok {
		return nil, notFound("Endpoint", req.GetEndpoint())
	}
	dm := proto.Clone(req.GetDeployedModel()).(*aiplatformpb.DeployedModel)
	name, _, _ := strings.Cut(dm.GetModel(), "@") // models/M@version is allowed
	mdl, ok := s.models[name]
	if !ok {
		return nil, notFound("Model", dm.GetModel())
	}
	ms := dm.GetDedicatedResources().GetMachineSpec()
	if ms.GetMachineType() == "" {
		return nil, status.Error(codes.InvalidArgument, "deployed model needs dedicated resources with a machine type")
	}
	// The machine-spec rules of custom training (rules.ConfigureComputeDoc)
	// hold for serving too, except that a single-host TPU VM may leave its
	// topology out (rules.ServeTPUDoc).
	if why := rules.CheckServingMachine(ms.GetMachineType(), ms.GetAcceleratorType().String(), int(ms.GetAcceleratorCount()), ms.GetTpuTopology()); why != "" {
		return nil, status.Errorf(codes.InvalidArgument, "deployed model: %s", why)
	}
	if dm.GetDedicatedResources().GetMinReplicaCount() < 1 {
		return nil, status.Error(codes.InvalidArgument, "min replica count must be at least 1")
	}
	dm.Id = strconv.Itoa(s.newID())
	dm.CreateTime = timestamppb.Now()
	ep.DeployedModels = append(ep.DeployedModels, dm)
	ep.TrafficSplit = map[string]int32{dm.Id: 100}
	dim := s.defaultDim
	if d, err := strconv.Atoi(mdl.GetLabels()["shoal-dimension"]); err == nil && d > 0 {
		dim = d
	}
	s.endpointDims(ep.Name, dim)
	parent := ep.Name[:strings.Index(ep.Name, "/endpoints/")]
	return s.newOperation(parent, &aiplatformpb.DeployModelResponse{DeployedModel: dm})
}

// Operations: every operation is reported not done on its creation and
// done on the first GetOperation.

type operationsService struct {
	longrunningpb.UnimplementedOperationsServer
	s *Server
}

func (s *Server) newOperation(parent string, resp proto.Message) (*longrunningpb.Operation, error) {
	a, err := anypb.New(resp)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	name := fmt.Sprintf("%s/operations/%d", parent, s.newID())
	s.operations[name] = &longrunningpb.Operation{Name: name, Done: true, Result: &longrunningpb.Operation_Response{Response: a}}
	return &longrunningpb.Operation{Name: name}, nil
}

func (o *operationsService) GetOperation(ctx context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	s := o.s
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.operations[req.GetName()]
	if !ok {
		return nil, notFound("Operation", req.GetName())
	}
	return proto.Clone(op).(*longrunningpb.Operation), nil
}
