package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search/web"
)

// Load benchmark scale.
const (
	loadPool     = 60_000
	loadDim      = 64
	loadClusters = 50
	loadUsers    = 50
	loadRounds   = 3
	loadK        = 20
)

// BenchmarkLoad simulates loadUsers people at once on a loadPool-item
// pool over loopback: each searches, starts a feedback session and runs
// three rounds, marking every result by its true cluster. It reports the
// p50 and p95 latency of each endpoint and the errors, and ends with check
// lines (p95 < 300 ms for results and mark, no errors). Run it once:
//
//	go test -run '^$' -bench Load -benchtime 1x ./search/web/
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	store, err := memory.New()
	require.NoError(b, err)
	defer store.Close()
	r := rand.New(rand.NewPCG(3, 4))
	centers := make([][]float32, loadClusters)
	for c := range centers {
		centers[c] = make([]float32, loadDim)
		for j := range centers[c] {
			centers[c][j] = float32(r.NormFloat64())
		}
	}
	recs := make([]index.Record, 0, 1000)
	for i := range loadPool {
		c := i % loadClusters
		v := make([]float32, loadDim)
		for j := range v {
			v[j] = centers[c][j] + 0.6*float32(r.NormFloat64())
		}
		recs = append(recs, index.Record{ID: fmt.Sprintf("p%05d", i), Vector: v, Metadata: index.Metadata{"label": fmt.Sprintf("c%02d", c)}})
		if len(recs) == cap(recs) {
			require.NoError(b, store.Upsert(ctx, "pool", recs))
			recs = recs[:0]
		}
	}
	h, err := web.New(store, "pool", web.WithSessionStore(web.NewMemorySessions()))
	require.NoError(b, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadUsers * 2}, Timeout: time.Minute}

	b.ResetTimer()
	for range b.N {
		lat, errs := loadRun(client, srv.URL)
		b.StopTimer()
		var names []string
		for name := range lat {
			names = append(names, name)
		}
		slices.Sort(names)
		var sb strings.Builder
		fmt.Fprintf(&sb, "%d users × (search + session + %d rounds of %d results and marks) on %d × %d-d items, loopback\n",
			loadUsers, loadRounds, loadK, loadPool, loadDim)
		fmt.Fprintf(&sb, "%-10s %6s %9s %9s %9s\n", "endpoint", "calls", "p50 ms", "p95 ms", "max ms")
		p95 := map[string]float64{}
		for _, name := range names {
			ds := lat[name]
			slices.Sort(ds)
			q := func(p float64) float64 { return ms(ds[min(len(ds)-1, int(p*float64(len(ds))))]) }
			p95[name] = q(0.95)
			fmt.Fprintf(&sb, "%-10s %6d %9.1f %9.1f %9.1f\n", name, len(ds), q(0.5), q(0.95), ms(ds[len(ds)-1]))
			b.ReportMetric(q(0.95), "p95-"+name+"-ms")
		}
		fmt.Fprintf(&sb, "errors: %d\n", len(errs))
		for i, e := range errs {
			if i == 5 {
				break
			}
			fmt.Fprintf(&sb, "  %v\n", e)
		}
		for _, name := range []string{"results", "mark"} {
			fmt.Fprintf(&sb, "check: p95 %s %.1f ms (target < 300 ms): %s\n", name, p95[name], verdict(p95[name] < 300))
		}
		fmt.Fprintf(&sb, "check: errors %d (target 0): %s\n", len(errs), verdict(len(errs) == 0))
		b.Log("\n" + sb.String())
		b.StartTimer()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

// loadRun runs every simulated user once, concurrently, and returns the
// latencies by endpoint and the errors.
func loadRun(client *http.Client, base string) (map[string][]time.Duration, []error) {
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	var errs []error
	do := func(name, method, path string, body, out any) bool {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(buf))
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		var data []byte
		if err == nil {
			data, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode >= 300 {
				err = fmt.Errorf("%s: %d %s", name, resp.StatusCode, data)
			}
		}
		if err == nil && out != nil {
			err = json.Unmarshal(data, out)
		}
		d := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		lat[name] = append(lat[name], d)
		if err != nil {
			errs = append(errs, err)
		}
		return err == nil
	}
	var wg sync.WaitGroup
	for u := range loadUsers {
		wg.Go(func() {
			seed := fmt.Sprintf("p%05d", u*7%loadPool)
			want := fmt.Sprintf("c%02d", u*7%loadPool%loadClusters)
			bucket := map[string]any{"positives": []map[string]string{{"id": seed}}}
			if !do("search", "POST", "/api/search", map[string]any{"positives": bucket["positives"], "topK": loadK}, nil) {
				return
			}
			var s struct{ ID string }
			if !do("session", "POST", "/api/sessions", bucket, &s) {
				return
			}
			for range loadRounds {
				var res struct {
					Results []struct{ ID, Label string }
				}
				if !do("results", "POST", "/api/sessions/"+s.ID+"/results", map[string]int{"k": loadK}, &res) {
					return
				}
				marks := make([]map[string]any, len(res.Results))
				for i, it := range res.Results {
					marks[i] = map[string]any{"id": it.ID, "relevant": it.Label == want}
				}
				if !do("mark", "POST", "/api/sessions/"+s.ID+"/marks", map[string]any{"marks": marks}, nil) {
					return
				}
			}
		})
	}
	wg.Wait()
	return lat, errs
}
