// Package pathnorm normalizes request paths, so that what a gateway
// matches, authorizes and forwards is one path, the same for every
// spelling a client may send.
//
// [Normalize] takes an escaped path (as url.URL.EscapedPath returns it)
// and returns its normal form:
//
//   - dot segments ("." and "..") are resolved as RFC 3986 §5.2.4 says; a
//     ".." above the root is dropped, so "/../x" is "/x";
//   - repeated slashes are merged, so "/a//b" is "/a/b";
//   - percent-encoded unreserved characters are decoded ("%7Euser" is
//     "~user") and the hex digits of the other escapes are upper-cased
//     (RFC 3986 §6.2.2);
//   - bytes that may not appear in a path are escaped.
//
// It refuses a path holding a control character (escaped or not), a
// segment that is a dot segment followed by ';' ("..;x", which some
// servers read as ".."), a path that does not start with '/', and — in
// [Reject] mode — an escaped dot, slash or backslash ("%2E", "%2F",
// "%5C") or a backslash; in [Decode] mode those are decoded (a backslash
// as a slash) before dot segments are resolved.
//
// [URL] applies it to a request's URL, allocating nothing when the path
// is already normal, which [IsNormal] checks in one scan. The functions
// are pure and safe for concurrent use.
package pathnorm
