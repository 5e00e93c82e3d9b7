// Package portal serves Fairway's web pages: the governance overview, the
// lanes board, task pages where reviewers work, and the audit log with its
// verification state. Pages are rendered on the server with html/template
// from embedded templates and CSS, over a fairway.Service; the same pages
// are written as a static site by Build.
package portal

import (
	"context"
	"crypto/rand"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"fairway"
	"fairway/policy"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Authenticator maps a bearer token to an actor and what the identity
// provider says about them. The HTTP API's authenticators satisfy it, so
// the portal signs in exactly whom the API would.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*fairway.Actor, *fairway.Auth, error)
}

// Portal is the set of HTML handlers over a Service.
type Portal struct {
	svc    fairway.Service
	auth   Authenticator
	pages  map[string]*template.Template
	key    []byte
	logger *slog.Logger
	// Now is the clock pages are stamped with.
	Now func() time.Time
	// OIDC, when set, offers sign-in through the identity provider.
	OIDC *OIDCLogin
	// Links, when set, accepts one-time login links.
	Links LoginLinks

	closeoutCache closeoutCache
	policyMu      sync.Mutex
	policy        *policy.Policy
}

// New returns a portal over svc; auth resolves the token a person signs
// in with. The key signs CSRF tokens; a nil key picks a random one, which
// is right for one server (replicas behind one name share a key).
func New(svc fairway.Service, auth Authenticator, key []byte, logger *slog.Logger) *Portal {
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Portal{svc: svc, auth: auth, pages: mustParse(), key: key, logger: logger, Now: time.Now}
}

// pageNames are the templates, one file each, rendered inside layout.html.
var pageNames = []string{"overview", "lanes", "task", "audit", "search", "signin", "error", "deploys", "uat", "continue", "login"}

func mustParse() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html"))
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return out
}

// Handler returns the portal's routes. Every page but sign-in and the
// stylesheet needs a signed-in session; every POST needs its CSRF token.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /signin", p.signinForm)
	mux.HandleFunc("POST /signin", p.signin)
	mux.HandleFunc("POST /signout", p.signout)
	mux.HandleFunc("GET /login", p.loginLink)
	mux.HandleFunc("POST /signin/link", p.redeemLink)
	mux.HandleFunc("GET /oidc/start", p.oidcStart)
	mux.HandleFunc("GET /oidc/callback", p.oidcCallback)
	mux.HandleFunc("GET /{$}", p.page(p.overview))
	mux.HandleFunc("GET /lanes", p.page(p.lanes))
	mux.HandleFunc("GET /tasks/{key}", p.page(p.task))
	mux.HandleFunc("GET /audit", p.page(p.audit))
	mux.HandleFunc("GET /deploys", p.page(p.deploys))
	mux.HandleFunc("GET /uat", p.page(p.uat))
	mux.HandleFunc("GET /search", p.page(p.search))
	mux.HandleFunc("GET /evidence/{id}/{part}", p.signedIn(p.evidenceBytes))
	mux.HandleFunc("GET /live", p.signedIn(p.live))
	mux.HandleFunc("POST /tasks/{key}/reviews", p.action(p.review))
	mux.HandleFunc("POST /waivers/{id}/approve", p.action(p.approveWaiver))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusNotFound, "error", &view{Title: "Not found"}, errorData{Message: "There is no page at " + r.URL.Path + "."})
	})
	return secureHeaders(mux)
}

// contentSecurity allows nothing but this origin's stylesheet, images,
// form posts and its one script file (live updates) with its fetches:
// no inline script or style runs in a portal page, whatever text it shows.
const contentSecurity = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurity)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}
