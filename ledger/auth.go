package ledger

import (
	"context"
	"strings"

	"fairway"
)

// TokenAuth adapts the ledger's bearer tokens to the HTTP server's
// Authenticator: a Fairway token names an actor and carries no groups and
// no MFA posture; it carries its id (a session it attaches records it)
// and its expiry.
type TokenAuth struct{ L *Ledger }

// Authenticate resolves a Fairway bearer token: an actor's token, or a
// session credential, which yields the session's actor and an Auth
// carrying the session and its generation.
func (t TokenAuth) Authenticate(ctx context.Context, token string) (*fairway.Actor, *fairway.Auth, error) {
	if strings.HasPrefix(token, SessionTokenPrefix) {
		return t.L.AuthenticateSession(ctx, token)
	}
	a, k, err := t.L.authenticateToken(ctx, HashToken(token))
	if err != nil {
		return nil, nil, err
	}
	return a, &fairway.Auth{ExpiresAt: k.ExpiresAt, TokenID: k.ID}, nil
}
