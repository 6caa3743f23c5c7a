// Package jsonscan reads JSON documents of known shapes straight into Go
// values, for the hot paths where encoding/json's reflection costs too
// much, and writes strings as encoding/json writes them, for the
// hand-written encoders beside those readers.
//
// # Reading
//
// A [Scanner] walks one document; [Scanner.Object] and [Array] walk its
// objects and arrays, and the other methods read one value each. Every
// method reports false on anything it does not handle exactly as
// encoding/json would: invalid JSON, a value of the wrong type, a
// duplicate or case-folded member name, a number of the wrong kind, a
// string that is not valid UTF-8, deep nesting. The caller then decodes
// the document with encoding/json, so a scan is only ever a faster path
// to the same values. A failed scan leaves its target partly filled.
// [Keep] records the members a type does not model, as aiclient.Unknown
// does.
//
// # Writing
//
// [AppendString] writes a string as json.Marshal does, copying the
// [Plain] ones and leaving the others to encoding/json.
//
// A Scanner is not safe for concurrent use; the functions are.
package jsonscan
