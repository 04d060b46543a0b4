package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/batch"
	"github.com/shoalhq/shoal/internal/errs"
)

// BatchEncoder embeds a whole set of inputs in one batch prediction job,
// as Vertex AI's does (backends/vertex.BatchEncoder, through its Ingest
// method). [RunBatch] uses it for the encode stage of large jobs.
type BatchEncoder interface {
	// Info describes the vectors the jobs produce.
	Info() embedding.Info
	// WriteInputs writes in where a job can read it (uri), replacing what
	// was there, and returns the number of inputs written.
	WriteInputs(ctx context.Context, uri string, in iter.Seq2[embedding.Input, error]) (int, error)
	// SubmitJob starts a job that embeds the inputs at input and writes
	// its output under outputPrefix.
	SubmitJob(ctx context.Context, input, outputPrefix string) (BatchJob, error)
	// ResumeJob returns the job of that name, submitted earlier, perhaps
	// by another process; it submits nothing.
	ResumeJob(ctx context.Context, name string) (BatchJob, error)
}

// BatchJob is a submitted batch prediction job.
type BatchJob interface {
	// Name is what [BatchEncoder.ResumeJob] takes back.
	Name() string
	// Wait returns nil once the job succeeded (maybe partly), an error
	// when it failed or was cancelled. When ctx ends first it returns
	// ctx's error; it may cancel the job then.
	Wait(ctx context.Context) error
	// Records streams the job's output, one record (ID and vector) per
	// input embedded. An input the job failed comes as an error that is,
	// or wraps, an *index.ItemError with the input's ID and the service's
	// reason; any other error ends the stream.
	Records(ctx context.Context) iter.Seq2[index.Record, error]
}

// BatchPlan says where [RunBatch] keeps a job's files.
type BatchPlan struct {
	// Input is where each job's inputs are written (for Vertex AI, a
	// gs://bucket/object.jsonl); each job overwrites it.
	Input string
	// Output is the prefix under which jobs write their output (for
	// Vertex AI, gs://bucket/path).
	Output string
	// State is the path of a local file naming the job in progress
	// (required). It is written, atomically, right after a job is
	// submitted and removed once the job's output is in the store.
	State string
	// MaxItems caps the inputs of one job (0: no cap, one job for all);
	// more items make several jobs, one after the other. A Vertex AI
	// text-embedding job takes at most 30,000.
	MaxItems int
}

// jobState is the file of [BatchPlan.State]: the job submitted for the
// items whose content hashes it lists.
type jobState struct {
	Version   int               `json:"version"`
	Namespace string            `json:"namespace"`
	Model     string            `json:"model"`
	Input     string            `json:"input"`
	Output    string            `json:"output"`
	Job       string            `json:"job"`
	Items     map[string]string `json:"items"` // ID → KeyContent of the input written
}

// RunBatch indexes a source into namespace of store as [Run] does, but
// encodes with batch prediction jobs: it reads the source in batches,
// fetches the stored records by ID and leaves alone those up to date (a
// record whose metadata alone changed is rewritten with its vector), as
// Run does; it writes the items that need a vector to plan.Input, submits
// one job, waits for it, reads its output back and upserts the records
// with the same metadata as Run ([KeyModel], [KeyContent], [KeyHash],
// [KeyRun]). Items the job failed are dead letters (stage
// [StageEncode]) with the service's reason, as are items it returned
// nothing or a vector of the wrong length for. It keeps the items of one
// job (their metadata included) in memory; set plan.MaxItems to bound it.
//
// Resuming: right after submitting a job, RunBatch writes plan.State,
// naming the job and the content hash of each of its items. A RunBatch
// that finds the file resumes that job instead of submitting another: it
// waits for it and takes from its output the items whose content has
// not changed since; items that the earlier run had already upserted are
// skipped by the fetch, and items the job does not cover (new or changed
// since) go to a new job. So a run killed at any point and started again
// with the same arguments submits no job twice for the same inputs —
// except if it was killed between the service's answer to the submit and
// the state file's write, a window of one file write. If a resumed job
// has failed or was cancelled, a new job is submitted for its items; a
// job that fails in the run that submitted it ends the run (the state
// file is removed, so running again submits anew). If ctx ends while
// waiting, the state file stays; for Vertex AI, Wait has then cancelled
// the job, and the next run resubmits.
//
// Of the options, [WithBatchSize] (items per Fetch and Upsert),
// [WithStoreRate], [WithRetry] (store calls), [WithDeadLetters],
// [WithProgress], [WithLogger] and [WithTotal] apply; the others are
// refused. In the [Summary], EncodeCalls counts jobs submitted.
func RunBatch(ctx context.Context, enc BatchEncoder, store index.VectorStore, namespace string, source iter.Seq2[embedding.Input, error], plan BatchPlan, opts ...Option) (Summary, error) {
	start := time.Now()
	cfg, err := newConfig(opts)
	if err == nil {
		err = checkArgs(ctx, store, source)
	}
	switch {
	case err != nil:
		return Summary{}, err
	case enc == nil:
		return Summary{}, invalid("nil batch encoder")
	case plan.Input == "" || plan.Output == "" || plan.State == "":
		return Summary{}, invalid("BatchPlan %+v: want Input, Output and State", plan)
	case plan.MaxItems < 0:
		return Summary{}, invalid("BatchPlan.MaxItems %d: want 0 (no cap) or more", plan.MaxItems)
	case cfg.checkpoint != "":
		return Summary{}, invalid("WithCheckpoint does not apply to RunBatch (BatchPlan.State keeps its place)")
	case cfg.encRate != rates{}:
		return Summary{}, invalid("WithEncoderRate does not apply to RunBatch (a job is one call)")
	case cfg.removeMissing:
		return Summary{}, invalid("WithRemoveMissing does not apply to RunBatch")
	}
	if err := driver.ValidateNamespace(namespace); err != nil {
		return Summary{}, errs.Errorf("ingest", nil, "%w", err)
	}
	j, err := newJob(ctx, batchInfo{enc.Info()}, store, namespace, cfg)
	if err != nil {
		return Summary{}, err
	}
	j.start = start
	b := &batchRun{job: j, enc: enc, plan: plan, pending: map[string]*item{}}
	b.sum = &Summary{}
	b.tally = newTally(j, b.sum)
	if b.state, err = b.loadState(); err != nil {
		return Summary{}, err
	}
	err = b.run(ctx, source)
	if err != nil && !errors.Is(err, ErrCheckpoint) && !errors.Is(err, ErrInvalidOption) {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		} else {
			err = errs.Errorf("ingest", nil, "%w", err)
		}
	}
	b.sum.StoreCalls = int(j.storeCall.Load())
	b.sum.Throttled = j.storeLim.Throttles()
	b.sum.Elapsed = time.Since(start)
	b.tally.report(true)
	return *b.sum, err
}

// batchInfo is the encoder newJob checks the namespace with; RunBatch
// never calls Encode.
type batchInfo struct{ info embedding.Info }

func (e batchInfo) Info() embedding.Info { return e.info }

func (e batchInfo) Encode(context.Context, []embedding.Input) ([][]float32, error) {
	return nil, errors.New("ingest: batch encoders have no Encode")
}

type batchRun struct {
	*job
	enc   BatchEncoder
	plan  BatchPlan
	state *jobState // of a job to resume, until it is settled
	sum   *Summary
	tally *tally

	pending map[string]*item // items that need a vector, by ID
	order   []*item          // the same, in source order (superseded ones included)
}

func (b *batchRun) run(ctx context.Context, source iter.Seq2[embedding.Input, error]) error {
	pos := 0
	var chunk []*item
	for in, err := range source {
		if err != nil && in.ID == "" {
			return fmt.Errorf("source at item %d: %w", pos, err)
		}
		it := &item{pos: pos, in: in}
		pos++
		if err == nil {
			err = checkInput(in)
		}
		if err != nil {
			it.out, it.stage, it.err = outFailed, StageSource, err
			b.settle(it)
			continue
		}
		it.content, it.hash = hashes(in)
		chunk = append(chunk, it)
		if len(chunk) == b.cfg.batchSize {
			if err := b.check(ctx, chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
		if b.plan.MaxItems > 0 && len(b.pending) >= b.plan.MaxItems {
			if err := b.flush(ctx); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
	}
	if err := b.check(ctx, chunk); err != nil {
		return err
	}
	for len(b.pending) > 0 || b.state != nil {
		if err := b.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// settle counts an item at its final outcome.
func (b *batchRun) settle(it *item) {
	b.tally.add(it)
	b.tally.report(false)
}

// check is Run's fetch-check for a batch: unchanged items are settled,
// items whose metadata alone changed are rewritten with their stored
// vector, the rest are pending a job. A later item of an ID wins over an
// earlier one still pending.
func (b *batchRun) check(ctx context.Context, chunk []*item) error {
	if len(chunk) == 0 {
		return nil
	}
	// Within the batch, the last item of each ID wins.
	last := make(map[string]*item, len(chunk))
	for _, it := range chunk {
		if p := last[it.in.ID]; p != nil {
			p.out, p.dup = outDuplicate, true
		}
		last[it.in.ID] = it
	}
	live := make([]*item, 0, len(chunk))
	ids := make([]string, 0, len(chunk))
	for _, it := range chunk {
		if it.out == outDuplicate {
			b.settle(it)
			continue
		}
		if p := b.pending[it.in.ID]; p != nil {
			p.out = outDuplicate
			delete(b.pending, it.in.ID)
			b.settle(p)
		}
		live = append(live, it)
		ids = append(ids, it.in.ID)
	}
	stored, _, err := batch.Call(ctx, b.storeLim, b.policy, len(ids), func(ctx context.Context) ([]index.Record, error) {
		b.storeCall.Add(1)
		return b.store.Fetch(ctx, b.ns, ids)
	})
	if err != nil {
		return fmt.Errorf("fetch of %d records from %q (first %q): %w", len(ids), b.ns, ids[0], err)
	}
	byID := make(map[string]index.Record, len(stored))
	for _, r := range stored {
		byID[r.ID] = r
	}
	var recs []index.Record
	var owners []*item
	for _, it := range live {
		r, ok := byID[it.in.ID]
		if ok && r.Metadata != nil {
			if tok, _ := r.Metadata.String(KeyRun); tok == b.runToken {
				it.dup = true
			}
		}
		same := func(k, v string) bool { s, ok := r.Metadata.String(k); return ok && s == v }
		switch {
		case !ok || it.dup || !same(KeyModel, b.info.Model) || !same(KeyContent, it.content) || len(r.Vector) != b.info.Dim:
			b.pending[it.in.ID] = it
			b.order = append(b.order, it)
		case !same(KeyHash, it.hash):
			recs = append(recs, b.record(it, r.Vector))
			owners = append(owners, it)
		default:
			it.out = outUnchanged
			b.settle(it)
		}
	}
	return b.upsert(ctx, recs, owners, outWritten)
}

func (b *batchRun) record(it *item, vec []float32) index.Record {
	md := make(index.Metadata, len(it.in.Metadata)+4)
	for k, v := range it.in.Metadata {
		md[k] = v
	}
	md[KeyModel], md[KeyContent], md[KeyHash], md[KeyRun] = b.info.Model, it.content, it.hash, b.runToken
	return index.Record{ID: it.in.ID, Vector: vec, Metadata: md}
}

// upsert writes recs; a record the store refuses for good makes its item
// a dead letter. The others are settled as out.
func (b *batchRun) upsert(ctx context.Context, recs []index.Record, owners []*item, out outcome) error {
	owners, err := b.upsertRecords(ctx, recs, owners, b.settle)
	if err != nil {
		return err
	}
	for _, it := range owners {
		it.out = out
		b.settle(it)
	}
	return nil
}

// flush runs one job: the one in the state file if there is one (its
// items that are still pending and unchanged come from it), else a new
// one for the pending items (at most plan.MaxItems of them).
func (b *batchRun) flush(ctx context.Context) error {
	if st := b.state; st != nil {
		job, err := b.enc.ResumeJob(ctx, st.Job)
		if err == nil {
			err = b.finish(ctx, job, st.Items)
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return err
		case errors.Is(err, errJob):
			// The job failed or was cancelled: its items go to a new one.
			if l := b.cfg.logger; l != nil {
				l.Warn("shoal: ingest: resumed batch job ended without output; submitting a new one", "job", st.Job, "err", err)
			}
		default:
			return fmt.Errorf("%w (resuming the job of %s; delete it to submit a new job)", err, b.plan.State)
		}
		b.state = nil
		return b.removeState()
	}
	var items []*item
	covered := map[string]string{}
	for _, it := range b.order {
		if b.pending[it.in.ID] != it {
			continue
		}
		if b.plan.MaxItems > 0 && len(items) == b.plan.MaxItems {
			break
		}
		items = append(items, it)
		covered[it.in.ID] = it.content
	}
	b.order = slices.DeleteFunc(b.order, func(it *item) bool { _, ok := covered[it.in.ID]; return ok || b.pending[it.in.ID] != it })
	if len(items) == 0 {
		return nil
	}
	ins := func(yield func(embedding.Input, error) bool) {
		for _, it := range items {
			if !yield(it.in, nil) {
				return
			}
		}
	}
	n, err := b.enc.WriteInputs(ctx, b.plan.Input, ins)
	if err != nil {
		return fmt.Errorf("writing %d inputs to %s: %w", len(items), b.plan.Input, err)
	}
	if n != len(items) {
		return fmt.Errorf("writing %d inputs to %s: %d written", len(items), b.plan.Input, n)
	}
	job, err := b.enc.SubmitJob(ctx, b.plan.Input, b.plan.Output)
	if err != nil {
		return fmt.Errorf("submitting a job for %d inputs (first %q): %w", len(items), items[0].in.ID, err)
	}
	b.sum.EncodeCalls++
	b.encCalls.Add(1)
	st := &jobState{Version: 1, Namespace: b.ns, Model: b.info.Model, Input: b.plan.Input, Output: b.plan.Output,
		Job: job.Name(), Items: covered}
	if err := saveState(b.plan.State, st); err != nil {
		return err
	}
	if err := b.finish(ctx, job, covered); err != nil {
		if errors.Is(err, errJob) {
			err = errors.Join(err, b.removeState())
		}
		return err
	}
	return b.removeState()
}

// errJob marks an error of a job that ended without output.
var errJob = errors.New("batch job ended without output")

// finish waits for job, reads its output and upserts the records of the
// pending items it covers (covered: ID → content hash written). A covered
// item still pending afterwards is a dead letter.
func (b *batchRun) finish(ctx context.Context, job BatchJob, covered map[string]string) error {
	if err := job.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("batch job %s: %w: %w", job.Name(), errJob, err)
	}
	mine := func(id string) *item {
		it := b.pending[id]
		if it == nil || covered[id] != it.content {
			return nil
		}
		return it
	}
	var recs []index.Record
	var owners []*item
	for r, err := range job.Records(ctx) {
		if err != nil {
			var ie *index.ItemError
			if errors.As(err, &ie) && ie.ID != "" {
				if it := mine(ie.ID); it != nil {
					it.out, it.stage, it.err = outFailed, StageEncode, err
					delete(b.pending, ie.ID)
					b.settle(it)
				}
				continue
			}
			return fmt.Errorf("reading the output of batch job %s: %w", job.Name(), err)
		}
		it := mine(r.ID)
		if it == nil {
			continue // settled already, or changed since the job was submitted
		}
		delete(b.pending, r.ID)
		if len(r.Vector) != b.info.Dim {
			it.out, it.stage = outFailed, StageEncode
			it.err = errs.Errorf("ingest", embedding.ErrBadOutput, "batch job %s gave item %q a %d-dimensional vector, want %d",
				job.Name(), r.ID, len(r.Vector), b.info.Dim)
			b.settle(it)
			continue
		}
		recs = append(recs, b.record(it, r.Vector))
		owners = append(owners, it)
		if len(recs) == b.cfg.batchSize {
			if err := b.upsert(ctx, recs, owners, outEncoded); err != nil {
				return err
			}
			recs, owners = nil, nil
		}
	}
	if err := b.upsert(ctx, recs, owners, outEncoded); err != nil {
		return err
	}
	var missing []string
	for id := range covered {
		if mine(id) != nil {
			missing = append(missing, id)
		}
	}
	slices.SortFunc(missing, func(x, y string) int { return b.pending[x].pos - b.pending[y].pos })
	for _, id := range missing {
		it := b.pending[id]
		delete(b.pending, id)
		it.out, it.stage = outFailed, StageEncode
		it.err = errs.Errorf("ingest", embedding.ErrBadOutput, "batch job %s returned nothing for item %q", job.Name(), id)
		b.settle(it)
	}
	return nil
}

func (b *batchRun) loadState() (*jobState, error) {
	raw, err := os.ReadFile(b.plan.State)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errs.Errorf("ingest", ErrCheckpoint, "%w", err)
	}
	var st jobState
	if err := json.Unmarshal(raw, &st); err != nil || st.Version != 1 || st.Job == "" {
		return nil, errs.Errorf("ingest", ErrCheckpoint, "%s: not a batch job state file of version 1 (%v); delete it to start over", b.plan.State, err)
	}
	if st.Namespace != b.ns || st.Model != b.info.Model || st.Input != b.plan.Input || st.Output != b.plan.Output {
		return nil, errs.Errorf("ingest", ErrCheckpoint, "%s names job %s of namespace %q, model %q, input %s and output %s, not %q, %q, %s and %s; delete it to start over",
			b.plan.State, st.Job, st.Namespace, st.Model, st.Input, st.Output, b.ns, b.info.Model, b.plan.Input, b.plan.Output)
	}
	return &st, nil
}

// saveState writes st atomically (writeFileAtomic).
func saveState(path string, st *jobState) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("batch job state: %w", err)
	}
	if err := writeFileAtomic(path, raw); err != nil {
		return fmt.Errorf("batch job state %s (job %s submitted): %w", path, st.Job, err)
	}
	return nil
}

func (b *batchRun) removeState() error {
	if err := os.Remove(b.plan.State); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("batch job state: %w", err)
	}
	return nil
}
