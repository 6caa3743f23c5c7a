// Package redoc embeds the standalone bundle of Redoc 2.5.4
// (https://github.com/Redocly/redoc, MIT licence, see LICENSE and
// redoc.standalone.js.LICENSE.txt), so documentation pages render with no
// network access.
package redoc

import _ "embed"

// Version is the embedded Redoc release.
const Version = "2.5.4"

// Script is redoc.standalone.js.
//
//go:embed redoc.standalone.js
var Script []byte

// License is Redoc's licence followed by the notices of the libraries its
// bundle contains.
//
//go:embed LICENSE
var License []byte

// Notices lists the licences of the third-party code inside the bundle.
//
//go:embed redoc.standalone.js.LICENSE.txt
var Notices []byte
