package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"fairway"
)

// OIDCConfig says which identity provider to trust and how to read its
// tokens. Fairway only verifies tokens; it never sees a password or a
// factor.
type OIDCConfig struct {
	Issuer   string
	Audience string
	// UsernameClaim names the actor (default preferred_username).
	UsernameClaim string
	// GroupsClaim lists the caller's groups (default groups).
	GroupsClaim string
	// MFAACRValues are acr values that prove a second factor, besides amr.
	MFAACRValues []string
	// MaxAge bounds how old auth_time may be for an approval that needs
	// MFA (default 15 minutes).
	MaxAge time.Duration
}

// mfaMethods are RFC 8176 amr values that mean a second factor was used.
var mfaMethods = []string{"mfa", "otp", "hwk", "sms", "fpt", "face", "iris", "retina", "vbm"}

// OIDCAuth accepts OIDC ID tokens from one issuer, and passes anything
// else to Fallback (Fairway's own bearer tokens).
type OIDCAuth struct {
	cfg      OIDCConfig
	verifier *oidc.IDTokenVerifier
	lookup   IdentityLookup
	fallback Authenticator
	now      func() time.Time
}

// IdentityLookup maps a verified token's issuer, subject and username
// claim to an actor (ledger.Ledger.ActorForIdentity binds them on first
// sign-in and refuses a subject that does not match the bound one).
type IdentityLookup func(ctx context.Context, issuer, subject, name string) (*fairway.Actor, error)

// authTimeLeeway is how far in the future auth_time may be, for clock skew
// between the identity provider and Fairway.
const authTimeLeeway = time.Minute

// NewOIDCAuth discovers the issuer's keys and returns the authenticator.
// lookup finds the actor a token names.
func NewOIDCAuth(ctx context.Context, cfg OIDCConfig, lookup IdentityLookup, fallback Authenticator) (*OIDCAuth, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, fmt.Errorf("oidc: both issuer and audience are required")
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 15 * time.Minute
	}
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discover %s: %w", cfg.Issuer, err)
	}
	a := &OIDCAuth{cfg: cfg, lookup: lookup, fallback: fallback, now: time.Now}
	a.verifier = provider.Verifier(&oidc.Config{ClientID: cfg.Audience, Now: func() time.Time { return a.now() }})
	return a, nil
}

// SetClock replaces the clock (tests).
func (a *OIDCAuth) SetClock(now func() time.Time) { a.now = now }

// Authenticate verifies an ID token's signature, issuer, audience and
// expiry, maps its subject to an actor and reads the MFA posture from
// amr, acr and auth_time.
func (a *OIDCAuth) Authenticate(ctx context.Context, token string) (*fairway.Actor, *fairway.Auth, error) {
	if strings.Count(token, ".") != 2 {
		if a.fallback == nil {
			return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the token is not an ID token from %s", a.cfg.Issuer)
		}
		return a.fallback.Authenticate(ctx, token)
	}
	idt, err := a.verifier.Verify(ctx, token)
	if err != nil {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the identity token was refused: %v; sign in again", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the identity token's claims do not parse: %v", err)
	}
	name, _ := claims[a.cfg.UsernameClaim].(string)
	if name == "" {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the identity token has no %s claim to name the actor", a.cfg.UsernameClaim)
	}
	if idt.Subject == "" {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the identity token has no sub claim")
	}
	if at, ok := claims["auth_time"].(float64); ok && time.Unix(int64(at), 0).After(a.now().Add(authTimeLeeway)) {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the identity token's auth_time is in the future; check the identity provider's clock and sign in again")
	}
	actor, err := a.lookup(ctx, idt.Issuer, idt.Subject, name)
	if err != nil {
		return nil, nil, err
	}
	// The ID token's expiry bounds what a request made with it issues (a
	// token, a session credential), as an expiring Fairway token's does.
	// Its id names it as the credential of what it issues, so signing out
	// ends that.
	sum := sha256.Sum256([]byte(token))
	auth := &fairway.Auth{Groups: stringList(claims[a.cfg.GroupsClaim]), MFA: a.posture(claims), ExpiresAt: idt.Expiry,
		CredentialID: fairway.TokenID(hex.EncodeToString(sum[:]))}
	return actor, auth, nil
}

// posture reads MFA from the claims: a second-factor amr value or an MFA
// acr, with an auth_time fresh enough.
func (a *OIDCAuth) posture(claims map[string]any) *fairway.MFAPosture {
	p := &fairway.MFAPosture{Source: "oidc", AMR: stringList(claims["amr"])}
	p.ACR, _ = claims["acr"].(string)
	if at, ok := claims["auth_time"].(float64); ok {
		p.AuthTime = time.Unix(int64(at), 0).UTC()
	}
	factor := slices.ContainsFunc(p.AMR, func(m string) bool { return slices.Contains(mfaMethods, m) }) ||
		(p.ACR != "" && slices.Contains(a.cfg.MFAACRValues, p.ACR))
	fresh := !p.AuthTime.IsZero() && a.now().Sub(p.AuthTime) <= a.cfg.MaxAge
	p.MFA = factor && fresh
	return p
}

func stringList(v any) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string:
		return []string{x}
	}
	return nil
}
