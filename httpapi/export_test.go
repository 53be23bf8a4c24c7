package httpapi

// Route is an endpoint as the contract test sees it.
type Route struct {
	Method, Path string
	Stream       bool
}

// Routes lists the endpoints h serves, for the contract test, which checks
// them against docs/openapi.yaml.
func (h *Handler) Routes() []Route {
	var out []Route
	for _, rt := range h.routes() {
		out = append(out, Route{Method: rt.Method, Path: rt.Path, Stream: rt.Stream})
	}
	return out
}

// ForgetRevenue drops the cached revenue sums, so that a test sees an exit
// at once.
func (h *Handler) ForgetRevenue() {
	h.revenue.mu.Lock()
	h.revenue.byID = nil
	h.revenue.mu.Unlock()
}
