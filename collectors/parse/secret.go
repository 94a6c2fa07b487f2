package parse

import (
	"regexp"
	"strings"
)

// secretWords are the key fragments that mark a secret value. Matching is
// by substring, so it errs on the side of redacting too much: "RootDNPwd",
// "ServiceAdminPassword", "local.service.pab.ldappasswd",
// "local.ugldapbindcred", "ssl.passphrase", "secret".
var secretWords = []string{"pwd", "passw", "passphrase", "cred", "secret"}

// secretKeys are whole keys that hold a secret without saying so: adm.conf
// "siepid" is the Administration Server's SIE password.
var secretKeys = []string{"siepid"}

// IsSecretKey reports whether a configuration key names a secret whose
// value must never be copied into facts, reports or logs. It is
// case-insensitive.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretKeys {
		if k == w {
			return true
		}
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// hashValue matches a stored password hash such as "{SSHA}abc..." or
// "{crypt}xyz".
var hashValue = regexp.MustCompile(`^\s*\{[A-Za-z0-9._-]{2,16}\}\S`)

// IsSecretValue reports whether a value looks like a password hash
// ("{SSHA}...", "{SHA}...", "{crypt}..."), which is redacted whatever its
// key is called.
func IsSecretValue(v string) bool { return hashValue.MatchString(v) }

// inlinePair matches "key=value" inside a larger value, e.g. the
// servlet initArgs "ldapurl=ldap://h/o=x,password=s".
var inlinePair = regexp.MustCompile(`([A-Za-z0-9_.-]+)(\s*=\s*)([^,;&\s]*)`)

// RedactInline replaces the value of every "key=value" pair inside v whose
// key is a secret (IsSecretKey) with repl, and returns v otherwise
// unchanged.
func RedactInline(v, repl string) string {
	return inlinePair.ReplaceAllStringFunc(v, func(pair string) string {
		m := inlinePair.FindStringSubmatch(pair)
		if !IsSecretKey(m[1]) || m[3] == "" {
			return pair
		}
		return m[1] + m[2] + repl
	})
}
