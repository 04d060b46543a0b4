// Command service is the small curation service a team writes on Shoal: it
// indexes a labeled folder of images, serves filtered bucket search over
// HTTP, and runs a relevance-feedback round on the user's marks.
//
//	go run ./examples/service                       # the shipped Fashion-MNIST sample
//	go run ./examples/service -data DIR -addr :8080 # a folder with a labels.csv
//
// Then, with IDs from the folder (the sample's are "test-00000" …):
//
//	curl 'localhost:8080/search?pos=test-00000&pos=test-00017&label=Shirt&k=10'
//	curl -d '{"pos":["test-00000"],"relevant":["test-00017"],"notRelevant":["test-00001"],"k":10}' localhost:8080/feedback
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"strconv"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/dataset"
	"github.com/shoalhq/shoal/embedding/local"
	shipped "github.com/shoalhq/shoal/examples/internal/dataset"
	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search"
)

func main() {
	data := flag.String("data", "", "a labeled folder: images and a labels.csv of path,label rows (default: the shipped sample)")
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()
	ctx := context.Background()
	inputs, err := load(*data)
	if err != nil {
		log.Fatal(err)
	}
	svc, err := newService(ctx, inputs)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("indexed %d items in namespace %s; listening on http://%s", len(inputs), svc.ns, *addr)
	log.Fatal(http.ListenAndServe(*addr, svc))
}

func load(dir string) ([]embedding.Input, error) {
	if dir == "" {
		return shipped.FashionSampleInputs()
	}
	return dataset.LoadFolder(dir)
}

// service serves GET /search and POST /feedback over one namespace.
type service struct {
	*http.ServeMux
	store    index.VectorStore
	ns       string
	searcher *search.Searcher
}

// newService embeds and indexes inputs (their "label" metadata goes with
// them) and routes the two endpoints.
func newService(ctx context.Context, inputs []embedding.Input) (*service, error) {
	enc, err := local.NewImageEncoder()
	if err != nil {
		return nil, err
	}
	store, err := memory.New()
	if err != nil {
		return nil, err
	}
	ns := enc.Info().Namespace()
	embedded := embedding.EncodeAll(ctx, enc, embedding.Inputs(inputs))
	if _, err := index.UpsertAll(ctx, store, ns, index.FromEmbedded(embedded)); err != nil {
		return nil, err
	}
	searcher, err := search.New(store, ns) // the store's metric, by default
	if err != nil {
		return nil, err
	}
	s := &service{ServeMux: http.NewServeMux(), store: store, ns: ns, searcher: searcher}
	s.HandleFunc("GET /search", s.search)
	s.HandleFunc("POST /feedback", s.feedback)
	return s, nil
}

// item is one result on the wire.
type item struct {
	ID    string  `json:"id"`
	Score float32 `json:"score"`
	Label any     `json:"label"`
}

// search answers ?pos=ID&neg=ID&label=L&k=N with the k best items.
func (s *service) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k, _ := strconv.Atoi(q.Get("k"))
	res, err := s.searcher.Search(r.Context(), bucket(q["pos"], q["neg"]),
		search.WithTopK(cmp.Or(k, 10)), search.WithFilter(labelFilter(q.Get("label"))))
	reply(w, err, res, func(m search.Result) item { return item{m.ID, m.Score, m.Metadata["label"]} })
}

// feedback runs one round on a JSON body {pos, neg, relevant,
// not_relevant, label, k}: the marks train the reranker, which ranks the
// pool; the reply is the next page of unmarked items.
func (s *service) feedback(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Pos, Neg, Relevant, NotRelevant []string
		Label                           string
		K                               int
	}
	var sess *feedback.Session
	var res []feedback.Result
	err := json.NewDecoder(r.Body).Decode(&req)
	if err == nil {
		sess, err = feedback.NewSession(s.store, s.ns, bucket(req.Pos, req.Neg), feedback.WithFilter(labelFilter(req.Label)))
	}
	if err == nil {
		var marks []feedback.Mark
		for _, id := range req.Relevant {
			marks = append(marks, feedback.Mark{ID: id, Relevant: true})
		}
		for _, id := range req.NotRelevant {
			marks = append(marks, feedback.Mark{ID: id})
		}
		err = sess.MarkAll(r.Context(), marks...)
	}
	if err == nil {
		res, err = sess.Results(r.Context(), cmp.Or(req.K, 10))
	}
	reply(w, err, res, func(m feedback.Result) item { return item{m.ID, m.Score, m.Metadata["label"]} })
}

func bucket(pos, neg []string) search.Bucket {
	var b search.Bucket
	for _, id := range pos {
		b.Positives = append(b.Positives, search.ByID(id))
	}
	for _, id := range neg {
		b.Negatives = append(b.Negatives, search.ByID(id))
	}
	return b
}

// labelFilter is the optional filter: the zero Filter (everything) when
// no label is asked for.
func labelFilter(label string) index.Filter {
	if label == "" {
		return index.Filter{}
	}
	return index.Eq("label", label)
}

// reply writes the results as JSON items, or err as a 400.
func reply[R any](w http.ResponseWriter, err error, res []R, toItem func(R) item) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := make([]item, len(res))
	for i, m := range res {
		out[i] = toItem(m)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
