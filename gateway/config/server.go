package config

import "github.com/portico-dev/portico/gateway"

// ServerConfig returns what the listener's server needs from the file:
// the server section, with TLS built from the tls section (see
// [File.ServerTLS]). Both are read once: a reload changes routes and
// policies, not the listener. Errors name the field and its line.
func (c *File) ServerConfig() (gateway.ServerConfig, error) {
	var sc gateway.ServerConfig
	if c.Server != nil {
		sc = *c.Server
	}
	tc, err := c.ServerTLS()
	if err != nil {
		return gateway.ServerConfig{}, err
	}
	sc.TLS = tc
	if err := sc.Validate(); err != nil {
		return gateway.ServerConfig{}, c.annotate(err)
	}
	return sc, nil
}
