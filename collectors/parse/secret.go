package parse

import (
	"regexp"
	"strings"
)

// secretWords are the key fragments that mark a secret value. Matching is
// by substring, so it errs on the side of redacting too much: "RootDNPwd",
// "ServiceAdminPassword", "local.service.pab.ldappasswd",
// "local.ugldapbindcred", "ssl.passphrase", "secret", and the Web Server's
// LDAP "bindpw" (the command-line rules of package redact know it too).
var secretWords = []string{"pwd", "passw", "passphrase", "cred", "secret", "bindpw"}

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

// inlineKey matches the "key=" of a "key=value" pair inside a larger
// value, e.g. the servlet initArgs "ldapurl=ldap://h/o=x,password=s" or a
// URL query "ldap://h/o=x?password=s".
var inlineKey = regexp.MustCompile(`([A-Za-z0-9_.-]+)[ \t]*=[ \t]*`)

// inlineValue matches the value after a secret key's "=": a double-quoted
// string (to its closing quote, or the end), or up to the next separator.
var inlineValue = regexp.MustCompile(`^(?:"[^"]*"?|[^,;&\s]*)`)

// urlPassword matches "scheme://user:password@" (the password is group 2).
var urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)[^/@\s]*@`)

// RedactInline replaces, inside v, the password of every URL carrying user
// information ("ldap://admin:pw@h/" → "ldap://admin:REPL@h/") and the
// value of every "key=value" pair whose key is a secret (IsSecretKey),
// wherever the pair is: after a separator, in a URL's query, or inside the
// value of another pair. The rest of v is returned unchanged. The
// collector script's awk function inline (collectors/script/collect.sh)
// applies the same rules.
func RedactInline(v, repl string) string {
	v = urlPassword.ReplaceAllString(v, "${1}"+strings.ReplaceAll(repl, "$", "$$")+"@")
	var b strings.Builder
	for {
		loc := inlineKey.FindStringSubmatchIndex(v)
		if loc == nil {
			break
		}
		b.WriteString(v[:loc[1]])
		rest := v[loc[1]:]
		n := 0
		if IsSecretKey(v[loc[2]:loc[3]]) {
			n = len(inlineValue.FindString(rest))
			if n > 0 {
				b.WriteString(repl)
			}
		}
		// A kept value is scanned too: it may hold a pair of its own.
		v = rest[n:]
	}
	b.WriteString(v)
	return b.String()
}
