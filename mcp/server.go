// Package mcp serves Fairway to agents over the Model Context Protocol,
// on the official Go SDK: over stdio (`fairway mcp`) and over streamable
// HTTP at /mcp (`fairway serve`). Agents find work, attach, heartbeat, run
// commands and record evidence and claims, check the scope of their
// change, hand off and ask for review. There is no tool that approves,
// waives, closes or cancels: those are for humans (R1), and the ledger
// refuses them to an agent or a session credential whatever path they
// take.
package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
	"fairway/prime"
)

// PrimeURI is the resource holding the prime brief.
const PrimeURI = "fairway://prime"

// ProtocolVersion is the MCP revision the agents of today ask for; the
// server answers it (and the newer ones the SDK speaks).
const ProtocolVersion = "2025-06-18"

// Instructions is what the server tells an agent when it connects.
const Instructions = "Fairway holds governed work. Call `prime` first (and after your context was compacted): it says who you are, your work, the rules and the loop. " +
	"Find work with `next`, take it with `task_take`, read it with `task_show`, or attach a session with `session_attach` " +
	"and heartbeat it; record evidence (`run`, `evidence_add`) and claims as you go, `scope_check` your change, then `request_review` and `session_detach` with a handoff. " +
	"Only humans approve, waive, close and cancel: your claims are never evidence."

// Server answers MCP requests with a fairway.Service. Who acts comes
// from the credential, never from the MCP session: on stdio, the actor
// (and session credential) the process was started with; over HTTP, the
// bearer token of each request.
type Server struct {
	Service fairway.Service
	Version string
	// Root is the folder evidence_add reads files from and scope_check
	// diffs: the project the agent works in (the working directory when
	// empty). A path outside it, or into a ledger's own store, is refused:
	// an agent records the files of its work, not of the machine it runs
	// on.
	Root string

	// ctx carries the identity of a local (stdio) server; nil over HTTP.
	ctx context.Context
	sdk *sdk.Server

	mu sync.Mutex
	// attached remembers the session an MCP client attached, by MCP
	// session and actor, so that its later writes are fenced on the
	// session's generation. It only ever narrows what the credential may
	// do: the ledger checks the session belongs to the credential's actor.
	attached map[string]*fairway.Session
	// ended counts the attachments waiting for their MCP session's end.
	ended sync.WaitGroup
}

// NewServer returns a local server acting with ctx's actor and
// credential: it can run commands, read project files and diff the work
// tree, because it runs where the agent works.
func NewServer(svc fairway.Service, ctx context.Context) *Server {
	s := &Server{Service: svc, ctx: ctx, Version: "dev", attached: map[string]*fairway.Session{}}
	s.build()
	return s
}

// NewRemoteServer returns a server for HTTP, where every tool call acts
// as the bearer credential of its request. It offers no tool that reads
// or runs anything on the server's machine.
func NewRemoteServer(svc fairway.Service) *Server {
	s := &Server{Service: svc, Version: "dev", attached: map[string]*fairway.Session{}}
	s.build()
	return s
}

// local reports whether the server runs where the agent works.
func (s *Server) local() bool { return s.ctx != nil }

func (s *Server) build() {
	s.sdk = sdk.NewServer(&sdk.Implementation{Name: "fairway", Version: s.Version}, &sdk.ServerOptions{Instructions: Instructions})
	for i := range tools {
		t := &tools[i]
		if t.localOnly && !s.local() || t.remoteOnly && s.local() {
			continue
		}
		s.sdk.AddTool(&sdk.Tool{Name: t.name, Description: s.describe(t), InputSchema: t.schema()}, s.handler(t))
	}
	s.sdk.AddReceivingMiddleware(s.withKinds)
	s.sdk.AddResource(&sdk.Resource{URI: PrimeURI, Name: "prime", MIMEType: "text/plain",
		Description: "What you need at session start: who you are, your session and handoff, your work, the rules, the evidence kinds, the loop (the same as the prime tool)"},
		func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
			c, err := s.acting(ctx, req.Session, req.Extra)
			if err != nil {
				return nil, errors.New(fairway.ErrorMessage(err))
			}
			b, err := prime.Build(c.ctx, s.Service, prime.MCP)
			if err != nil {
				return nil, errors.New(fairway.ErrorMessage(err))
			}
			var text strings.Builder
			prime.Write(&text, b)
			return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: PrimeURI, MIMEType: "text/plain", Text: text.String()}}}, nil
		})
}

// SDK returns the SDK server, to connect it to a transport of one's own
// (the SDK's in-memory transport in tests).
func (s *Server) SDK() *sdk.Server { return s.sdk }

// Serve speaks MCP on r and w (stdin and stdout) until r ends.
func (s *Server) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	err := s.sdk.Run(ctx, &sdk.IOTransport{Reader: io.NopCloser(r), Writer: nopWriteCloser{w}})
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || ctx.Err() != nil {
		return nil
	}
	return err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// call is one tool call: the context it acts in (the credential's actor,
// fenced on the attached session), and the key its attachment is
// remembered under.
type call struct {
	ctx context.Context
	key string
	ss  *sdk.ServerSession
}

// acting resolves who a request acts as. Over HTTP the credential is the
// request's bearer token, checked by HTTPHandler; a request without one
// is refused.
func (s *Server) acting(ctx context.Context, ss *sdk.ServerSession, extra *sdk.RequestExtra) (*call, error) {
	base := s.ctx
	if !s.local() {
		id := identityOf(extra)
		if id == nil {
			return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "a bearer token is required: connect to /mcp with `Authorization: Bearer TOKEN` (`fairway actor token NAME` prints one)")
		}
		base = fairway.NewContextWithActor(ctx, id.actor)
		base = fairway.NewContextWithAuth(base, id.auth)
	}
	mcpSession := ""
	if ss != nil {
		mcpSession = ss.ID()
	}
	who := ""
	if a := fairway.ActorFromContext(base); a != nil {
		who = a.Name
	}
	c := &call{ctx: base, key: who + "\x00" + mcpSession, ss: ss}
	au := fairway.AuthFromContext(base)
	if au.Session != "" {
		return c, nil // the credential is a session's: it fences itself
	}
	s.mu.Lock()
	sess := s.attached[c.key]
	s.mu.Unlock()
	if sess != nil {
		fenced := *au
		fenced.Session, fenced.Generation = sess.ID, sess.Generation
		c.ctx = fairway.NewContextWithAuth(base, &fenced)
	}
	return c, nil
}

// actThrough makes the calls of c's client act through sess. When the
// MCP session ends, the attachment is forgotten, so that a long-running
// HTTP server does not keep every attachment it ever saw.
func (s *Server) actThrough(c *call, sess *fairway.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.attached[c.key]
	s.attached[c.key] = sess
	if had || c.ss == nil {
		return
	}
	s.ended.Add(1)
	go func(key string) {
		defer s.ended.Done()
		c.ss.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.attached, key)
	}(c.key)
}

// forget drops an attachment that ended.
func (s *Server) forget(c *call, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.attached[c.key]; a != nil && a.ID == id {
		delete(s.attached, c.key)
	}
}

// readFile is how evidence_add reads a file path; tests may replace it.
var readFile = os.ReadFile

// maxEvidenceFile bounds a file evidence_add reads into memory.
const maxEvidenceFile = 64 << 20

// root is the project folder, links resolved.
func (s *Server) root() (string, error) {
	root := s.Root
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		root = wd
	}
	return filepath.EvalSymlinks(root)
}

// readProjectFile reads a file under Root, after following links, so no
// path (absolute, with .., or through a link) reaches outside it.
func (s *Server) readProjectFile(path string) ([]byte, error) {
	root, err := s.root()
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

// sessionTimeout closes an HTTP MCP session idle this long.
const sessionTimeout = 30 * time.Minute

// httpHandler is the SDK's streamable HTTP transport for the server.
func (s *Server) httpHandler() http.Handler {
	return sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.sdk },
		&sdk.StreamableHTTPOptions{SessionTimeout: sessionTimeout})
}
