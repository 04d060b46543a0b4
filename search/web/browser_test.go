package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/search/web"
)

// findBrowser returns the path of a Chromium-family browser, or "".
func findBrowser() string {
	if p := os.Getenv("SHOAL_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserCtx starts a headless browser for t, or skips t when there is
// none.
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	bin := findBrowser()
	if bin == "" {
		t.Skip("no Chromium found: install Debian's chromium (apt-get install -y chromium) or set SHOAL_CHROME to a Chrome binary to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 860),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first call starts the browser; it must not run under a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Skipf("cannot start %s: %v", bin, err)
	}
	return ctx
}

// squareThumbs draws each item as a 28×28 square in its class's colour.
func squareThumbs() web.ItemSource {
	colours := []color.RGBA{{76, 110, 245, 255}, {247, 103, 7, 255}, {47, 158, 68, 255}, {224, 49, 49, 255}}
	return web.ItemFunc(func(_ context.Context, id string, md index.Metadata) (web.Item, error) {
		c := colours[0]
		for i, cl := range classes {
			if md["label"] == cl {
				c = colours[i]
			}
		}
		img := image.NewRGBA(image.Rect(0, 0, 28, 28))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return web.Item{}, err
		}
		return web.Item{Thumbnail: buf.Bytes(), ContentType: "image/png", Fields: map[string]string{"source": "test"}}, nil
	})
}

// TestBrowser drives the page in headless Chromium: build a bucket by
// clicking, three feedback rounds marked with the keyboard, the precision
// chart and rounds table against the API, the map (click a point, box
// select), and the export download against the API's export.
func TestBrowser(t *testing.T) {
	ctx := browserCtx(t)
	w := newWorld(t, 200, web.WithItems(squareThumbs()))
	shots := t.TempDir()
	var dialogs, exceptions atomic.Int32
	var lastException atomic.Value
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			dialogs.Add(1)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		case *runtime.EventExceptionThrown:
			exceptions.Add(1)
			lastException.Store(fmt.Sprintf("%s (line %d)", e.ExceptionDetails.Text, e.ExceptionDetails.LineNumber))
		}
	}))
	n := 0
	// fail saves a screenshot and ends the test naming it.
	fail := func(step string, err error) {
		t.Helper()
		n++
		path := filepath.Join(shots, fmt.Sprintf("%02d-%s.png", n, strings.ReplaceAll(step, " ", "-")))
		if buf, serr := chromedp.Run(ctx, chromedp.FullScreenshot(80)); serr == nil {
			_ = os.WriteFile(path, buf, 0o644)
		}
		t.Fatalf("%s: %v (screenshot: %s)", step, err, path)
	}
	// run runs the actions of one step.
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			fail(step, err)
		}
	}
	textOf := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("read "+sel, err)
		}
		return s
	}
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second)))
			return err
		})
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	eval := func(step, expr string, out any) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		raw, err := chromedp.Run(sctx, chromedp.Evaluate[json.RawMessage](expr))
		if err == nil {
			err = json.Unmarshal(raw, out)
		}
		if err != nil {
			fail(step, err)
		}
	}
	mouse := func(typ input.DispatchMouseEventType, x, y float64) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{
				Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1})
			return err
		})
	}

	run("open the page", chromedp.Navigate(w.srv.URL+"/"), chromedp.WaitVisible(css(`body[data-ready="1"]`)))

	// Metadata is escaped: the hostile label shows as text.
	var labels []string
	eval("read labels", `[...document.querySelectorAll('#pool .card .label')].map(e => e.textContent)`, &labels)
	assert.Contains(t, labels, "<script>alert(1)</script>")

	run("build a bucket by clicking",
		chromedp.Click(css(`#pool .card[data-id="item-0000"]`)),
		chromedp.Click(css(`#pool .card[data-id="item-0004"]`)),
		chromedp.WaitVisible(css(`#pool .card[data-id="item-0004"][data-bucket="pos"]`)))
	assert.Equal(t, "2", textOf("#pos-count"))

	run("start feedback", chromedp.SetValue(css("#k"), "8"), chromedp.Click(css("#start")),
		chromedp.WaitVisible(css(`#round-title[data-round="0"]`)))
	var sessionID string
	eval("read the session", `S.session`, &sessionID)
	require.Len(t, sessionID, 32)

	for r := range 3 {
		var shown [][]string
		run("round "+strconv.Itoa(r), chromedp.WaitVisible(css(fmt.Sprintf(`#round-title[data-round="%d"]`, r))))
		eval("read round "+strconv.Itoa(r), `[...document.querySelectorAll('#grid .card')].map(c => [c.dataset.id, c.querySelector('.label').textContent])`, &shown)
		require.Len(t, shown, 8, "round %d", r)
		for _, it := range shown {
			key := "n"
			if it[1] == "boot" {
				key = "y"
			}
			run("mark "+it[0], chromedp.KeyEvent(key))
		}
		run("marks of round "+strconv.Itoa(r)+" recorded",
			poll(fmt.Sprintf(`(document.querySelector('#rounds tr[data-round="%d"] td.marked') || {}).textContent === "8"`, r)))
		if r < 2 {
			run("next round", chromedp.KeyEvent("\r"))
		}
	}

	// The rounds table and the chart match the API.
	var api struct{ Rounds []round }
	require.Equal(t, http.StatusOK, call(t, "GET", w.srv.URL+"/api/sessions/"+sessionID+"/rounds", nil, &api))
	require.Len(t, api.Rounds, 3)
	var table [][]string
	var chart []map[string]string
	eval("read the rounds", `[...document.querySelectorAll('#rounds tbody tr')].map(tr => [...tr.children].map(td => td.textContent))`, &table)
	eval("read the chart", `[...document.querySelectorAll('#chart circle')].map(c => ({round: c.dataset.round, precision: c.dataset.precision}))`, &chart)
	require.Len(t, table, 3)
	require.Len(t, chart, 3)
	for i, r := range api.Rounds {
		require.NotNil(t, r.Precision)
		assert.Equal(t, []string{strconv.Itoa(r.Index), r.Strategy, strconv.Itoa(r.Shown), strconv.Itoa(r.Marked),
			strconv.Itoa(r.Relevant), fmt.Sprintf("%.0f%%", *r.Precision*100)}, table[i])
		assert.Equal(t, strconv.Itoa(r.Index), chart[i]["round"])
		p, err := strconv.ParseFloat(chart[i]["precision"], 64)
		require.NoError(t, err)
		assert.InDelta(t, *r.Precision, p, 1e-9)
	}
	assert.Greater(t, *api.Rounds[2].Precision, 0.5, "feedback finds the boots")

	if p := os.Getenv("SHOAL_SCREENSHOT"); p != "" {
		buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, buf, 0o644))
	}

	// Export: the downloaded file is the API's export.
	dl := t.TempDir()
	done := make(chan string, 1)
	require.NoError(t, chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- e.GUID:
			default:
			}
		}
	}))
	events := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &events}); err != nil {
		fail("allow downloads", err)
	}
	run("export", chromedp.Click(css("#export-csv")))
	var guid string
	select {
	case guid = <-done:
	case <-time.After(20 * time.Second):
		fail("export", fmt.Errorf("the download did not complete"))
	}
	got, err := os.ReadFile(filepath.Join(dl, guid))
	require.NoError(t, err)
	resp, err := http.Get(w.srv.URL + "/api/sessions/" + sessionID + "/export?format=csv")
	require.NoError(t, err)
	want, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, string(want), string(got))
	assert.Greater(t, bytes.Count(got, []byte("\n")), 5)

	// The map: click a point (the one on top at its centre) and open it.
	var target struct {
		ID   string
		X, Y float64
	}
	run("open the map", chromedp.Click(css("#tab-map")), poll(`document.querySelectorAll('#scatter circle').length === 200`))
	eval("find a point", `(() => {
		for (const c of document.querySelectorAll('#scatter circle')) {
			const b = c.getBoundingClientRect(), x = b.x + b.width / 2, y = b.y + b.height / 2;
			if (document.elementFromPoint(x, y) === c) return {ID: c.dataset.id, X: x, Y: y};
		}
	})()`, &target)
	require.NotEmpty(t, target.ID)
	run("click a point", chromedp.MouseClickXY(target.X, target.Y), chromedp.WaitVisible(css(`#detail-id`)),
		poll(`document.querySelector('#detail-id').textContent !== ""`))
	assert.Equal(t, target.ID, textOf("#detail-id"))
	var marked int
	eval("marked points", `document.querySelectorAll('#scatter circle[data-mark]').length`, &marked)
	assert.Equal(t, 24, marked, "the map shows the session's marks")

	// Box select: a drag over the whole plot adds every point to the bucket.
	var box struct{ X0, Y0, X1, Y1 float64 }
	run("close the item", chromedp.Click(css("#detail-close")))
	eval("plot box", `(() => {
		const b = document.querySelector('#scatter').getBoundingClientRect();
		return {X0: b.x + 2, Y0: b.y + 2, X1: b.x + b.width - 2, Y1: b.y + b.height - 2};
	})()`, &box)
	run("box select",
		mouse(input.DispatchMouseEventTypeMousePressed, box.X0, box.Y0),
		mouse(input.DispatchMouseEventTypeMouseMoved, (box.X0+box.X1)/2, (box.Y0+box.Y1)/2),
		mouse(input.DispatchMouseEventTypeMouseMoved, box.X1, box.Y1),
		mouse(input.DispatchMouseEventTypeMouseReleased, box.X1, box.Y1),
		poll(`document.querySelector('#pos-count').textContent === "200"`))

	assert.Zero(t, dialogs.Load(), "a dialog opened: metadata ran as script")
	assert.Zero(t, exceptions.Load(), "JavaScript exception: %v", lastException.Load())
}
