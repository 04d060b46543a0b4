package ingest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/batch"
	"github.com/shoalhq/shoal/internal/errs"
)

// Metadata keys that Run adds to every record it writes. Keys starting with
// [ReservedPrefix] are refused in an input's metadata.
const (
	// ReservedPrefix starts every key Run owns.
	ReservedPrefix = "_shoal_"
	// KeyModel holds the encoder's Info().Model.
	KeyModel = "_shoal_model"
	// KeyContent holds a hash of what is sent to the model (Text, Image,
	// Decoded pixels, URI, MIMEType).
	KeyContent = "_shoal_content"
	// KeyHash holds a hash of the content and the input's metadata: a
	// record whose KeyHash and KeyModel match the input is up to date.
	KeyHash = "_shoal_hash"
	// KeyRun holds a random token of the Run call that wrote the record; it
	// lets a run tell a duplicate ID in its own source from an earlier run.
	KeyRun = "_shoal_run"
)

// Errors returned by this package; test with errors.Is. Errors from the
// store or the encoder are passed on wrapped, so index's and embedding's
// sentinels (index.ErrDimension, index.ErrResourceExhausted, …) match too.
var (
	// ErrInvalidOption reports an option with an unusable value, or a nil
	// argument.
	ErrInvalidOption = errors.New("ingest: invalid option")
	// ErrModelMismatch reports a namespace that holds another model's
	// vectors (one namespace holds one model's vectors).
	ErrModelMismatch = errors.New("ingest: namespace holds another model")
	// ErrCheckpoint reports a checkpoint file that does not belong to this
	// run (another namespace, model or source) or cannot be read.
	ErrCheckpoint = errors.New("ingest: unusable checkpoint")
	// ErrDuplicate is the reason reported for an item whose ID appears
	// again later in the source: the later item wins.
	ErrDuplicate = errors.New("ingest: duplicate ID")
)

// Stage names where a dead letter failed.
type Stage string

// Stages of a dead letter.
const (
	StageSource Stage = "source" // the source yielded an error for it, or its ID or metadata is invalid
	StageEncode Stage = "encode" // the encoder refused it for good
	StageUpsert Stage = "upsert" // the store refused it for good
)

// DeadLetter is an item that failed for good: it is not in the store (an
// older version of it may be), and the run went on.
type DeadLetter struct {
	ID       string
	Position int // in the source, from 0
	Stage    Stage
	Err      error
}

// Summary counts what a run did. Read + Resumed is the items of the source
// seen; Written + Unchanged + Failed + Superseded == Read once the run has
// completed.
type Summary struct {
	// Resumed counts items skipped through the checkpoint file.
	Resumed int
	// Read counts the items taken from the source after the checkpoint.
	Read int
	// Written counts records upserted: Encoded of them with a new vector,
	// the rest with new metadata and the stored vector.
	Written, Encoded int
	// Unchanged counts items already in the store with the same content,
	// model and metadata.
	Unchanged int
	// Failed counts dead letters.
	Failed int
	// Duplicates counts IDs that came again in the source (the later item
	// wins), once per repeat; DuplicateIDs keeps the first
	// [KeepDeadLetters]. Superseded counts the earlier items of such pairs
	// that were never written because the later one came while they were
	// in flight (the others were written, then replaced).
	Duplicates   int
	DuplicateIDs []string
	Superseded   int
	// Removed counts records deleted by [WithRemoveMissing].
	Removed int
	// EncodeCalls and StoreCalls count calls made, retries included.
	EncodeCalls, StoreCalls int
	// Throttled counts calls refused for a quota (encoder and store).
	Throttled int
	// DeadLetters keeps the first [KeepDeadLetters] dead letters.
	DeadLetters []DeadLetter
	// Elapsed is the run's duration.
	Elapsed time.Duration
}

// Progress is a snapshot of a run, passed to [WithProgress].
type Progress struct {
	// Read, Done (written or unchanged), Failed and Duplicates count items
	// as in [Summary]; Resumed those skipped through the checkpoint.
	Read, Done, Failed, Duplicates, Resumed int
	// Rate is items settled per second since the start.
	Rate float64
	// ETA is the time left at Rate, when [WithTotal] was given.
	ETA time.Duration
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// Finished is true on the last call.
	Finished bool
}

type outcome uint8

const (
	outPending outcome = iota
	outUnchanged
	outWritten
	outEncoded
	outFailed
	outDuplicate
)

const (
	statePending int32 = iota
	stateWriting
	stateSuperseded
)

// item is one source item on its way through the run.
type item struct {
	pos     int
	in      embedding.Input
	content string // hash of the content
	hash    string // hash of content and metadata
	prev    *item  // an earlier item with the same ID still in flight
	state   atomic.Int32
	settled chan struct{} // closed when this item's batch is done with it

	// Set by the batch's worker, read by the consumer after the batch.
	out   outcome
	stage Stage
	err   error
	dup   bool // the store held a record of this run under its ID
}

// Run indexes a source into namespace of store: it reads the source once,
// in order, in batches; for each batch it fetches the stored records by
// ID, encodes the items that are new or whose content or model changed,
// and upserts them with their metadata plus [KeyModel], [KeyContent],
// [KeyHash] and [KeyRun]. Items whose record is up to date are left alone;
// an item whose metadata alone changed is rewritten with its stored vector
// (no encoding). So a second run over an edited source is an incremental
// sync: added and changed items are written, removed ones deleted with
// [WithRemoveMissing].
//
// Sources: any iter.Seq2[embedding.Input, error], such as
// embedding.Inputs(slice), dataset.ScanFolder or dataset.ScanManifest. A
// source error whose input has an ID is a dead letter for that item and
// the run goes on; one without an ID (a manifest that cannot be read) ends
// the run.
//
// # Resuming
//
// Killed at any point (SIGKILL included) and run again with the same
// source, store, namespace and encoder, Run finishes with the namespace
// holding exactly one record per source ID (the last item with that ID),
// with the vector the encoder gives for it, and no other record that Run
// wrote. It re-encodes only items whose upsert had not returned when the
// run stopped: at most 2·[WithConcurrency] batches (the batches in
// flight). This holds on every VectorStore, because what is indexed is
// read back from the records themselves (the metadata keys above, checked
// with batched Fetch), not from a side file; the store must make a record
// durable when Upsert returns. [WithCheckpoint] adds a file of the source
// position so that a restart also skips reading back the records before
// it. Dead letters are not in the store, so a later run without a
// checkpoint tries them again.
//
// # Bad input
//
// An ID seen twice: the later item wins; the earlier is counted in
// Summary.Duplicates (found while both are in flight, or when the store
// holds a record written by this very run). An encoder whose dimension
// differs from the namespace's vectors (or a namespace holding another
// model's, per KeyModel) is refused before any write, naming both.
// Cancelling ctx returns promptly with ctx's error; what was acknowledged
// stays, and a new Run resumes.
//
// # Quotas
//
// [WithEncoderRate] and [WithStoreRate] cap calls and items per second.
// Errors wrapping index.ErrResourceExhausted or carrying a retry-after
// hint (HTTP 429, gRPC RESOURCE_EXHAUSTED in the backends) are retried
// after the hint and halve that service's concurrency, which then grows
// back by one per window of successful calls (AIMD).
//
// The returned Summary is valid with or without an error.
func Run(ctx context.Context, enc embedding.Encoder, store index.VectorStore, namespace string, source iter.Seq2[embedding.Input, error], opts ...Option) (Summary, error) {
	start := time.Now()
	cfg, err := newConfig(opts)
	if err == nil {
		err = checkArgs(ctx, store, source)
	}
	switch {
	case err != nil:
		return Summary{}, err
	case enc == nil:
		return Summary{}, invalid("nil encoder")
	case cfg.migrateOnly != "":
		return Summary{}, invalid("%s applies to Migrate, not Run", cfg.migrateOnly)
	}
	return run(ctx, enc, store, namespace, source, cfg, start)
}

// checkArgs reports the nil arguments that Run and RunBatch share.
func checkArgs(ctx context.Context, store index.VectorStore, source iter.Seq2[embedding.Input, error]) error {
	switch {
	case ctx == nil:
		return invalid("nil context")
	case store == nil:
		return invalid("nil store")
	case source == nil:
		return invalid("nil source")
	}
	return nil
}

// run is Run after its arguments are checked; Migrate calls it too.
func run(ctx context.Context, enc embedding.Encoder, store index.VectorStore, namespace string, source iter.Seq2[embedding.Input, error], cfg config, start time.Time) (Summary, error) {
	if err := driver.ValidateNamespace(namespace); err != nil {
		return Summary{}, errs.Errorf("ingest", nil, "%w", err)
	}
	j, err := newJob(ctx, enc, store, namespace, cfg)
	if err != nil {
		return Summary{}, err
	}
	j.start = start
	return j.run(ctx, source)
}

type job struct {
	enc       embedding.Encoder
	info      embedding.Info
	store     index.VectorStore
	ns        string
	cfg       config
	policy    batch.Policy
	encLim    *batch.Limiter
	storeLim  *batch.Limiter
	runToken  string
	start     time.Time
	encCalls  atomic.Int64
	storeCall atomic.Int64

	mu     sync.Mutex
	flight map[string]*item // the latest item of each ID in flight
}

func throttled(err error) bool {
	_, hint := batch.RetryAfter(err)
	return hint || errors.Is(err, index.ErrResourceExhausted)
}

func newJob(ctx context.Context, enc embedding.Encoder, store index.VectorStore, ns string, cfg config) (*job, error) {
	info := enc.Info()
	if info.Dim < 1 {
		return nil, invalid("encoder %q reports dimension %d", info.Model, info.Dim)
	}
	if info.MaxBatch > 0 && cfg.batchSize > info.MaxBatch {
		cfg.batchSize = info.MaxBatch
	}
	if err := checkNamespace(ctx, store, ns, info); err != nil {
		return nil, err
	}
	encLim, err := batch.NewLimiter(batch.LimiterConfig{RequestsPerSecond: cfg.encRate.requests,
		ItemsPerSecond: cfg.encRate.items, MaxConcurrency: cfg.concurrency, Throttled: throttled})
	if err != nil {
		return nil, invalid("%v", err)
	}
	storeLim, err := batch.NewLimiter(batch.LimiterConfig{RequestsPerSecond: cfg.storeRate.requests,
		ItemsPerSecond: cfg.storeRate.items, MaxConcurrency: 2 * cfg.concurrency, Throttled: throttled})
	if err != nil {
		return nil, invalid("%v", err)
	}
	return &job{
		enc: enc, info: info, store: store, ns: ns, cfg: cfg,
		policy:   batch.Policy{MaxAttempts: cfg.attempts, BaseDelay: cfg.baseDelay, MaxDelay: cfg.maxDelay},
		encLim:   encLim,
		storeLim: storeLim,
		runToken: strconv.FormatUint(rand.Uint64(), 36),
		flight:   map[string]*item{},
	}, nil
}

// dimensioner is what a store with one dimension for all namespaces
// implements (index/memory.Store).
type dimensioner interface{ Dimension() int }

// checkNamespace refuses an encoder whose vectors cannot go into ns: a
// store-wide dimension or the namespace's vectors of another length, or
// records of another model. It reads one record.
func checkNamespace(ctx context.Context, store index.VectorStore, ns string, info embedding.Info) error {
	if d, ok := store.(dimensioner); ok && d.Dimension() > 0 && d.Dimension() != info.Dim {
		return errs.Errorf("ingest", nil, "store holds %d-dimensional vectors, encoder %q gives %d: %w",
			d.Dimension(), info.Model, info.Dim, index.ErrDimension)
	}
	scanCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for r, err := range store.Scan(scanCtx, ns, index.Filter{}) {
		if err != nil {
			return errs.Errorf("ingest", nil, "reading namespace %q: %w", ns, err)
		}
		if len(r.Vector) != info.Dim {
			return errs.Errorf("ingest", nil, "namespace %q holds %d-dimensional vectors (record %q), encoder %q gives %d: %w",
				ns, len(r.Vector), r.ID, info.Model, info.Dim, index.ErrDimension)
		}
		if m, ok := r.Metadata.String(KeyModel); ok && m != info.Model {
			return errs.Errorf("ingest", ErrModelMismatch, "namespace %q holds vectors of model %q (record %q), encoder is %q; use another namespace (see Migrate)",
				ns, m, r.ID, info.Model)
		}
		break
	}
	return nil
}

// window is the batches in flight: batch.Run holds at most 2·Concurrency.
func (j *job) window() int { return 2 * j.cfg.concurrency }

func (j *job) run(ctx context.Context, source iter.Seq2[embedding.Input, error]) (Summary, error) {
	var sum Summary
	cp, err := loadCheckpoint(j.cfg.checkpoint, j.ns, j.info.Model)
	if err != nil {
		return sum, err
	}
	var seen map[string]struct{}
	if j.cfg.removeMissing {
		seen = map[string]struct{}{}
	}
	var srcErr error // a fatal source error
	var resumed atomic.Int64
	skip, lastID := cp.Position, cp.LastID
	src := func(yield func(*item, error) bool) {
		pos := 0
		for in, err := range source {
			if pos < skip {
				if pos == skip-1 && in.ID != lastID {
					srcErr = errs.Errorf("ingest", ErrCheckpoint, "%s covers %d items ending with %q, but the source has %q there; delete it to start over",
						j.cfg.checkpoint, skip, lastID, in.ID)
					yield(nil, srcErr)
					return
				}
				if seen != nil && in.ID != "" {
					seen[in.ID] = struct{}{}
				}
				pos++
				resumed.Add(1)
				continue
			}
			if err != nil && in.ID == "" {
				srcErr = errs.Errorf("ingest", nil, "source at item %d: %w", pos, err)
				yield(nil, srcErr)
				return
			}
			it := &item{pos: pos, in: in, settled: make(chan struct{})}
			pos++
			if seen != nil {
				seen[in.ID] = struct{}{}
			}
			if err == nil {
				err = checkInput(in)
			}
			if err != nil {
				it.out, it.stage, it.err = outFailed, StageSource, err
			} else {
				it.content, it.hash = hashes(in)
				j.mu.Lock()
				if p := j.flight[in.ID]; p != nil {
					it.prev = p
					p.state.CompareAndSwap(statePending, stateSuperseded)
				}
				j.flight[in.ID] = it
				j.mu.Unlock()
			}
			if !yield(it, nil) {
				return
			}
		}
	}
	bcfg := batch.Config[*item]{Size: j.cfg.batchSize, Concurrency: j.window(), MaxAttempts: 1}
	tally := newTally(j, &sum)
	var runErr error
	for res, err := range batch.Run(ctx, src, j.work, bcfg) {
		if err != nil {
			runErr = err
			break
		}
		it := res.In
		j.mu.Lock()
		if j.flight[it.in.ID] == it {
			delete(j.flight, it.in.ID)
		}
		j.mu.Unlock()
		sum.Resumed = int(resumed.Load())
		tally.add(it)
		cp.advance(it)
		if j.cfg.checkpoint != "" && time.Since(cp.written) >= j.cfg.checkpointEvery {
			if err := cp.save(j.cfg.checkpoint); err != nil {
				runErr = err
				break
			}
		}
		tally.report(false)
	}
	if runErr == nil && ctx.Err() != nil {
		runErr = context.Cause(ctx)
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) {
			if ctx.Err() != nil {
				runErr = context.Cause(ctx)
			}
		} else if !errors.Is(runErr, ErrCheckpoint) && (srcErr == nil || runErr != srcErr) {
			runErr = errs.Errorf("ingest", nil, "%w", runErr)
		}
	}
	if j.cfg.checkpoint != "" {
		if runErr != nil {
			if err := cp.save(j.cfg.checkpoint); err != nil {
				runErr = errors.Join(runErr, err)
			}
		} else if err := removeCheckpoint(j.cfg.checkpoint); err != nil {
			runErr = err
		}
	}
	if runErr == nil && seen != nil {
		n, err := j.removeMissing(ctx, seen)
		sum.Removed = n
		runErr = err
	}
	sum.Resumed = int(resumed.Load())
	sum.EncodeCalls = int(j.encCalls.Load())
	sum.StoreCalls = int(j.storeCall.Load())
	sum.Throttled = j.encLim.Throttles() + j.storeLim.Throttles()
	sum.Elapsed = time.Since(j.start)
	tally.report(true)
	return sum, runErr
}

// checkInput checks what the store would refuse for the item alone.
func checkInput(in embedding.Input) error {
	if err := driver.ValidateID(in.ID); err != nil {
		return errs.Errorf("ingest", nil, "%w", err)
	}
	for k := range in.Metadata {
		if strings.HasPrefix(k, ReservedPrefix) {
			return errs.Errorf("ingest", index.ErrInvalidMetadata, "metadata key %q: the prefix %q is reserved", k, ReservedPrefix)
		}
	}
	return nil
}

// work runs one batch: fetch, encode what needs it, upsert. An error it
// returns ends the run (a service still failing after the retries, a
// cancelled context); items that fail for good are marked, not returned.
func (j *job) work(ctx context.Context, items []*item) ([]struct{}, error) {
	defer func() {
		for _, it := range items {
			if it.settled != nil {
				select {
				case <-it.settled:
				default:
					close(it.settled)
				}
			}
		}
	}()
	live := make([]*item, 0, len(items))
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if it.out != outPending {
			continue // a dead letter from the source
		}
		if it.state.Load() == stateSuperseded {
			it.out = outDuplicate
			continue
		}
		live = append(live, it)
		ids = append(ids, it.in.ID)
	}
	if len(live) == 0 {
		return make([]struct{}, len(items)), nil
	}
	stored, _, err := batch.Call(ctx, j.storeLim, j.policy, len(ids), func(ctx context.Context) ([]index.Record, error) {
		j.storeCall.Add(1)
		return j.store.Fetch(ctx, j.ns, ids)
	})
	if err != nil {
		return nil, fmt.Errorf("fetch of %d records from %q (first %q): %w", len(ids), j.ns, ids[0], err)
	}
	byID := make(map[string]index.Record, len(stored))
	for _, r := range stored {
		byID[r.ID] = r
	}
	type write struct {
		it  *item
		vec []float32
	}
	writes := make([]write, 0, len(live))
	var toEncode []*item
	for _, it := range live {
		r, ok := byID[it.in.ID]
		if ok && r.Metadata != nil {
			if tok, _ := r.Metadata.String(KeyRun); tok == j.runToken {
				it.dup = true // written earlier in this run under the same ID
			}
		}
		forced := it.prev != nil && it.prev.state.Load() != stateSuperseded
		if forced {
			it.dup = true // the earlier item is (being) written: ours replaces it
		}
		same := func(k, v string) bool { s, ok := r.Metadata.String(k); return ok && s == v }
		switch {
		case !ok || forced || !same(KeyModel, j.info.Model) || !same(KeyContent, it.content) || len(r.Vector) != j.info.Dim:
			toEncode = append(toEncode, it)
		case !same(KeyHash, it.hash):
			writes = append(writes, write{it, r.Vector})
		default:
			it.out = outUnchanged
		}
	}
	if len(toEncode) > 0 {
		vecs, err := j.encode(ctx, toEncode)
		if err != nil {
			return nil, err
		}
		for i, it := range toEncode {
			if vecs[i] != nil {
				writes = append(writes, write{it, vecs[i]})
			}
		}
	}
	recs := make([]index.Record, 0, len(writes))
	owners := make([]*item, 0, len(writes))
	for _, w := range writes {
		if !w.it.state.CompareAndSwap(statePending, stateWriting) {
			w.it.out = outDuplicate // superseded while we worked
			continue
		}
		if p := w.it.prev; p != nil && p.state.Load() == stateWriting {
			// An earlier item with this ID may be in an upsert right now:
			// ours must land after it.
			select {
			case <-p.settled:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		md := make(index.Metadata, len(w.it.in.Metadata)+4)
		for k, v := range w.it.in.Metadata {
			md[k] = v
		}
		md[KeyModel], md[KeyContent], md[KeyHash], md[KeyRun] = j.info.Model, w.it.content, w.it.hash, j.runToken
		recs = append(recs, index.Record{ID: w.it.in.ID, Vector: w.vec, Metadata: md})
		owners = append(owners, w.it)
		if w.it.out == outPending {
			w.it.out = outWritten
		}
	}
	if _, err := j.upsertRecords(ctx, recs, owners, nil); err != nil {
		return nil, err
	}
	return make([]struct{}, len(items)), nil
}

// upsertRecords writes recs (owners[i] is recs[i]'s item) through the
// store's limiter and retry policy. A record the store refuses for good
// (an *index.ItemError naming it) becomes its item's dead letter, passed
// to failed when not nil, and the call is sent again without it. It
// returns the owners of the records written; any other error ends the run.
func (j *job) upsertRecords(ctx context.Context, recs []index.Record, owners []*item, failed func(*item)) ([]*item, error) {
	for len(recs) > 0 {
		_, _, err := batch.Call(ctx, j.storeLim, j.policy, len(recs), func(ctx context.Context) (struct{}, error) {
			j.storeCall.Add(1)
			return struct{}{}, j.store.Upsert(ctx, j.ns, recs)
		})
		if err == nil {
			break
		}
		var ie *index.ItemError
		if ctx.Err() == nil && !batch.IsRetryable(err) && errors.As(err, &ie) && ie.Index >= 0 && ie.Index < len(recs) {
			bad := owners[ie.Index]
			bad.out, bad.stage, bad.err = outFailed, StageUpsert, err
			if failed != nil {
				failed(bad)
			}
			recs = slices.Delete(recs, ie.Index, ie.Index+1)
			owners = slices.Delete(owners, ie.Index, ie.Index+1)
			continue
		}
		return nil, fmt.Errorf("upsert of %d records into %q (first %q): %w", len(recs), j.ns, recs[0].ID, err)
	}
	return owners, nil
}

// encode returns one vector per item, nil for an item the encoder refused
// for good (marked as a dead letter). A batch refused with a permanent
// error is split in halves until the bad items are alone. An error it
// returns ends the run.
func (j *job) encode(ctx context.Context, items []*item) ([][]float32, error) {
	ins := make([]embedding.Input, len(items))
	for i, it := range items {
		ins[i] = it.in
	}
	vecs, _, err := batch.Call(ctx, j.encLim, j.policy, len(ins), func(ctx context.Context) ([][]float32, error) {
		j.encCalls.Add(1)
		v, err := j.enc.Encode(ctx, ins)
		if err == nil {
			err = embedding.CheckOutput(j.info, ins, v)
		}
		return v, err
	})
	switch {
	case err == nil:
		for _, it := range items {
			it.out = outEncoded
		}
		return vecs, nil
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	case batch.IsRetryable(err) || errors.Is(err, embedding.ErrBadOutput):
		return nil, fmt.Errorf("encode of %d inputs (first %q): %w", len(ins), ins[0].ID, err)
	case len(items) == 1:
		items[0].out, items[0].stage, items[0].err = outFailed, StageEncode, err
		return [][]float32{nil}, nil
	}
	half := len(items) / 2
	a, err := j.encode(ctx, items[:half])
	if err != nil {
		return nil, err
	}
	b, err := j.encode(ctx, items[half:])
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

// tally turns settled items into the summary, dead letters and progress.
type tally struct {
	j       *job
	sum     *Summary
	last    time.Time
	lastLog time.Time
}

func newTally(j *job, sum *Summary) *tally { return &tally{j: j, sum: sum, lastLog: time.Now()} }

func (t *tally) add(it *item) {
	s := t.sum
	s.Read++
	if it.dup && it.out != outDuplicate {
		t.duplicate(it.in.ID, it.pos)
	}
	switch it.out {
	case outUnchanged:
		s.Unchanged++
	case outWritten:
		s.Written++
	case outEncoded:
		s.Written++
		s.Encoded++
	case outDuplicate:
		s.Superseded++
		t.duplicate(it.in.ID, it.pos)
	case outFailed:
		s.Failed++
		dl := DeadLetter{ID: it.in.ID, Position: it.pos, Stage: it.stage, Err: it.err}
		if len(s.DeadLetters) < KeepDeadLetters {
			s.DeadLetters = append(s.DeadLetters, dl)
		}
		if t.j.cfg.deadLetters != nil {
			t.j.cfg.deadLetters(dl)
		}
		if l := t.j.cfg.logger; l != nil {
			l.Warn("shoal: ingest: dead letter", "id", dl.ID, "position", dl.Position, "stage", string(dl.Stage), "err", dl.Err)
		}
	}
}

func (t *tally) duplicate(id string, pos int) {
	s := t.sum
	s.Duplicates++
	if len(s.DuplicateIDs) < KeepDeadLetters {
		s.DuplicateIDs = append(s.DuplicateIDs, id)
	}
	if l := t.j.cfg.logger; l != nil {
		l.Warn("shoal: ingest: duplicate ID, the later item wins", "id", id, "position", pos)
	}
}

func (t *tally) report(final bool) {
	now := time.Now()
	if !final && now.Sub(t.last) < 100*time.Millisecond {
		return
	}
	t.last = now
	s := t.sum
	el := now.Sub(t.j.start)
	p := Progress{Read: s.Read, Done: s.Written + s.Unchanged, Failed: s.Failed, Duplicates: s.Duplicates,
		Resumed: s.Resumed, Elapsed: el, Finished: final}
	if el > 0 {
		p.Rate = float64(s.Read) / el.Seconds()
	}
	if t.j.cfg.total > 0 && p.Rate > 0 {
		left := t.j.cfg.total - s.Read - s.Resumed
		p.ETA = time.Duration(float64(max(0, left)) / p.Rate * float64(time.Second))
	}
	if t.j.cfg.progress != nil {
		t.j.cfg.progress(p)
	}
	if l := t.j.cfg.logger; l != nil && (final || now.Sub(t.lastLog) >= 10*time.Second) {
		t.lastLog = now
		l.Info("shoal: ingest", "namespace", t.j.ns, "read", p.Read, "done", p.Done, "failed", p.Failed,
			"duplicates", p.Duplicates, "resumed", p.Resumed, "rate", p.Rate, "eta", p.ETA, "finished", final)
	}
}

// removeMissing deletes the namespace's records whose IDs are not in seen.
func (j *job) removeMissing(ctx context.Context, seen map[string]struct{}) (int, error) {
	var gone []string
	for r, err := range j.store.Scan(ctx, j.ns, index.Filter{}) {
		if err != nil {
			return 0, errs.Errorf("ingest", nil, "scan of %q for removed items: %w", j.ns, err)
		}
		if _, ok := seen[r.ID]; !ok {
			gone = append(gone, r.ID)
		}
	}
	n := 0
	for len(gone) > 0 {
		chunk := gone[:min(len(gone), 1000)]
		_, _, err := batch.Call(ctx, j.storeLim, j.policy, len(chunk), func(ctx context.Context) (struct{}, error) {
			j.storeCall.Add(1)
			return struct{}{}, j.store.Delete(ctx, j.ns, chunk)
		})
		if err != nil {
			return n, errs.Errorf("ingest", nil, "delete of %d removed records from %q: %w", len(chunk), j.ns, err)
		}
		n += len(chunk)
		gone = gone[len(chunk):]
	}
	return n, nil
}
