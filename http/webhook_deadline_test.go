package http_test

import (
	"fmt"
	"io"
	"net"
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
