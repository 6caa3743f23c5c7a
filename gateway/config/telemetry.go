package config

import (
	"cmp"
	"errors"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/telemetry"
)

// TelemetryConfig returns the file's telemetry section for
// telemetry.Setup, with what it leaves unset taken from the standard
// OTEL_* environment variables (telemetry.FromEnv); ok is false when
// neither names a collector. An invalid field is a *gateway.FieldError
// naming it ("telemetry.sampling_ratio") with its line.
func (c *File) TelemetryConfig() (cfg telemetry.Config, ok bool, err error) {
	env, envOK := telemetry.FromEnv()
	if c.Telemetry == nil {
		return env, envOK, nil
	}
	cfg = *c.Telemetry
	if err := cfg.Validate(); err != nil {
		var errs []error
		for _, e := range unwrapAll(err) {
			var fe *telemetry.FieldError
			if errors.As(e, &fe) {
				e = &gateway.FieldError{Path: "telemetry." + fe.Field, Msg: fe.Msg}
			}
			errs = append(errs, c.annotate(e))
		}
		return telemetry.Config{}, false, errors.Join(errs...)
	}
	cfg.Endpoint = cmp.Or(cfg.Endpoint, env.Endpoint)
	cfg.Protocol = cmp.Or(cfg.Protocol, env.Protocol)
	cfg.ServiceName = cmp.Or(cfg.ServiceName, env.ServiceName)
	if len(cfg.Propagators) == 0 {
		cfg.Propagators = env.Propagators
	}
	return cfg, cfg.Endpoint != "" || envOK, nil
}

func unwrapAll(err error) []error {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		return m.Unwrap()
	}
	return []error{err}
}
