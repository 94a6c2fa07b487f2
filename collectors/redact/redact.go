// Package redact removes secrets from process command lines before they are
// recorded in a snapshot or a report.
//
// Rules, applied to each argument in turn:
//
//   - "-w <pw>" and "-w<pw>" (the LDAP tools' and ns-slapd utilities' bind
//     password) become "-w ***" and "-w***";
//   - "--password <pw>", "--passwd <pw>", "--pwd <pw>" and "--bindcred <pw>"
//     (any number of leading dashes, any case) redact the next argument;
//   - any "key=value" argument whose key ends in password, passwd, pwd,
//     bindcred, bindpw or secret (any case, leading dashes and prefixes such
//     as "local.ugldap" or "ConfigDirectoryAdmin" allowed) keeps the key and
//     redacts the value: "--password=x" → "--password=***",
//     "local.ugldapbindcred=x" → "local.ugldapbindcred=***";
//   - URLs carrying user information ("ldap://user:pw@host/") keep the user
//     and lose the password: "ldap://user:***@host/".
//
// Options that name a file holding a password are kept as they are, since
// a file name is not a secret: "-j <file>" (the iPlanet tools' password
// file), "-y <file>" (OpenLDAP's) and "--password-file <file>".
package redact

import (
	"regexp"
	"strings"
)

// Mask replaces every redacted value.
const Mask = "***"

// secretKeySuffixes end the keys whose values are secrets (lower case).
var secretKeySuffixes = []string{"password", "passwd", "pwd", "bindcred", "bindpw", "secret"}

// urlUserInfo matches "scheme://user:password@" in an argument.
var urlUserInfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)[^/@\s]*@`)

// Cmdline joins args with spaces after redacting the secrets they hold.
func Cmdline(args []string) string {
	return strings.Join(Args(args), " ")
}

// Args returns a copy of args with the secrets they hold redacted.
func Args(args []string) []string {
	out := make([]string, len(args))
	maskNext := false
	for i, a := range args {
		if maskNext {
			out[i] = Mask
			maskNext = false
			continue
		}
		switch {
		case a == "-w":
			out[i] = a
			maskNext = true
			continue
		case strings.HasPrefix(a, "-w") && !strings.HasPrefix(a, "--"):
			out[i] = "-w" + Mask
			continue
		}
		if key, ok := strings.CutPrefix(a, "--"); ok && isSecretKey(key) && !strings.Contains(key, "=") {
			out[i] = a
			maskNext = true
			continue
		}
		if k, _, ok := strings.Cut(a, "="); ok && isSecretKey(strings.TrimLeft(k, "-")) {
			out[i] = k + "=" + Mask
			continue
		}
		out[i] = urlUserInfo.ReplaceAllString(a, "${1}"+Mask+"@")
	}
	return out
}

// isSecretKey reports whether key (without leading dashes) names a secret.
func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range secretKeySuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}
