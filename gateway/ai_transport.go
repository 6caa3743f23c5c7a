package gateway

import (
	"net/http"

	"github.com/portico-dev/portico/aiclient"
)

// aiHTTPClient returns the HTTP client provider p calls over: a transport
// tuned by p's settings (see aiclient.NewTransport), which every call to
// p shares. It is a piece of the gateway's state, kept across reloads
// while p's name and settings are unchanged, so that a reload keeps the
// warm connections (and TLS sessions) to the providers; its idle
// connections are closed once no gateway uses it.
func (g *Gateway) aiHTTPClient(p AIProvider) *http.Client {
	tr := keepClosing(g, pieceKey("ai_transport", p.Name, p.TransportConfig), func() (*http.Transport, func() error) {
		t := aiclient.NewTransport(p.TransportConfig)
		return t, func() error {
			t.CloseIdleConnections()
			return nil
		}
	})
	return &http.Client{Transport: tr}
}
