package portal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCLogin signs people in through an OpenID Connect identity provider
// with the authorization-code flow and PKCE. The ID token it receives is
// checked by the portal's Authenticator — the same OIDC verification,
// claim mapping and MFA posture as the API — and kept as the session.
// Fairway never sees a password or a factor.
type OIDCLogin struct {
	oauth oauth2.Config
}

// NewOIDCLogin discovers the issuer's endpoints. The client secret may be
// empty for a public client (PKCE alone).
func NewOIDCLogin(ctx context.Context, issuer, clientID, clientSecret string) (*OIDCLogin, error) {
	if issuer == "" || clientID == "" {
		return nil, fmt.Errorf("oidc login: both issuer and client id are required")
	}
	prov, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc login: discover %s: %w", issuer, err)
	}
	return &OIDCLogin{oauth: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: prov.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups"}}}, nil
}

// oidcCookie carries the login in flight: state, nonce, PKCE verifier and
// where to go after, signed with the portal's key. SameSite=Lax, because
// the identity provider's redirect back is a navigation from its site.
const oidcCookie = "fairway_oidc"

// oidcFlight is what the cookie holds.
type oidcFlight struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
}

func (p *Portal) callbackURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/oidc/callback"
}

func (p *Portal) oidcStart(w http.ResponseWriter, r *http.Request) {
	if p.OIDC == nil {
		p.showSignin(w, r, http.StatusNotFound, "No identity provider is configured; paste a token or use a login link.")
		return
	}
	f := oidcFlight{State: randomText(18), Nonce: randomText(18), Verifier: oauth2.GenerateVerifier(), Next: safeNext(r.URL.Query().Get("next")),
		Expires: p.Now().Add(10 * time.Minute).Unix()}
	body, _ := json.Marshal(f)
	val := base64.RawURLEncoding.EncodeToString(body)
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: val + "." + p.sign("oidc", val), Path: "/oidc/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: 600})
	cfg := p.OIDC.oauth
	cfg.RedirectURL = p.callbackURL(r)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, cfg.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce)), http.StatusFound)
}

func (p *Portal) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if p.OIDC == nil {
		p.showSignin(w, r, http.StatusNotFound, "No identity provider is configured.")
		return
	}
	fail := func(status int, msg string) {
		http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/oidc/", MaxAge: -1})
		p.showSignin(w, r, status, msg)
	}
	f, ok := p.readFlight(r)
	if !ok {
		fail(http.StatusForbidden, "This sign-in did not start here or took too long. Sign in again.")
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		fail(http.StatusUnauthorized, "The identity provider did not sign you in ("+e+"). Sign in again.")
		return
	}
	if !hmac.Equal([]byte(q.Get("state")), []byte(f.State)) || q.Get("code") == "" {
		fail(http.StatusForbidden, "The identity provider's answer does not belong to this sign-in (state differs). Sign in again.")
		return
	}
	cfg := p.OIDC.oauth
	cfg.RedirectURL = p.callbackURL(r)
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		p.logger.Warn("portal oidc exchange", "err", err)
		fail(http.StatusUnauthorized, "The identity provider refused the sign-in code. Sign in again.")
		return
	}
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		fail(http.StatusUnauthorized, "The identity provider returned no ID token. Sign in again.")
		return
	}
	actor, _, err := p.auth.Authenticate(r.Context(), idToken)
	if err != nil {
		fail(http.StatusUnauthorized, "The identity token signs in no one here: "+err.Error())
		return
	}
	// The token verified; its nonce must be the one this sign-in sent, so
	// a token from another login cannot be replayed into this one.
	if nonce, _ := jwtClaim(idToken, "nonce"); !hmac.Equal([]byte(nonce), []byte(f.Nonce)) {
		fail(http.StatusForbidden, "The identity token was issued for another sign-in (nonce differs). Sign in again.")
		return
	}
	p.logger.Info("portal sign-in", "actor", actor.Name, "kind", actor.Kind, "via", "oidc")
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/oidc/", MaxAge: -1})
	p.startSession(w, r, idToken, f.Next)
}

// startSession sets the session cookie and moves on to next. The move is
// a page of this site, not a redirect: after a redirect chain that began
// at another site, a browser would hold back a SameSite=Strict cookie
// from the next request.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, token, next string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	w.Header().Set("Cache-Control", "no-store")
	next = safeNext(next)
	p.render(w, r, http.StatusOK, "continue", &view{Title: "Signed in", Refresh: next}, continueData{Next: next})
}

type continueData struct{ Next string }

func (p *Portal) readFlight(r *http.Request) (*oidcFlight, bool) {
	c, err := r.Cookie(oidcCookie)
	if err != nil {
		return nil, false
	}
	val, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(p.sign("oidc", val))) {
		return nil, false
	}
	body, err := base64.RawURLEncoding.DecodeString(val)
	if err != nil {
		return nil, false
	}
	var f oidcFlight
	if json.Unmarshal(body, &f) != nil || p.Now().Unix() > f.Expires {
		return nil, false
	}
	return &f, true
}

// sign is an HMAC of value under the portal's key, for purpose.
func (p *Portal) sign(purpose, value string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(purpose + "\x00" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// jwtClaim reads one string claim of a JWT whose signature was checked
// already.
func jwtClaim(token, name string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims map[string]any
	if json.Unmarshal(body, &claims) != nil {
		return "", false
	}
	s, ok := claims[name].(string)
	return s, ok
}
