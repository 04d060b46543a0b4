package vertex

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index/ingest"
)

// Job returns the batch prediction job named name
// (projects/P/locations/L/batchPredictionJobs/N, as [BatchJob.Name] gives
// it), submitted earlier, perhaps by another process: its Wait and
// Records work as for a job of [BatchEncoder.Submit]. It makes no call;
// a job the service does not know makes Wait fail with index.ErrNotFound.
func (b *BatchEncoder) Job(name string) (*BatchJob, error) {
	id, ok := strings.CutPrefix(name, b.parent+"/batchPredictionJobs/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, fmt.Errorf("%w: job name %q is not %s/batchPredictionJobs/N", ErrInvalidOption, name, b.parent)
	}
	return &BatchJob{b: b, name: name}, nil
}

// Ingest returns b as the batch encoder of ingest.RunBatch, which writes
// the inputs with [BatchEncoder.WriteInputs], submits with
// [BatchEncoder.Submit], resumes with [BatchEncoder.Job], and reads the
// output with [BatchJob.Records] (an input the job failed comes as an
// *index.ItemError carrying its ID and the service's reason).
func (b *BatchEncoder) Ingest() ingest.BatchEncoder { return ingestBatch{b} }

type ingestBatch struct{ b *BatchEncoder }

func (a ingestBatch) Info() embedding.Info { return a.b.Info() }

func (a ingestBatch) WriteInputs(ctx context.Context, uri string, in iter.Seq2[embedding.Input, error]) (int, error) {
	return a.b.WriteInputs(ctx, uri, in)
}

func (a ingestBatch) SubmitJob(ctx context.Context, input, outputPrefix string) (ingest.BatchJob, error) {
	j, err := a.b.Submit(ctx, input, outputPrefix)
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (a ingestBatch) ResumeJob(_ context.Context, name string) (ingest.BatchJob, error) {
	j, err := a.b.Job(name)
	if err != nil {
		return nil, err
	}
	return j, nil
}

// outputLineID returns the ID an output line carries, as decodeOutputLine
// finds it ("key", the instance's KeyField, or a flat KeyField), or "".
func outputLineID(line []byte) string {
	var raw struct {
		Key      any            `json:"key"`
		Instance map[string]any `json:"instance"`
		FlatID   any            `json:"id"`
	}
	if json.Unmarshal(line, &raw) != nil {
		return ""
	}
	switch k := raw.Key.(type) {
	case string:
		return k
	case float64:
		return json.Number(fmt.Sprint(k)).String()
	}
	if s, ok := raw.Instance[KeyField].(string); ok {
		return s
	}
	if s, ok := raw.FlatID.(string); ok && raw.Instance == nil {
		return s
	}
	return ""
}
