package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCurate starts the program on a random port over part of the shipped
// sample, with a persistent store, and uses the page, a search, a session
// round, a thumbnail and the map; then it stops it.
func TestCurate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-limit", "600", "-store", t.TempDir()}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`open (http://\S+/curate/)`).FindStringSubmatch(line)
	require.NotNil(t, m, line)
	base := m[1]

	get := func(path string) (int, string, http.Header) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	post := func(path, body string, out any) int {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		if out != nil {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
		}
		return resp.StatusCode
	}
	code, page, _ := get("")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, page, "static/app.js")
	code, info, _ := get("api/info")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, info, `"count":600`)

	var res struct {
		Results []struct{ ID, Label string }
	}
	require.Equal(t, http.StatusOK, post("api/search", `{"positives":[{"id":"test-00000"}],"topK":10}`, &res))
	require.Len(t, res.Results, 10)
	var sess struct{ ID string }
	require.Equal(t, http.StatusCreated, post("api/sessions", `{"positives":[{"id":"test-00000"}]}`, &sess))
	require.Equal(t, http.StatusOK, post("api/sessions/"+sess.ID+"/results", `{"k":12}`, &res))
	assert.Len(t, res.Results, 12)

	code, png, hdr := get("api/thumbnail?id=test-00001")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "image/png", hdr.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(png, "\x89PNG"))
	code, mp, _ := get("api/look/map?session=" + sess.ID)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, mp, `"total":600`)

	cancel()
	select {
	case err := <-errc:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
}
