package vertex

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"path"
	"strings"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
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
// output as [BatchJob.Records] does, except that an input the job failed
// comes as an *index.ItemError carrying its ID (the error it wraps is
// Records' error, with the service's reason).
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
	return ingestJob{j}, nil
}

func (a ingestBatch) ResumeJob(_ context.Context, name string) (ingest.BatchJob, error) {
	j, err := a.b.Job(name)
	if err != nil {
		return nil, err
	}
	return ingestJob{j}, nil
}

type ingestJob struct{ j *BatchJob }

func (a ingestJob) Name() string                   { return a.j.Name() }
func (a ingestJob) Wait(ctx context.Context) error { return a.j.Wait(ctx) }

// Records is BatchJob.Records with failed inputs as *index.ItemError.
func (a ingestJob) Records(ctx context.Context) iter.Seq2[index.Record, error] {
	j := a.j
	return func(yield func(index.Record, error) bool) {
		if j.out == "" {
			yield(index.Record{}, fmt.Errorf("vertex: batch prediction job %s: %w: no output directory (has Wait returned nil?)", j.name, index.ErrNotFound))
			return
		}
		bucket, prefix, _ := splitGS(strings.TrimSuffix(j.out, "/"))
		files, err := listOutputs(ctx, j.b.gcs.Bucket(bucket), prefix+"/")
		if err != nil {
			yield(index.Record{}, fmt.Errorf("vertex: listing %s: %w", j.out, err))
			return
		}
		for _, f := range files {
			isErr := strings.HasPrefix(path.Base(f), "errors")
			if !readJSONLines(ctx, j.b.gcs.Bucket(bucket).Object(f), "gs://"+bucket+"/"+f, func(line []byte, where string) bool {
				rec, err := j.b.enc.decodeOutputLine(line, isErr)
				if err != nil {
					err = fmt.Errorf("vertex: %s: %w", where, err)
					if id := outputLineID(line); id != "" {
						err = &index.ItemError{Index: -1, ID: id, Err: err}
					}
					return yield(index.Record{}, err)
				}
				return yield(rec, nil)
			}, yield) {
				return
			}
		}
	}
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
