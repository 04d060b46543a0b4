package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/search"
)

// SaveVersion is the version of the format [Session.Save] writes and
// [Resume] reads.
const SaveVersion = 1

// savedSession is the JSON form of a session, version 1.
type savedSession struct {
	Version   int          `json:"version"`
	Namespace string       `json:"namespace"`
	Bucket    savedBucket  `json:"bucket"`
	Marks     []savedMark  `json:"marks"`
	Rounds    []savedRound `json:"rounds"`
	// Background lists the background sample's IDs once it is drawn.
	Background *[]string `json:"background,omitempty"`
}

type savedBucket struct {
	Positives []savedExample `json:"positives"`
	Negatives []savedExample `json:"negatives,omitempty"`
}

type savedExample struct {
	ID     string      `json:"id,omitempty"`
	Vector []float32   `json:"vector,omitempty"`
	Input  *savedInput `json:"input,omitempty"`
}

type savedInput struct {
	ID       string `json:"id,omitempty"`
	Text     string `json:"text,omitempty"`
	Image    []byte `json:"image,omitempty"`
	URI      string `json:"uri,omitempty"`
	MIMEType string `json:"mimeType,omitempty"`
}

type savedMark struct {
	ID       string `json:"id"`
	Relevant bool   `json:"relevant"`
}

type savedRound struct {
	Strategy           Strategy `json:"strategy"`
	Reason             string   `json:"reason,omitempty"`
	IDs                []string `json:"ids"`
	TrainedRelevant    int      `json:"trainedRelevant,omitempty"`
	TrainedNotRelevant int      `json:"trainedNotRelevant,omitempty"`
	ClassifierAUC      *float64 `json:"classifierAUC,omitempty"`
	SimilarityAUC      *float64 `json:"similarityAUC,omitempty"`
	ElapsedNanos       int64    `json:"elapsedNanos,omitempty"`
}

// Save writes the session as JSON (format version [SaveVersion]): the
// namespace, the bucket, the marks, the rounds and the background
// sample's IDs. Vectors of the store are not written; [Resume] fetches
// them again. Options are not saved either: pass the same ones to Resume.
func (s *Session) Save(w io.Writer) error {
	s.mu.Lock()
	out := savedSession{Version: SaveVersion, Namespace: s.namespace, Bucket: saveBucket(s.bucket),
		Marks: make([]savedMark, len(s.order)), Rounds: make([]savedRound, len(s.rounds))}
	for i, id := range s.order {
		out.Marks[i] = savedMark{ID: id, Relevant: s.marks[id].relevant}
	}
	for i, r := range s.rounds {
		sr := savedRound{Strategy: r.Strategy, Reason: r.Reason, IDs: slices.Clone(r.IDs),
			TrainedRelevant: r.TrainedRelevant, TrainedNotRelevant: r.TrainedNotRelevant, ElapsedNanos: int64(r.Elapsed)}
		if r.Checked {
			c, sim := r.ClassifierAUC, r.SimilarityAUC
			sr.ClassifierAUC, sr.SimilarityAUC = &c, &sim
		}
		out.Rounds[i] = sr
	}
	if s.bg != nil {
		ids := slices.Clone(s.bg.ids)
		if ids == nil {
			ids = []string{}
		}
		out.Background = &ids
	}
	s.mu.Unlock()
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		return errorf(nil, "save session: %w", err)
	}
	return nil
}

// Resume reads a session written by [Session.Save] and continues it over
// store with opts (options are not saved; pass the ones the session was
// started with). It fetches the marked items' vectors again, in one Fetch:
// a marked ID the namespace no longer holds is an error wrapping
// [ErrUnknownID] that names it. Data that is not a saved session, of
// another version, or inconsistent (a bad bucket or ID, an ID marked
// twice) is an error wrapping [ErrBadSession].
func Resume(ctx context.Context, r io.Reader, store index.VectorStore, opts ...Option) (*Session, error) {
	switch {
	case ctx == nil:
		return nil, errorf(index.ErrInvalidArgument, "Resume: nil context")
	case r == nil:
		return nil, errorf(index.ErrInvalidArgument, "Resume: nil reader")
	case store == nil:
		return nil, errorf(ErrInvalidOption, "Resume: nil store")
	}
	var in savedSession
	dec := json.NewDecoder(r)
	if err := dec.Decode(&in); err != nil {
		return nil, errorf(nil, "%w: %w", ErrBadSession, err)
	}
	if in.Version != SaveVersion {
		return nil, errorf(nil, "%w: format version %d, this version of Shoal reads %d", ErrBadSession, in.Version, SaveVersion)
	}
	bucket := in.Bucket.bucket()
	if err := bucket.Validate(); err != nil {
		return nil, errorf(nil, "%w: %w", ErrBadSession, err)
	}
	seen := make(map[string]bool, len(in.Marks))
	ids := make([]string, len(in.Marks))
	for i, m := range in.Marks {
		if err := driver.ValidateID(m.ID); err != nil {
			return nil, errorf(nil, "%w: mark %d: %w", ErrBadSession, i, err)
		}
		if seen[m.ID] {
			return nil, errorf(nil, "%w: id %q is marked twice", ErrBadSession, m.ID)
		}
		seen[m.ID] = true
		ids[i] = m.ID
	}
	for i, r := range in.Rounds {
		for _, id := range r.IDs {
			if err := driver.ValidateID(id); err != nil {
				return nil, errorf(nil, "%w: round %d: %w", ErrBadSession, i, err)
			}
		}
		for _, auc := range []*float64{r.ClassifierAUC, r.SimilarityAUC} {
			if auc != nil && !(*auc >= 0 && *auc <= 1) {
				return nil, errorf(nil, "%w: round %d: AUC %v not in [0, 1]", ErrBadSession, i, *auc)
			}
		}
		if (r.ClassifierAUC == nil) != (r.SimilarityAUC == nil) {
			return nil, errorf(nil, "%w: round %d has one AUC of the two", ErrBadSession, i)
		}
	}
	if in.Background != nil {
		for _, id := range *in.Background {
			if err := driver.ValidateID(id); err != nil {
				return nil, errorf(nil, "%w: background: %w", ErrBadSession, err)
			}
		}
	}
	s, err := NewSession(store, in.Namespace, bucket, opts...)
	if err != nil {
		if errors.Is(err, ErrInvalidOption) {
			return nil, err
		}
		return nil, errorf(nil, "%w: %w", ErrBadSession, err)
	}
	if len(ids) > 0 {
		recs, err := store.Fetch(ctx, in.Namespace, ids)
		if err != nil {
			return nil, errorf(nil, "fetch marked items from namespace %q: %w", in.Namespace, err)
		}
		vecs := make(map[string][]float32, len(recs))
		for _, r := range recs {
			vecs[r.ID] = s.prepare(r.Vector)
		}
		var missing []string
		for _, id := range ids {
			if _, ok := vecs[id]; !ok {
				missing = append(missing, fmt.Sprintf("%q", id))
			}
		}
		if len(missing) > 0 {
			return nil, errorf(nil, "%w: namespace %q has no record %s", ErrUnknownID, in.Namespace, strings.Join(missing, ", "))
		}
		for _, m := range in.Marks {
			s.marks[m.ID] = &markEntry{relevant: m.Relevant, vec: vecs[m.ID]}
			s.order = append(s.order, m.ID)
		}
		s.version = 1
	}
	for i, r := range in.Rounds {
		round := Round{Index: i, Strategy: r.Strategy, Reason: r.Reason, IDs: slices.Clone(r.IDs),
			TrainedRelevant: r.TrainedRelevant, TrainedNotRelevant: r.TrainedNotRelevant,
			ClassifierAUC: math.NaN(), SimilarityAUC: math.NaN(), Elapsed: time.Duration(r.ElapsedNanos)}
		if r.ClassifierAUC != nil {
			round.Checked, round.ClassifierAUC, round.SimilarityAUC = true, *r.ClassifierAUC, *r.SimilarityAUC
		}
		s.rounds = append(s.rounds, round)
		for _, id := range r.IDs {
			s.shown[id] = struct{}{}
		}
	}
	if in.Background != nil {
		s.bg = &background{ids: slices.Clone(*in.Background)}
	}
	return s, nil
}

func saveBucket(b search.Bucket) savedBucket {
	conv := func(es []search.Example) []savedExample {
		if len(es) == 0 {
			return nil
		}
		out := make([]savedExample, len(es))
		for i, e := range es {
			out[i] = savedExample{ID: e.ID, Vector: e.Vector}
			if e.Input != nil {
				out[i].Input = &savedInput{ID: e.Input.ID, Text: e.Input.Text, Image: e.Input.Image, URI: e.Input.URI, MIMEType: e.Input.MIMEType}
			}
		}
		return out
	}
	return savedBucket{Positives: conv(b.Positives), Negatives: conv(b.Negatives)}
}

func (b savedBucket) bucket() search.Bucket {
	conv := func(es []savedExample) []search.Example {
		if len(es) == 0 {
			return nil
		}
		out := make([]search.Example, len(es))
		for i, e := range es {
			out[i] = search.Example{ID: e.ID, Vector: e.Vector}
			if e.Input != nil {
				out[i].Input = &embedding.Input{ID: e.Input.ID, Text: e.Input.Text, Image: e.Input.Image, URI: e.Input.URI, MIMEType: e.Input.MIMEType}
			}
		}
		return out
	}
	return search.Bucket{Positives: conv(b.Positives), Negatives: conv(b.Negatives)}
}
