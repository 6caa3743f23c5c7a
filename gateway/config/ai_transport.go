package config

import (
	"net/http"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/gateway"
)

// transportCloser closes a provider transport's idle connections.
type transportCloser struct{ *http.Transport }

func (t transportCloser) Close() error {
	t.CloseIdleConnections()
	return nil
}

// aiHTTPClient returns, for the build b, the function giving the HTTP
// client provider p calls over: a transport tuned by p's settings (see
// aiclient.NewTransport), which every call to p shares. It is a piece of
// the gateway's state, kept across reloads while p's name and settings
// are unchanged, so that a reload keeps the warm connections (and TLS
// sessions) to the providers; its idle connections are closed once no
// gateway uses it. A state that cannot lend it (a closed one) fails the
// build, which then uses a transport of its own.
func aiHTTPClient(b *gateway.Builder) func(p AIProvider) *http.Client {
	return func(p AIProvider) *http.Client {
		v, err := b.Keep("ai_transport", func() (any, error) {
			return transportCloser{aiclient.NewTransport(p.TransportConfig)}, nil
		}, p.Name, p.TransportConfig)
		if err != nil {
			return &http.Client{Transport: aiclient.NewTransport(p.TransportConfig)}
		}
		return &http.Client{Transport: v.(transportCloser).Transport}
	}
}
