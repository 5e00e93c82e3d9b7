package portal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"fairway"
)

// Cookie names. The session cookie holds the bearer token the person
// signed in with: HttpOnly so no script reads it, SameSite=Strict so no
// other site's form or link carries it, Secure over TLS.
const (
	sessionCookie = "fairway_session"
	signinCookie  = "fairway_signin"
)

// caller is who a request acts as.
type caller struct {
	actor *fairway.Actor
	auth  *fairway.Auth
	token string
}

// authenticate resolves the session cookie; nil when there is none or it
// no longer names an enabled actor with a live token.
func (p *Portal) authenticate(r *http.Request) (*caller, context.Context) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	actor, auth, err := p.auth.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, nil
	}
	ctx := fairway.NewContextWithActor(r.Context(), actor)
	if auth != nil {
		ctx = fairway.NewContextWithAuth(ctx, auth)
	}
	return &caller{actor: actor, auth: auth, token: c.Value}, ctx
}

// csrfToken binds a form to the session it was served to: an HMAC of the
// session's token under the portal's key. A page of another site cannot
// read it, so it cannot forge a post that carries it.
func (p *Portal) csrfToken(session string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (p *Portal) validCSRF(r *http.Request, session string) bool {
	got := r.PostFormValue("csrf")
	return got != "" && hmac.Equal([]byte(got), []byte(p.csrfToken(session)))
}

// signedIn runs h for a signed-in caller, and sends anyone else to sign in.
func (p *Portal) signedIn(h func(w http.ResponseWriter, r *http.Request, c *caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ctx := p.authenticate(r)
		if c == nil {
			to := "/signin?next=" + url.QueryEscape(r.URL.RequestURI())
			if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
				// A cookie that no longer signs in: say so, and drop it.
				to += "&ended=1"
				http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r.WithContext(ctx), c)
	}
}

// action runs a form post for a signed-in caller whose CSRF token
// matches; anything else is refused before the ledger is asked.
func (p *Portal) action(h func(w http.ResponseWriter, r *http.Request, c *caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		c, ctx := p.authenticate(r)
		if c == nil {
			p.render(w, r, http.StatusUnauthorized, "error", &view{Title: "Sign in"}, errorData{Message: "Your session has ended. Sign in again, then repeat what you were doing."})
			return
		}
		if !p.validCSRF(r, c.token) {
			p.render(w, r, http.StatusForbidden, "error", &view{Title: "Refused"}, errorData{Message: "This form did not come from a page of this portal (its CSRF token is missing or wrong). Reload the page and try again."})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r.WithContext(ctx), c)
	}
}

type signinData struct {
	OIDC    bool
	Next    string
	Nonce   string
	Message string
}

func (p *Portal) signinForm(w http.ResponseWriter, r *http.Request) {
	msg := ""
	if r.FormValue("ended") == "1" {
		msg = "Your sign-in has ended: it expired, was signed out, or its token was revoked. Sign in again."
	}
	p.showSignin(w, r, http.StatusOK, msg)
}

// showSignin serves the form with a fresh nonce in a cookie and in the
// form (double submit), so another site cannot sign a browser in as
// someone else.
func (p *Portal) showSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	nonce := p.signinNonce(w, r)
	p.render(w, r, status, "signin", &view{Title: "Sign in"}, signinData{OIDC: p.OIDC != nil, Next: safeNext(r.FormValue("next")), Nonce: nonce, Message: msg})
}

func (p *Portal) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(signinCookie)
	if err != nil || c.Value == "" || !hmac.Equal([]byte(c.Value), []byte(r.PostFormValue("nonce"))) {
		p.showSignin(w, r, http.StatusForbidden, "The sign-in form expired or came from elsewhere. Paste your token again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		p.showSignin(w, r, http.StatusBadRequest, "Paste a token: `fairway actor create` or `fairway token rotate` prints one.")
		return
	}
	actor, _, err := p.auth.Authenticate(r.Context(), token)
	if err != nil {
		msg := "That token signs in no one: it is unknown, revoked, expired, or its actor is disabled."
		if fairway.ErrorCode(err) == fairway.EUNAUTHORIZED {
			// The ledger's reason says which, and what to do: the one
			// pasting the token holds it.
			msg = "That token signs in no one: " + fairway.ErrorMessage(err)
		}
		p.showSignin(w, r, http.StatusUnauthorized, msg)
		return
	}
	p.logger.Info("portal sign-in", "actor", actor.Name, "kind", actor.Kind)
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: "", Path: "/signin", MaxAge: -1})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// signout ends the browser's session: the token a login link minted for
// it is revoked (audited), so a copy of the cookie stops working too; a
// token the person pasted is theirs, and only forgotten here.
func (p *Portal) signout(w http.ResponseWriter, r *http.Request) {
	c, _ := p.authenticate(r)
	if c != nil && !p.validCSRF(r, c.token) {
		p.render(w, r, http.StatusForbidden, "error", &view{Title: "Refused"}, errorData{Message: "This form did not come from a page of this portal. Reload the page and try again."})
		return
	}
	if c != nil && p.Links != nil {
		if err := p.Links.SignOut(r.Context(), c.token); err != nil {
			p.logger.Error("portal sign-out: revoking the session's token", "actor", c.actor.Name, "err", err)
			p.render(w, r, http.StatusInternalServerError, "error", &view{Title: "Sign out"}, errorData{Message: "Signing out failed: the session's token could not be revoked, so it still works. Try again; if it keeps failing, revoke it with `fairway token list` and `fairway token revoke ID`."})
			return
		}
		p.logger.Info("portal sign-out", "actor", c.actor.Name)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// safeNext keeps a redirect after sign-in on this site: a path, never
// another origin (//host or a scheme). A browser drops tabs and newlines
// from a URL before reading it ("/<TAB>/host" is "//host") and reads a
// backslash as a slash, so a next holding any of those, or any other
// control character, is not kept.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, func(r rune) bool {
		return r == '\\' || r < 0x20 || r == 0x7f
	}) {
		return "/"
	}
	return next
}

// signinNonce sets a fresh sign-in nonce cookie and returns the nonce for
// the form (double submit).
func (p *Portal) signinNonce(w http.ResponseWriter, r *http.Request) string {
	b := make([]byte, 18)
	rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: nonce, Path: "/signin", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 600})
	w.Header().Set("Cache-Control", "no-store")
	return nonce
}
