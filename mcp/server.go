// Package mcp serves Fairway to agents over the Model Context Protocol:
// JSON-RPC 2.0, one message per line on stdio. Agents find work, attach,
// heartbeat, record evidence and claims, hand off and ask for review.
// There is no tool that approves, waives, closes or cancels: those are
// for humans (R1), and the ledger refuses them to a session credential
// whatever path they take.
package mcp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"fairway"
	"fairway/prime"
)

// PrimeURI is the resource holding the prime brief.
const PrimeURI = "fairway://prime"

// ProtocolVersion is the MCP revision the server speaks.
const ProtocolVersion = "2025-06-18"

// Server answers MCP requests with a fairway.Service, acting as the actor
// (and session) its context carries. Identity comes from how the server
// was started, never from the MCP client.
type Server struct {
	Service fairway.Service
	Version string
	// Root is the folder evidence_add reads files from: the project the
	// agent works in (the working directory when empty). A path outside
	// it, or into a ledger's own store, is refused: an agent records the
	// files of its work, not of the machine it runs on.
	Root string

	mu  sync.Mutex
	ctx context.Context
}

// NewServer returns a server acting with ctx's actor and credential.
func NewServer(svc fairway.Service, ctx context.Context) *Server {
	return &Server{Service: svc, ctx: ctx, Version: "dev"}
}

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// Serve reads requests from r and writes responses to w until r ends.
func (s *Server) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	enc := json.NewEncoder(w)
	for {
		if !sc.Scan() {
			if errors.Is(sc.Err(), bufio.ErrTooLong) {
				// A request larger than any real one: answer, then stop
				// reading this stream (its framing is lost).
				return enc.Encode(response{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{-32600, "request larger than 8 MiB"}})
			}
			break
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var req request
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			if err := enc.Encode(response{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{-32700, "parse error: " + err.Error()}}); err != nil {
				return err
			}
			continue
		}
		res, rerr := s.handle(ctx, &req)
		if len(req.ID) == 0 {
			continue // a notification gets no answer
		}
		if err := enc.Encode(response{JSONRPC: "2.0", ID: req.ID, Result: res, Error: rerr}); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (s *Server) handle(ctx context.Context, req *request) (any, *rpcError) {
	switch req.Method {
	case "initialize":
		return map[string]any{
			"protocolVersion": ProtocolVersion,
			"capabilities":    map[string]any{"tools": map[string]any{}, "resources": map[string]any{}},
			"serverInfo":      map[string]any{"name": "fairway", "version": s.Version},
			"instructions": "Fairway holds governed work. Call `prime` first (and after your context was compacted): it says who you are, your work, the rules and the loop. " +
				"Find work with `next`, take it with `task_take`, read it with `task_show`, or attach a session with `session_attach` " +
				"and heartbeat it, record evidence and claims as you go, then `request_review` and `session_detach` with a handoff. " +
				"Only humans approve and close: your claims are never evidence.",
		}, nil
	case "notifications/initialized", "notifications/cancelled":
		return nil, nil
	case "ping":
		return map[string]any{}, nil
	case "tools/list":
		return map[string]any{"tools": s.toolList()}, nil
	case "resources/list":
		return map[string]any{"resources": []map[string]any{{"uri": PrimeURI, "name": "prime", "mimeType": "text/plain",
			"description": "What you need at session start: who you are, your session and handoff, your work, the rules, the evidence kinds, the loop (the same as the prime tool)"}}}, nil
	case "resources/read":
		var p struct {
			URI string `json:"uri"`
		}
		if err := json.Unmarshal(req.Params, &p); err != nil || p.URI != PrimeURI {
			return nil, &rpcError{-32602, fmt.Sprintf("unknown resource %q; see resources/list", p.URI)}
		}
		b, err := prime.Build(s.acting(), s.Service, prime.MCP)
		if err != nil {
			return nil, &rpcError{-32603, fairway.ErrorMessage(err)}
		}
		var text strings.Builder
		prime.Write(&text, b)
		return map[string]any{"contents": []map[string]any{{"uri": PrimeURI, "mimeType": "text/plain", "text": text.String()}}}, nil
	case "tools/call":
		var p struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return nil, &rpcError{-32602, "invalid params: " + err.Error()}
		}
		t, ok := toolByName(p.Name)
		if !ok {
			return nil, &rpcError{-32602, fmt.Sprintf("unknown tool %q; see tools/list", p.Name)}
		}
		args := map[string]any{}
		if len(p.Arguments) > 0 {
			if err := json.Unmarshal(p.Arguments, &args); err != nil {
				return nil, &rpcError{-32602, "arguments must be an object: " + err.Error()}
			}
		}
		out, err := t.call(s, ctx, args)
		if err != nil {
			return toolResult(map[string]any{"error": map[string]any{"code": fairway.ErrorCode(err), "message": fairway.ErrorMessage(err)}}, true), nil
		}
		return toolResult(out, false), nil
	}
	return nil, &rpcError{-32601, "method not found: " + req.Method}
}

func toolResult(v any, isError bool) map[string]any {
	b, _ := json.MarshalIndent(v, "", "  ")
	return map[string]any{"content": []map[string]any{{"type": "text", "text": string(b)}}, "isError": isError}
}

// acting returns the context tool calls run in: after session_attach, the
// session's, so every later write is fenced on its generation.
func (s *Server) acting() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx
}

func (s *Server) actThrough(sess *fairway.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx = fairway.NewContextWithAuth(s.ctx, &fairway.Auth{Session: sess.ID, Generation: sess.Generation})
}

// readFile is how evidence_add reads a file path; tests may replace it.
var readFile = os.ReadFile

// maxEvidenceFile bounds a file evidence_add reads into memory.
const maxEvidenceFile = 64 << 20

// readProjectFile reads a file under Root, after following links, so no
// path (absolute, with .., or through a link) reaches outside it.
func (s *Server) readProjectFile(path string) ([]byte, error) {
	root := s.Root
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		root = wd
	}
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(root, abs)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("it is outside the project folder %s; record the files of your work", root)
	}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == ".fairway" {
			return nil, fmt.Errorf("it is inside a Fairway store; the ledger is not evidence")
		}
	}
	info, err := os.Stat(real)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("it is not a regular file")
	}
	if info.Size() > maxEvidenceFile {
		return nil, fmt.Errorf("it is %d bytes, more than the %d this tool reads; record it with `fairway evidence add`", info.Size(), maxEvidenceFile)
	}
	return readFile(real)
}
