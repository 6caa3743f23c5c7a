package platform_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// cdp drives headless Chromium over the DevTools protocol on a pipe
// (--remote-debugging-pipe: commands on the browser's fd 3, answers on
// its fd 4, each message a JSON object ended by a NUL byte), so that a
// test clicks through pages as a person would, with no driver to install.
type cdp struct {
	t    *testing.T
	cmd  *exec.Cmd
	in   *os.File // the browser reads commands here
	mu   sync.Mutex
	next int
	wait map[int]chan cdpReply
	done chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// tab is one page of the browser.
type tab struct {
	b       *cdp
	session string
}

// newCDP starts headless Chromium, or skips the test when it is not
// installed; it stops when the test ends.
func newCDP(t *testing.T) *cdp {
	t.Helper()
	bin := chromiumPath
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Skip("headless Chromium is not installed (apt-get install chromium); skipping the click-through test")
		}
	}
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--window-size=1280,900", "--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, outW} // fd 3 and fd 4
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = cmdR.Close()
	_ = outW.Close()
	b := &cdp{
		t:    t,
		cmd:  cmd,
		in:   cmdW,
		wait: map[int]chan cdpReply{},
		done: make(chan struct{}),
	}
	go b.read(outR)
	t.Cleanup(func() {
		_ = b.in.Close() // the browser exits when its pipe closes
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-b.done
		}
		_ = cmd.Wait()
		_ = outR.Close()
	})
	return b
}

// read hands each answer to the command waiting for it; events are dropped.
func (b *cdp) read(out *os.File) {
	defer close(b.done)
	r := bufio.NewReader(out)
	for {
		msg, err := r.ReadBytes(0)
		if err != nil {
			return
		}
		var m struct {
			ID int `json:"id"`
			cdpReply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
			continue
		}
		b.mu.Lock()
		ch := b.wait[m.ID]
		delete(b.wait, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

// call sends a command (to a page when session is set) and decodes its
// result into out.
func (b *cdp) call(session, method string, params, out any) error {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpReply, 1)
	b.wait[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.in.Write(append(data, 0)); err != nil {
		return err
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%s: %s", method, r.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-b.done:
		return errors.New("the browser exited")
	case <-time.After(60 * time.Second):
		return fmt.Errorf("%s: no answer from the browser", method)
	}
}

// open makes a new tab.
func (b *cdp) open() *tab {
	b.t.Helper()
	var target struct{ TargetID string }
	if err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		b.t.Fatal(err)
	}
	var att struct{ SessionID string }
	if err := b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		b.t.Fatal(err)
	}
	return &tab{b: b, session: att.SessionID}
}

// eval evaluates a JavaScript expression in the page and returns its value.
func (tb *tab) eval(expr string) (any, error) {
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := tb.b.call(tb.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return nil, err
	}
	if r.ExceptionDetails != nil {
		return nil, fmt.Errorf("%s: %s", expr, r.ExceptionDetails.Text)
	}
	return r.Result.Value, nil
}

// text evaluates expr, which yields a string.
func (tb *tab) text(expr string) string {
	tb.b.t.Helper()
	v, err := tb.eval(expr)
	if err != nil {
		tb.b.t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

// until waits for the expression to be true, for up to a minute (the
// machine may be slow; nothing here measures speed).
func (tb *tab) until(expr string) {
	tb.b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := tb.eval(expr)
		if ok, _ := v.(bool); ok && err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.b.t.Fatalf("the page never satisfied %s (last error %v); it shows:\n%s", expr, err, tb.text("document.body ? document.body.innerText : ''"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// visit loads u and waits until the page is loaded.
func (tb *tab) visit(u string) {
	tb.b.t.Helper()
	if err := tb.b.call(tb.session, "Page.navigate", map[string]any{"url": u}, nil); err != nil {
		tb.b.t.Fatal(err)
	}
	tb.loaded(u)
}

// loaded waits for a page at a URL starting with prefix to finish loading.
func (tb *tab) loaded(prefix string) {
	tb.b.t.Helper()
	q, _ := json.Marshal(prefix)
	tb.until(fmt.Sprintf("location.href.startsWith(%s) && document.readyState === 'complete'", q))
}

// click clicks the element selector finds, as a person would, and waits
// for the page it leads to (a URL starting with then) to load.
func (tb *tab) click(selector, then string) {
	tb.b.t.Helper()
	s, _ := json.Marshal(selector)
	if _, err := tb.eval(fmt.Sprintf("window.__left = false; addEventListener('pagehide', () => { window.__left = true }); document.querySelector(%s).click(); true", s)); err != nil {
		tb.b.t.Fatalf("clicking %s: %v", selector, err)
	}
	tb.until("window.__left !== false") // the old page is gone
	tb.loaded(then)
}

// fill types value into the input selector finds.
func (tb *tab) fill(selector, value string) {
	tb.b.t.Helper()
	s, _ := json.Marshal(selector)
	v, _ := json.Marshal(value)
	if _, err := tb.eval(fmt.Sprintf("document.querySelector(%s).value = %s; true", s, v)); err != nil {
		tb.b.t.Fatalf("filling %s: %v", selector, err)
	}
}

// screenshot saves the page as a PNG file.
func (tb *tab) screenshot(path string) {
	tb.b.t.Helper()
	var r struct{ Data string }
	if err := tb.b.call(tb.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &r); err != nil {
		tb.b.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		tb.b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.b.t.Fatal(err)
	}
}

// contains reports whether the page's text holds s.
func (tb *tab) contains(s string) bool {
	return strings.Contains(tb.text("document.body.innerText"), s)
}
