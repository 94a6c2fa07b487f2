// Package ablate lets the ablation sweep (make ablate) turn one piece of
// remediate's work into a no-op, to prove that every step's verify (or a
// later gate) notices when a step's effect is missing, as it must when a
// real installer or tool exits 0 having done nothing.
//
// Skip is compiled in only with the build tag "ablate"; in a normal build
// it always reports false. With the tag, Skip(point) reports true when the
// environment variable MSGUARD_ABLATE equals point. A point is a step id
// ("backup.ldif": the step's do is skipped) or a step id with a part
// ("post.start:start-admin": only that command of the step is skipped).
package ablate

// EnvVar names the environment variable that selects the ablated point.
const EnvVar = "MSGUARD_ABLATE"
