// Package failpoint lets crash tests stop msguard at a named point, so that
// resume and backout can be tested after a kill at every journal write.
//
// Hit is compiled in only with the build tag "failpoints"; in a normal
// build it is an empty function and Enabled reports false. With the tag,
// Hit(name) SIGKILLs the process when the environment variable
// MSGUARD_FAILPOINT equals name (the first hit) or "name#N" (the N-th hit
// of name, counting from 1). The kill is immediate: no deferred function,
// buffered writer or fsync runs, as in a power cut of the process.
package failpoint

// EnvVar names the environment variable that selects the failpoint.
const EnvVar = "MSGUARD_FAILPOINT"
