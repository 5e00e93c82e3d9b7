package http_test

import (
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fairwayhttp "fairway/http"
	"fairway/ledger"
)

// A sender that trickles a webhook body is cut off at the read deadline,
// not left holding the connection: the route answers without a token.
func TestAPI_WebhookBodyHasAReadDeadline(t *testing.T) {
	e := newAPIEnv(t)
	api := fairwayhttp.NewServer(e.l, ledger.TokenAuth{L: e.l}, nil)
	api.WebhookReadTimeout = 200 * time.Millisecond
	srv := httptest.NewServer(api)
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"action\":")
	// Nothing more is sent. The server must give up on its own; the test
	// waits far longer than the deadline before calling it a hang.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	reply, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still held the connection after 30 s: %q", reply)
	}
	if !strings.HasPrefix(string(reply), "HTTP/1.1 400") && len(reply) != 0 {
		t.Fatalf("reply to a stalled body: %q", reply)
	}
}

// Every other route that reads a body bounds how long it may take too:
// an unauthenticated client trickling a body (to the portal's sign-in
// form, or to any API route, whose refusal the server follows by
// draining the body) is cut off instead of holding a connection for as
// long as it likes. A body read in time lifts the deadline, so a long
// answer after it (an MCP stream) is not cut, and an authenticated
// evidence upload may take as long as its bytes take.
func TestAPI_EveryBodyHasAReadDeadline(t *testing.T) {
	e := newAPIEnv(t)
	api := fairwayhttp.NewServer(e.l, ledger.TokenAuth{L: e.l}, nil)
	api.BodyReadTimeout = 200 * time.Millisecond
	api.Handle("POST /signin", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		// Answering slowly after the body arrived is not cut off.
		time.Sleep(600 * time.Millisecond)
		if err := r.Context().Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "answered "+r.PostFormValue("token"))
	}))
	srv := httptest.NewServer(api)
	defer srv.Close()
	stalled := func(t *testing.T, request string) {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, request)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		reply, err := io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server still held the connection after 30 s: %q", reply)
		}
	}
	t.Run("sign-in form", func(t *testing.T) {
		stalled(t, "POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=")
	})
	t.Run("API route without a token", func(t *testing.T) {
		stalled(t, "POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"title\":")
	})
	t.Run("chunked body", func(t *testing.T) {
		stalled(t, "POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
	})
	t.Run("a body in time, a slow answer", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/signin", "application/x-www-form-urlencoded", strings.NewReader("token=x"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "answered x" {
			t.Fatalf("%d %q", resp.StatusCode, b)
		}
	})
	t.Run("a slow evidence upload", func(t *testing.T) {
		if status, body := e.do(t, "POST", "/api/v1/tasks", e.token, `{"key":"A-1","title":"t"}`); status != 201 {
			t.Fatalf("create: %d %v", status, body)
		}
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			meta, _ := mw.CreateFormField("meta")
			meta.Write([]byte(`{"kind":"log","parts":["content"]}`))
			content, _ := mw.CreateFormFile("content", "x.log")
			content.Write([]byte("first line\n"))
			time.Sleep(600 * time.Millisecond) // a command still running
			content.Write([]byte("last line\n"))
			mw.Close()
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/tasks/A-1/evidence", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+e.agent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 201 {
			t.Fatalf("a slow upload: %d %s", resp.StatusCode, b)
		}
	})
}
