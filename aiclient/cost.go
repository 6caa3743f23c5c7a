package aiclient

import (
	"cmp"
	"strings"
)

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	// Input is the price of input tokens not read from a cache.
	Input float64 `json:"input"`
	// CachedInput is the price of input tokens read from a prompt cache.
	// Zero means Input.
	CachedInput float64 `json:"cached_input,omitempty"`
	// CacheWrite is the price of input tokens written to a prompt cache.
	// Zero means Input.
	CacheWrite float64 `json:"cache_write,omitempty"`
	// Output is the price of output tokens.
	Output float64 `json:"output"`
	// Reasoning is the price of reasoning tokens. Zero means Output.
	Reasoning float64 `json:"reasoning,omitempty"`
}

// Cost returns the cost of u at price p, in US dollars: uncached input at
// Input, cache reads at CachedInput, cache writes at CacheWrite, reasoning
// at Reasoning and the rest of the output at Output.
func (p Price) Cost(u Usage) float64 {
	uncached := u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens
	visible := u.OutputTokens - u.ReasoningTokens
	total := float64(max(uncached, 0))*p.Input +
		float64(u.CacheReadTokens)*cmp.Or(p.CachedInput, p.Input) +
		float64(u.CacheWriteTokens)*cmp.Or(p.CacheWrite, p.Input) +
		float64(max(visible, 0))*p.Output +
		float64(u.ReasoningTokens)*cmp.Or(p.Reasoning, p.Output)
	return total / 1e6
}

// Prices maps model names to prices. A model not found by its exact name
// is looked up by its longest prefix ending in "-" or "@", so "gpt-4o"
// also prices "gpt-4o-2024-08-06" unless that has its own entry.
//
// The package ships no prices: they change too often to be compiled in.
// Load them from configuration and pass them with [WithPrices].
type Prices map[string]Price

// Lookup returns the price of model and whether one is known.
func (ps Prices) Lookup(model string) (Price, bool) {
	if p, ok := ps[model]; ok {
		return p, true
	}
	for name := model; ; {
		i := strings.LastIndexAny(name, "-@")
		if i <= 0 {
			return Price{}, false
		}
		name = name[:i]
		if p, ok := ps[name]; ok {
			return p, true
		}
	}
}

// Cost returns the cost of u for model and whether the model is priced.
func (ps Prices) Cost(model string, u Usage) (float64, bool) {
	p, ok := ps.Lookup(model)
	if !ok {
		return 0, false
	}
	return p.Cost(u), true
}

// MaxCost returns the most input and output tokens can cost at p, in US
// dollars: input at the highest of its input prices (uncached, cache
// read, cache write) and output at the higher of Output and Reasoning,
// for a ceiling to reserve before a call whose usage is not known yet.
func (p Price) MaxCost(input, output int64) float64 {
	in := max(p.Input, p.CachedInput, p.CacheWrite)
	out := max(p.Output, p.Reasoning)
	return (float64(max(input, 0))*in + float64(max(output, 0))*out) / 1e6
}
