// Package headerlist splits the comma-separated lists of HTTP header
// fields (Cache-Control, Accept, Vary) while respecting quoted strings.
package headerlist

// Next splits a comma-separated list at the first comma that is not
// inside a quoted string.
func Next(s string) (member, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}
