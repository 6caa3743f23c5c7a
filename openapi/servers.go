package openapi

import (
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// challenge is the WWW-Authenticate challenge for the security scheme
// name, or "" for schemes HTTP has none for (API keys, mutual TLS).
func challenge(doc *openapi3.T, name string) string {
	if doc.Components == nil {
		return ""
	}
	ref := doc.Components.SecuritySchemes[name]
	if ref == nil || ref.Value == nil {
		return ""
	}
	switch s := ref.Value; s.Type {
	case "http":
		if strings.EqualFold(s.Scheme, "basic") {
			return `Basic realm="api"`
		}
		if s.Scheme != "" {
			return strings.ToUpper(s.Scheme[:1]) + s.Scheme[1:]
		}
	case "oauth2", "openIdConnect":
		return "Bearer"
	}
	return ""
}

func serverURLs(servers openapi3.Servers) []string {
	var out []string
	for _, s := range servers {
		out = append(out, s.URL)
	}
	return out
}

// basePaths returns the path parts of the server URLs ("/v1" for
// "https://api.example.com/v1"); server variables take their default.
func basePaths(servers openapi3.Servers) []string {
	var out []string
	for _, s := range servers {
		raw := s.URL
		for name, v := range s.Variables {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		out = appendUnique(out, strings.TrimSuffix(u.Path, "/"))
	}
	return out
}

func appendUnique(list []string, vals ...string) []string {
	for _, v := range vals {
		dup := false
		for _, x := range list {
			if x == v {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, v)
		}
	}
	return list
}
