package auth

import (
	"errors"
	"net/http"

	"github.com/portico-dev/portico/middleware"
)

// Authenticators is an [Authenticator] made of several, tried in order as
// [New] tries them: the first to return a consumer identifies
// the caller, whatever the others said. When none does, the error is the
// first rejection (wrapping [ErrInvalidCredentials], or whatever an
// authenticator returned), else the first [ErrUnavailable], else
// [ErrNoCredentials]. So a credential one method rejects can still be
// accepted by another that reads the same header, such as two kinds of
// API keys sent as "Authorization: Bearer".
//
// Use it to authenticate outside [New] with the same rules, as
// the gateway's AI endpoints do to answer in their clients' error format.
// An empty list finds no credentials.
type Authenticators []Authenticator

// Authenticate tries each authenticator in turn.
func (as Authenticators) Authenticate(r *http.Request) (*middleware.Consumer, error) {
	var failed, unavailable error
	for _, a := range as {
		c, err := a.Authenticate(r)
		if err == nil && c != nil {
			return c, nil
		}
		switch {
		case err == nil, errors.Is(err, ErrNoCredentials):
		case errors.Is(err, ErrUnavailable):
			if unavailable == nil {
				unavailable = err
			}
		default:
			if failed == nil {
				failed = err
			}
		}
	}
	switch {
	case failed != nil:
		return nil, failed
	case unavailable != nil:
		return nil, unavailable
	}
	return nil, ErrNoCredentials
}
