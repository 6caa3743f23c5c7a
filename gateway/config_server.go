package gateway

// ServerConfig returns what the listener's server needs from the file:
// the server section, with TLS built from the tls section (see
// [Config.ServerTLS]). Both are read once: a reload changes routes and
// policies, not the listener. Errors name the field and its line.
func (c *Config) ServerConfig() (ServerConfig, error) {
	var sc ServerConfig
	if c.Server != nil {
		sc = *c.Server
	}
	tc, err := c.ServerTLS()
	if err != nil {
		return ServerConfig{}, err
	}
	sc.TLS = tc
	if err := sc.validate(); err != nil {
		return ServerConfig{}, c.annotate(err)
	}
	return sc, nil
}
