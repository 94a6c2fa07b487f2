// Package script is msguard's collector for hosts where msguard itself
// cannot run (Solaris 8/9 on SPARC): a self-contained POSIX sh script that
// gathers the raw material of every collector into one bundle, and the
// ingester that turns such a bundle into the snapshot `msguard collect`
// would have taken (see "Hosts where msguard cannot run" in README.md).
//
// The script redacts secrets on the host before anything is written: the
// values of secret configuration keys, password hashes, secret key=value
// pairs and secrets on process command lines, with the rules of
// parse.IsSecretKey, parse.IsSecretValue, parse.RedactInline and
// redact.Args. The bind password is only ever read by ldapsearch, from
// the file named by $MSGUARD_BIND_PASSWORD_FILE.
package script

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
)

//go:embed collect.sh
var collectSh string

// Defaults are values baked into an emitted script; the script's own
// options override them. Empty fields keep the script's defaults.
type Defaults struct {
	ServerRoot    string
	WebServerRoot string
	Instance      string
	BackupDir     string
	LDAPURL       string
	BindDN        string
	StateDir      string
	LDAPStartTLS  bool
}

// Emit writes the collector script with d baked in as its defaults.
func Emit(w io.Writer, d Defaults) error {
	starttls := ""
	if d.LDAPStartTLS {
		starttls = "1"
	}
	var b strings.Builder
	for _, kv := range [][2]string{
		{"DEF_ROOT", d.ServerRoot}, {"DEF_WSROOT", d.WebServerRoot}, {"DEF_INSTANCE", d.Instance},
		{"DEF_BACKUPDIR", d.BackupDir}, {"DEF_LDAPURL", d.LDAPURL}, {"DEF_BINDDN", d.BindDN},
		{"DEF_STATEDIR", d.StateDir}, {"DEF_STARTTLS", starttls},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	text := strings.Replace(collectSh, "#@DEFAULTS@\n", b.String(), 1)
	_, err := io.WriteString(w, text)
	return err
}

// shellQuote quotes s for a POSIX shell: 'it'\”s'.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
