package portal

import (
	"context"
	"crypto/hmac"
	"net/http"
	"strings"

	"fairway"
)

// LoginLinks spends one-time login links, and revokes the token one
// yielded when its person signs out (the ledger does both).
type LoginLinks interface {
	RedeemLoginLink(ctx context.Context, link string) (*fairway.ActorCreated, error)
	SignOut(ctx context.Context, token string) error
}

type loginData struct {
	Link, Nonce, Next string
}

// loginLink shows the page a one-time link opens: a button that spends
// it. Opening the link spends nothing, so a link previewer or a browser
// prefetch cannot use it up before its person does.
func (p *Portal) loginLink(w http.ResponseWriter, r *http.Request) {
	link := r.URL.Query().Get("link")
	if p.Links == nil || link == "" {
		p.showSignin(w, r, http.StatusNotFound, "This link signs no one in here. Ask for a new one with `fairway portal login-link`.")
		return
	}
	nonce := p.signinNonce(w, r)
	p.render(w, r, http.StatusOK, "login", &view{Title: "Sign in"}, loginData{Link: link, Nonce: nonce, Next: safeNext(r.URL.Query().Get("next"))})
}

// redeemLink spends a one-time link posted from its page and starts the
// session with the token it yields.
func (p *Portal) redeemLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(signinCookie)
	if err != nil || c.Value == "" || !hmac.Equal([]byte(c.Value), []byte(r.PostFormValue("nonce"))) {
		p.showSignin(w, r, http.StatusForbidden, "The sign-in form expired or came from elsewhere. Open your link again.")
		return
	}
	if p.Links == nil {
		p.showSignin(w, r, http.StatusNotFound, "Login links are not accepted here.")
		return
	}
	out, err := p.Links.RedeemLoginLink(r.Context(), strings.TrimSpace(r.PostFormValue("link")))
	if err != nil {
		msg := "That link signs no one in."
		if fe, ok := err.(*fairway.Error); ok {
			msg = fe.Message
		}
		p.showSignin(w, r, http.StatusUnauthorized, msg)
		return
	}
	p.logger.Info("portal sign-in", "actor", out.Actor.Name, "kind", out.Actor.Kind, "via", "login link")
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: "", Path: "/signin", MaxAge: -1})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: out.Token, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}
