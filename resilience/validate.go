package resilience

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// The Validate methods let a caller that builds configs from input (a
// config file, an OpenAPI extension) report a mistake as an error naming
// the field and the fix, instead of the panic the constructors raise for
// wiring mistakes.

func check(errs []error) error { return errors.Join(errs...) }

func nonNegative(field string, v int64, unit string) error {
	if v < 0 {
		return fmt.Errorf("%s is %d: use 0 for the default or a positive %s", field, v, unit)
	}
	return nil
}

func nonNegativeDur(field string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s is %v: use 0 for the default or a positive duration", field, d)
	}
	return nil
}

// Validate reports every invalid field of c.
func (c RetryConfig) Validate() error {
	return check([]error{
		nonNegative("RetryConfig.MaxAttempts", int64(c.MaxAttempts), "count"),
		nonNegativeDur("RetryConfig.BaseDelay", c.BaseDelay),
		nonNegativeDur("RetryConfig.MaxDelay", c.MaxDelay),
		nonNegative("RetryConfig.MaxBodyBuffer", c.MaxBodyBuffer, "byte count"),
	})
}

// Validate reports every invalid field of c.
func (c BreakerConfig) Validate() error {
	errs := []error{
		nonNegative("BreakerConfig.ConsecutiveFailures", int64(c.ConsecutiveFailures), "count"),
		nonNegative("BreakerConfig.MinCalls", int64(c.MinCalls), "count"),
		nonNegative("BreakerConfig.HalfOpenProbes", int64(c.HalfOpenProbes), "count"),
		nonNegativeDur("BreakerConfig.Window", c.Window),
		nonNegativeDur("BreakerConfig.SlowCall", c.SlowCall),
		nonNegativeDur("BreakerConfig.OpenFor", c.OpenFor),
	}
	if c.FailureRate < 0 || c.FailureRate > 1 {
		errs = append(errs, fmt.Errorf("BreakerConfig.FailureRate is %v: use a fraction in (0, 1], such as 0.5, or 0 to disable", c.FailureRate))
	}
	return check(errs)
}

// Validate reports every invalid field of c.
func (c BulkheadConfig) Validate() error {
	var errs []error
	if c.MaxConcurrent <= 0 {
		errs = append(errs, fmt.Errorf("BulkheadConfig.MaxConcurrent is %d: set the number of requests allowed in flight (> 0)", c.MaxConcurrent))
	}
	return check(append(errs,
		nonNegativeDur("BulkheadConfig.MaxWait", c.MaxWait),
		nonNegativeDur("BulkheadConfig.RetryAfter", c.RetryAfter)))
}

// Validate reports every invalid field of c.
func (c HedgeConfig) Validate() error {
	var errs []error
	if c.Delay <= 0 {
		errs = append(errs, fmt.Errorf("HedgeConfig.Delay is %v: set how long to wait before hedging (> 0)", c.Delay))
	}
	if c.Quantile < 0 || c.Quantile >= 1 {
		errs = append(errs, fmt.Errorf("HedgeConfig.Quantile is %v: use a fraction in (0, 1), such as 0.95, or 0 for the fixed Delay", c.Quantile))
	}
	return check(append(errs, nonNegative("HedgeConfig.MaxHedges", int64(c.MaxHedges), "count")))
}

// Validate reports every invalid field of c.
func (c FallbackConfig) Validate() error {
	if c.Func == nil && (c.Status < 100 || c.Status > 999) {
		return fmt.Errorf("FallbackConfig.Status is %d: set a status code (100-999) for the static response, or a Func", c.Status)
	}
	return nil
}

// Validate reports every invalid field of c.
func (c BudgetConfig) Validate() error {
	var errs []error
	if c.Ratio < 0 {
		errs = append(errs, fmt.Errorf("BudgetConfig.Ratio is %v: use 0 for the default (0.2) or a positive fraction", c.Ratio))
	}
	return check(append(errs,
		nonNegative("BudgetConfig.Min", int64(c.Min), "count"),
		nonNegativeDur("BudgetConfig.Window", c.Window)))
}

// Validate reports every invalid field of c, including its Adaptive part.
func (c AdmissionConfig) Validate() error {
	errs := []error{
		nonNegative("AdmissionConfig.MaxConcurrent", int64(c.MaxConcurrent), "count"),
		nonNegative("AdmissionConfig.PerKey", int64(c.PerKey), "count"),
		nonNegativeDur("AdmissionConfig.MaxWait", c.MaxWait),
		nonNegativeDur("AdmissionConfig.RetryAfter", c.RetryAfter),
	}
	if (c.Key == nil) != (c.PerKey == 0) {
		errs = append(errs, errors.New("AdmissionConfig.Key and PerKey go together: set both for a per-client cap, or neither"))
	}
	if (c.Critical == nil) != (c.ShedAt == 0) || c.ShedAt < 0 || c.ShedAt > 1 {
		errs = append(errs, fmt.Errorf("AdmissionConfig.ShedAt is %v: set it in (0, 1] together with Critical, or neither", c.ShedAt))
	}
	if c.ShedAt > 0 && c.MaxConcurrent == 0 && c.Adaptive == nil {
		errs = append(errs, errors.New("AdmissionConfig.ShedAt needs a limit to be a fraction of: set MaxConcurrent or Adaptive"))
	}
	if c.Adaptive != nil {
		errs = append(errs, c.Adaptive.Validate())
	}
	return check(errs)
}

// Validate reports every invalid field of c.
func (c AdaptiveConfig) Validate() error {
	errs := []error{
		nonNegative("AdaptiveConfig.MinLimit", int64(c.MinLimit), "count"),
		nonNegative("AdaptiveConfig.MaxLimit", int64(c.MaxLimit), "count"),
		nonNegative("AdaptiveConfig.InitialLimit", int64(c.InitialLimit), "count"),
		nonNegative("AdaptiveConfig.MinSamples", int64(c.MinSamples), "count"),
		nonNegativeDur("AdaptiveConfig.Window", c.Window),
	}
	if c.Quantile < 0 || c.Quantile >= 1 {
		errs = append(errs, fmt.Errorf("AdaptiveConfig.Quantile is %v: use a fraction in (0, 1), or 0 for the default (0.9)", c.Quantile))
	}
	if c.MaxLimitFactor != 0 && c.MaxLimitFactor < 1 {
		errs = append(errs, fmt.Errorf("AdaptiveConfig.MaxLimitFactor is %v: use 0 for the default (5) or a factor >= 1", c.MaxLimitFactor))
	}
	lo, hi, init := cmp.Or(c.MinLimit, 1), cmp.Or(c.MaxLimit, 200), cmp.Or(c.InitialLimit, 20)
	if lo >= 0 && hi >= 0 && init >= 0 && (lo > hi || init < lo || init > hi) {
		errs = append(errs, fmt.Errorf("AdaptiveConfig limits are min %d, initial %d, max %d: they need MinLimit <= InitialLimit <= MaxLimit", lo, init, hi))
	}
	return check(errs)
}

// mustValid panics with the package prefix if err is not nil.
func mustValid(err error) {
	if err != nil {
		panic("portico/resilience: " + err.Error())
	}
}
