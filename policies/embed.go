package policies

import "embed"

// embedded holds msguard's own policies and data, compiled into the binary.
//
//go:embed rego data
var embedded embed.FS
