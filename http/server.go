// Package http serves the ledger as a JSON API under /api/v1 and offers a
// Client that implements fairway.Service over it, so the CLI works the same
// against a local store or a server.
package http

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"fairway"
	"fairway/secret"
)

//go:embed openapi.json
var openAPIDocument []byte

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Authenticator maps a bearer token to an actor and what the token says
// about them (groups, MFA posture).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*fairway.Actor, *fairway.Auth, error)
}

// Server serves the JSON API.
type Server struct {
	// MaxEvidenceBytes bounds one evidence upload, all parts together, so
	// that a client cannot fill the server's disk.
	MaxEvidenceBytes int64
	// WebhookReadTimeout bounds how long a webhook delivery's body may
	// take to arrive (DefaultWebhookReadTimeout when zero): the route
	// answers without a token, so a trickling sender is cut off.
	WebhookReadTimeout time.Duration
	// BodyReadTimeout bounds how long any other request's body may take
	// to arrive (DefaultBodyReadTimeout when zero), so that a client
	// trickling one, before it showed a credential, holds no connection
	// for long. An authenticated evidence upload is not bound by it.
	BodyReadTimeout time.Duration

	service fairway.Service
	auth    Authenticator
	mux     *http.ServeMux
	logger  *slog.Logger
	server  *http.Server
	metrics *metrics
}

// route is one API operation. The table is the single list of operations:
// the mux is built from it and a test checks it against openapi.json.
type route struct {
	method, pattern string
	handle          func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// witnessRoutes answer without a token too: what a witness that holds no
// account polls (the newest signed checkpoint and the consistency proof
// from the last one it saw). They carry hashes and signed tree heads, no
// task data. A token that is sent is still checked.
var witnessRoutes = map[string]bool{
	"GET /api/v1/checkpoint":              true,
	"GET /api/v1/audit/proof/consistency": true,
}

var routes = []route{
	{"GET", "/api/v1/whoami", (*Server).whoami},
	{"GET", "/api/v1/actors", (*Server).listActors},
	{"POST", "/api/v1/actors", (*Server).createActor},
	{"GET", "/api/v1/actors/{name}", (*Server).getActor},
	{"POST", "/api/v1/actors/{name}/disable", (*Server).disableActor},
	{"POST", "/api/v1/actors/{name}/identity", (*Server).bindIdentity},
	{"POST", "/api/v1/actors/{name}/token", (*Server).rotateToken},
	{"DELETE", "/api/v1/actors/{name}/tokens", (*Server).revokeTokens},
	{"GET", "/api/v1/tokens", (*Server).listTokens},
	{"DELETE", "/api/v1/tokens/{id}", (*Server).revokeToken},
	{"GET", "/api/v1/lanes", (*Server).listLanes},
	{"POST", "/api/v1/lanes", (*Server).createLane},
	{"GET", "/api/v1/lanes/{name}", (*Server).getLane},
	{"GET", "/api/v1/tasks", (*Server).listTasks},
	{"POST", "/api/v1/tasks", (*Server).createTask},
	{"GET", "/api/v1/tasks/{key}", (*Server).getTask},
	{"GET", "/api/v1/tasks/{key}/view", (*Server).taskView},
	{"PATCH", "/api/v1/tasks/{key}", (*Server).updateTask},
	{"POST", "/api/v1/tasks/{key}/transition", (*Server).transitionTask},
	{"POST", "/api/v1/tasks/{key}/take", (*Server).takeTask},
	{"POST", "/api/v1/tasks/{key}/close", (*Server).closeTask},
	{"POST", "/api/v1/tasks/{key}/cancel", (*Server).cancelTask},
	{"GET", "/api/v1/tasks/{key}/gate", (*Server).explainGate},
	{"GET", "/api/v1/tasks/{key}/dependencies", (*Server).dependencies},
	{"POST", "/api/v1/tasks/{key}/dependencies", (*Server).addDependency},
	{"DELETE", "/api/v1/tasks/{key}/dependencies/{blocker}", (*Server).removeDependency},
	{"GET", "/api/v1/next", (*Server).next},
	{"POST", "/api/v1/tasks/{key}/evidence", (*Server).addEvidence},
	{"GET", "/api/v1/evidence", (*Server).listEvidence},
	{"GET", "/api/v1/search", (*Server).search},
	{"GET", "/api/v1/evidence/verify", (*Server).verifyEvidence},
	{"GET", "/api/v1/evidence/{id}", (*Server).getEvidence},
	{"GET", "/api/v1/evidence/{id}/content", (*Server).evidenceContent},
	{"POST", "/api/v1/tasks/{key}/claims", (*Server).addClaim},
	{"GET", "/api/v1/tasks/{key}/claims", (*Server).listClaims},
	{"GET", "/api/v1/tasks/{key}/scope", (*Server).scopeRecords},
	{"POST", "/api/v1/tasks/{key}/scope/checks", (*Server).checkScope},
	{"POST", "/api/v1/tasks/{key}/scope/acknowledgements", (*Server).acknowledgeScope},
	{"POST", "/api/v1/tasks/{key}/reviews", (*Server).addReview},
	{"GET", "/api/v1/tasks/{key}/reviews", (*Server).listReviews},
	{"POST", "/api/v1/waivers", (*Server).requestWaiver},
	{"GET", "/api/v1/waivers", (*Server).listWaivers},
	{"POST", "/api/v1/waivers/{id}/approve", (*Server).approveWaiver},
	{"POST", "/api/v1/tasks/{key}/narrowings", (*Server).proposeNarrowing},
	{"GET", "/api/v1/narrowings", (*Server).listNarrowings},
	{"POST", "/api/v1/narrowings/{id}/approve", (*Server).approveNarrowing},
	{"GET", "/api/v1/plan", (*Server).plan},
	{"POST", "/api/v1/deploys", (*Server).startDeploy},
	{"GET", "/api/v1/deploys", (*Server).listDeployRuns},
	{"GET", "/api/v1/deploys/{id}", (*Server).getDeployRun},
	{"POST", "/api/v1/deploys/{id}/stages/{stage}", (*Server).moveStage},
	{"POST", "/api/v1/deploys/{id}/no-rollback", (*Server).decideNoRollback},
	{"GET", "/api/v1/environments/{name}", (*Server).environmentStatus},
	{"GET", "/api/v1/policy", (*Server).activePolicy},
	{"POST", "/api/v1/policy/bootstrap", (*Server).bootstrapPolicy},
	{"POST", "/api/v1/tasks/{key}/policy", (*Server).proposePolicy},
	{"POST", "/api/v1/sessions", (*Server).attachSession},
	{"GET", "/api/v1/sessions", (*Server).listSessions},
	{"GET", "/api/v1/sessions/{id}", (*Server).getSession},
	{"POST", "/api/v1/sessions/{id}/heartbeat", (*Server).heartbeatSession},
	{"POST", "/api/v1/sessions/{id}/detach", (*Server).detachSession},
	{"POST", "/api/v1/sessions/{id}/observations", (*Server).observeSession},
	{"GET", "/api/v1/audit", (*Server).auditLog},
	{"GET", "/api/v1/audit/verify", (*Server).verifyAudit},
	{"GET", "/api/v1/audit/tree", (*Server).auditTree},
	{"GET", "/api/v1/audit/proof/inclusion", (*Server).inclusionProof},
	{"GET", "/api/v1/audit/proof/consistency", (*Server).consistencyProof},
	{"GET", "/api/v1/checkpoint", (*Server).latestCheckpoint},
	{"GET", "/api/v1/checkpoints", (*Server).listCheckpoints},
	{"POST", "/api/v1/checkpoints", (*Server).publishCheckpoint},
	{"GET", "/api/v1/events", (*Server).events},
}

// MCPPath is where MountMCP serves the Model Context Protocol, and
// mcpMethods the HTTP methods of its streamable transport: POST carries
// messages, GET opens a stream for the server's, DELETE ends a session.
const MCPPath = "/mcp"

var mcpMethods = []string{"POST", "GET", "DELETE"}

// MountMCP serves h (the MCP streamable HTTP transport, which checks the
// same bearer tokens as the API) at /mcp.
func (s *Server) MountMCP(h http.Handler) {
	for _, m := range mcpMethods {
		s.mux.Handle(m+" "+MCPPath, h)
	}
}

// webhookRoutes take CI events: no bearer token, the delivery's
// signature is its credential, checked by the ledger.
var webhookRoutes = []route{
	{"POST", "/api/v1/webhooks/{source}", (*Server).receiveWebhook},
}

// Routes lists the API's operations as "METHOD /path", with the MCP
// endpoint's.
func Routes() []string {
	out := []string{"GET /api/v1/openapi.json"}
	for _, m := range mcpMethods {
		out = append(out, m+" "+MCPPath)
	}
	for _, rt := range append(routes[:len(routes):len(routes)], webhookRoutes...) {
		out = append(out, rt.method+" "+rt.pattern)
	}
	return out
}

// OpenAPI returns the API's OpenAPI document.
func OpenAPI() []byte { return openAPIDocument }

// NewServer returns a server for service; auth resolves bearer tokens.
func NewServer(service fairway.Service, auth Authenticator, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{service: service, auth: auth, mux: http.NewServeMux(), logger: logger,
		MaxEvidenceBytes: DefaultMaxEvidenceBytes, metrics: newMetrics()}
	s.mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDocument)
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	for _, rt := range routes {
		h := s.wrap(rt.handle)
		if witnessRoutes[rt.method+" "+rt.pattern] {
			h = s.witness(rt.handle, h)
		}
		s.mux.HandleFunc(rt.method+" "+rt.pattern, h)
	}
	for _, rt := range webhookRoutes {
		s.mux.HandleFunc(rt.method+" "+rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := rt.handle(s, w, r); err != nil {
				s.writeError(w, r, err)
			}
		})
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &fairway.Error{Code: fairway.ENOTFOUND, Message: fmt.Sprintf("no API operation %s %s; see /api/v1/openapi.json", r.Method, r.URL.Path)})
	})
	return s
}

// ServeHTTP implements http.Handler.
// Every request is logged at debug level, and failures at info or above,
// with who asked and how long it took.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.ContentLength != 0 {
		// A body (of a known length, or chunked) must arrive in time,
		// whoever sends it: a refusal without a credential is followed by
		// draining it too. Read to its end, it lifts the deadline, so a
		// long answer after it is not cut off.
		timeout := s.BodyReadTimeout
		if timeout <= 0 {
			timeout = DefaultBodyReadTimeout
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(start.Add(timeout)) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	s.metrics.observe(r.Method, routeOf(r), rec.status, time.Since(start))
	level := slog.LevelDebug
	switch {
	case rec.status >= 500:
		level = slog.LevelError
	case rec.status >= 400:
		level = slog.LevelInfo
	}
	if !s.logger.Enabled(r.Context(), level) {
		return
	}
	// A client may put a secret where a key goes: the log keeps none.
	path, _ := secret.RedactText(r.URL.Path)
	s.logger.Log(r.Context(), level, "request", "method", r.Method, "path", path, "status", rec.status,
		"actor", rec.actor, "took", time.Since(start).Round(time.Microsecond))
}

// DefaultBodyReadTimeout is Server.BodyReadTimeout unless set: a body of
// MaxBodyBytes arrives well within it over a slow link.
const DefaultBodyReadTimeout = 30 * time.Second

// deadlineBody lifts the connection's read deadline once its body has
// been read to the end.
type deadlineBody struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// liftBodyDeadline lets the rest of this request's body take as long as
// it takes: for an authenticated upload that streams while its command
// runs.
func liftBodyDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
}

// statusRecorder remembers the status written and who the request acted
// as, for the request log. It passes Flush through for event streams.
type statusRecorder struct {
	http.ResponseWriter
	status int
	actor  string
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Handle mounts another handler (the portal, say) beside the API.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln, ready)
}

// Serve serves on a listener the caller bound, so a port in use is found
// before anything else is done; otherwise it is ListenAndServe.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(net.Addr)) error {
	s.server = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- s.server.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return s.server.Shutdown(shutdown)
	}
}

// wrap authenticates the request, runs the handler and turns its error
// into a JSON error response.
func (s *Server) wrap(h func(*Server, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fairway"`)
			s.writeError(w, r, fairway.Errorf(fairway.EUNAUTHORIZED, "a bearer token is required: send `Authorization: Bearer TOKEN` (the CLI sends --token or $FAIRWAY_TOKEN); `fairway actor create NAME --kind KIND` prints one"))
			return
		}
		actor, auth, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fairway", error="invalid_token"`)
			s.writeError(w, r, err)
			return
		}
		if rec, ok := w.(*statusRecorder); ok {
			rec.actor = actor.Name
		}
		ctx := fairway.NewContextWithActor(r.Context(), actor)
		if auth != nil {
			ctx = fairway.NewContextWithAuth(ctx, auth)
		}
		r = r.WithContext(ctx)
		if err := h(s, w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// witness runs h without an actor when no credential is sent, and as
// authenticated otherwise.
func (s *Server) witness(h func(*Server, http.ResponseWriter, *http.Request) error, authenticated http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			authenticated(w, r)
			return
		}
		if err := h(s, w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// bearerToken reads an RFC 6750 bearer credential; the scheme name is
// case-insensitive (RFC 7235).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// ErrorStatus maps an error code to its HTTP status.
func ErrorStatus(code string) int {
	switch code {
	case fairway.EINVALID:
		return http.StatusBadRequest
	case fairway.ENOTFOUND:
		return http.StatusNotFound
	case fairway.ECONFLICT:
		return http.StatusConflict
	case fairway.EFORBIDDEN:
		return http.StatusForbidden
	case fairway.EUNAUTHORIZED, fairway.ESTEPUP:
		return http.StatusUnauthorized
	case fairway.EGATEFAILED:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every error response. Decision is set when
// a close was refused by its gate.
type errorBody struct {
	Error    *fairway.Error        `json:"error"`
	Decision *fairway.GateDecision `json:"decision,omitempty"`
}

var errBodyTooLarge = &fairway.Error{Code: fairway.EINVALID, Message: fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeErrorWith(w, r, err, nil)
}

func (s *Server) writeErrorWith(w http.ResponseWriter, r *http.Request, err error, d *fairway.GateDecision) {
	code := fairway.ErrorCode(err)
	status := ErrorStatus(code)
	body := errorBody{Decision: d}
	var fe *fairway.Error
	if errors.As(err, &fe) {
		body.Error = fe
	} else {
		s.logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error = &fairway.Error{Code: fairway.EINTERNAL, Message: fairway.ErrorMessage(err)}
	}
	if body.Error == errBodyTooLarge {
		status = http.StatusRequestEntityTooLarge
	}
	if body.Error.StepUp != nil {
		w.Header().Set("WWW-Authenticate", stepUpChallenge(body.Error))
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// Compact: clients parse it, and indenting costs every request.
	json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: one object, no unknown fields, within
// MaxBodyBytes. Its errors name the field at fault.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return errBodyTooLarge
	} else if err != nil {
		return fairway.Errorf(fairway.EINVALID, "cannot read the request body: %v", err)
	}
	if name := fairway.FieldNamedTwice(body); name != "" {
		return fairway.FieldError(name, "is named twice; send each field once")
	}
	if err := textKeptAsSent(body, ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &maxErr):
			return errBodyTooLarge
		case errors.As(err, &typeErr):
			return fairway.FieldError(typeErr.Field, "must be a JSON %s, not %s", typeErr.Type.Kind(), typeErr.Value)
		case errors.As(err, &syntaxErr):
			return fairway.Errorf(fairway.EINVALID, "malformed JSON at byte %d: %v", syntaxErr.Offset, err)
		case errors.Is(err, io.EOF):
			return fairway.Errorf(fairway.EINVALID, "request body is empty; send a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fairway.Errorf(fairway.EINVALID, "malformed JSON: the body ends early")
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(name, `"`)
			return fairway.FieldError(name, "is not a known field")
		}
		if name := fieldAtFault(body, v); name != "" {
			return fairway.FieldError(name, "%v", err)
		}
		return fairway.Errorf(fairway.EINVALID, "malformed JSON: %v", err)
	}
	if dec.More() {
		return fairway.Errorf(fairway.EINVALID, "request body holds more than one JSON value")
	}
	return nil
}

// textKeptAsSent refuses a JSON body holding text the decoder would not
// keep as sent (it turns bytes that are not UTF-8, and half a surrogate
// pair, into U+FFFD): the record would not say what was sent. field names
// the part of a request the body is, if it is one.
func textKeptAsSent(body []byte, field string) error {
	at := fairway.TextChangedByDecoding(body)
	if at < 0 {
		return nil
	}
	what := "the body"
	if field != "" {
		what = "the " + field + " part"
	}
	return &fairway.Error{Code: fairway.EINVALID, Field: field, Message: fmt.Sprintf("%s is not valid UTF-8 text at byte %d (bytes that are not UTF-8, or half a surrogate pair); send text as UTF-8, since the server would store it changed (as U+FFFD)", what, at)}
}

// fieldAtFault finds the top-level field whose value a type refuses (a
// time that does not parse, say), by decoding each field alone: the JSON
// decoder's own error does not say which field it was.
func fieldAtFault(body []byte, v any) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer {
		return ""
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		if json.Unmarshal(one, reflect.New(t.Elem()).Interface()) != nil {
			return k
		}
	}
	return ""
}

func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fairway.FieldError(name, "%q is not a whole number", v)
	}
	return n, nil
}

// queryLimit reads the limit parameter: left out, the call's default; given,
// a whole number of at least 1 (a 0 read as "the default" surprised).
func queryLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fairway.FieldError("limit", "%q is not a whole number", v)
	}
	if n < 1 {
		return 0, fairway.FieldError("limit", "must be at least 1, not %d; leave it out for the default", n)
	}
	return n, nil
}

// stepUpChallenge is the RFC 9470 step-up challenge for an ESTEPUP error.
func stepUpChallenge(e *fairway.Error) string {
	c := `Bearer error="insufficient_user_authentication", error_description=` + strconv.Quote(e.Message)
	if len(e.StepUp.ACRValues) > 0 {
		c += `, acr_values="` + strings.Join(e.StepUp.ACRValues, " ") + `"`
	}
	if e.StepUp.MaxAge > 0 {
		c += `, max_age=` + strconv.Itoa(e.StepUp.MaxAge)
	}
	return c
}
