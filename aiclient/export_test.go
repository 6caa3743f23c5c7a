package aiclient

// Order exposes the candidate order for a model, for tests.
func Order(c *Client, model string) []Candidate {
	cs, _ := c.plan(model)
	return cs
}
