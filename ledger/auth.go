package ledger

import (
	"context"

	"fairway"
)

// TokenAuth adapts the ledger's bearer tokens to the HTTP server's
// Authenticator: a Fairway token names an actor and carries no groups and
// no MFA posture.
type TokenAuth struct{ L *Ledger }

// Authenticate resolves a Fairway bearer token.
func (t TokenAuth) Authenticate(ctx context.Context, token string) (*fairway.Actor, *fairway.Auth, error) {
	a, err := t.L.Authenticate(ctx, token)
	return a, nil, err
}
