package rpc

import (
	"net/http"
	"slices"
)

// cors answers browsers as CometBFT's node does when [rpc] cors_allowed_origins is set
// (its default methods and headers); with no origins configured it adds nothing. A
// wildcard origin "*" allows every origin.
func cors(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (slices.Contains(origins, "*") || slices.Contains(origins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "HEAD, GET, POST")
				h.Set("Access-Control-Allow-Headers", "Origin, Accept, Content-Type, X-Requested-With, X-Server-Time")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
