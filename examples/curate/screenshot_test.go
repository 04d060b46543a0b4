package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestScreenshot regenerates the README's screenshot of the page on the
// Fashion-MNIST sample after two feedback rounds marked with the keyboard:
//
//	SHOAL_SCREENSHOT=$PWD/search/web/testdata/screenshot.png go test -run Screenshot ./examples/curate/
func TestScreenshot(t *testing.T) {
	out := os.Getenv("SHOAL_SCREENSHOT")
	if out == "" {
		t.Skip("set SHOAL_SCREENSHOT to a PNG path to regenerate the screenshot")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium: apt-get install -y chromium")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	go run(ctx, []string{"-addr", "127.0.0.1:0", "-limit", "3000"}, pw)
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go io.Copy(io.Discard, pr)
	url := regexp.MustCompile(`open (http://\S+)`).FindStringSubmatch(line)[1]

	actx, cancelA := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1280, 720))...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))))
	ids, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#pool .card')].filter(c => c.querySelector('.label').textContent === 'Shirt').slice(0, 2).map(c => c.dataset.id)`))
	require.NoError(t, err)
	for _, id := range ids {
		require.NoError(t, chromedp.Do(bctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#pool .card[data-id=%q]`, id)))))
	}
	require.NoError(t, chromedp.Do(bctx, chromedp.SetValue(chromedp.CSS("#k"), "18"), chromedp.Click(chromedp.CSS("#start"))))
	for r := range 3 {
		require.NoError(t, chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#round-title[data-round="%d"]`, r)))))
		labels, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#grid .card .label')].map(e => e.textContent)`))
		require.NoError(t, err)
		for _, l := range labels {
			key := "n"
			if l == "Shirt" {
				key = "y"
			}
			require.NoError(t, chromedp.Do(bctx, chromedp.KeyEvent(key)))
		}
		if r < 2 {
			require.NoError(t, chromedp.Do(bctx, chromedp.Sleep(300*time.Millisecond), chromedp.KeyEvent("\r")))
		}
	}
	_, err = chromedp.Run(bctx, chromedp.Evaluate[int](`window.scrollTo(0, 0), document.activeElement.blur(), 0`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(bctx, chromedp.Sleep(500*time.Millisecond)))
	buf, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, buf, 0o644))
}
