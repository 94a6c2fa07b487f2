package ldapexport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/simtest"
)

func TestLDIFLine(t *testing.T) {
	long := strings.Repeat("abcdefghij", 20)
	cases := []struct {
		name, attr, value, want string
	}{
		{"safe", "cn", "User 0001", "cn: User 0001\n"},
		{"empty", "description", "", "description:\n"},
		{"leading colon", "description", ":colon", "description:: OmNvbG9u\n"},
		{"leading space", "description", " x", "description:: IHg=\n"},
		{"leading less-than", "description", "<url", "description:: PHVybA==\n"},
		{"trailing space", "description", "x ", "description:: eCA=\n"},
		{"newline", "description", "a\nb", "description:: YQpi\n"},
		{"carriage return", "description", "a\rb", "description:: YQ1i\n"},
		{"nul", "description", "a\x00b", "description:: YQBi\n"},
		{"non-ascii", "cn", "Françoise", "cn:: RnJhbsOnb2lzZQ==\n"},
		{"binary", "jpegPhoto", "\xff\xd8\xff", "jpegPhoto:: /9j/\n"},
		{"inner colon and less-than", "description", "a: <b>", "description: a: <b>\n"},
		{"folded", "description", long, "description: " + long[:63] + "\n " + long[63:138] + "\n " + long[138:] + "\n"},
		{"exactly 76", "cn", strings.Repeat("x", 72), "cn: " + strings.Repeat("x", 72) + "\n"},
		{"77 folds", "cn", strings.Repeat("x", 73), "cn: " + strings.Repeat("x", 72) + "\n x\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			lw := newLDIFWriter(&b)
			lw.line(tc.attr, tc.value)
			if err := lw.flush(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("line(%q, %q) = %q; want %q", tc.attr, tc.value, b.String(), tc.want)
			}
			for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				if len(l) > ldifFoldWidth {
					t.Errorf("line %q longer than %d", l, ldifFoldWidth)
				}
			}
			got := ldifTestParse(t, "dn: cn=x\n"+b.String())
			if len(got) != 1 || !slices.Equal(got[0].values(tc.attr), []string{tc.value}) {
				t.Errorf("parsed back %+v; want %s=%q", got, tc.attr, tc.value)
			}
		})
	}
}

// ldifTestEntry is one parsed LDIF record.
type ldifTestEntry struct {
	dn    string
	attrs [][2]string
}

func (e ldifTestEntry) values(attr string) []string {
	var out []string
	for _, av := range e.attrs {
		if strings.EqualFold(av[0], attr) {
			out = append(out, av[1])
		}
	}
	return out
}

// ldifTestParse is an independent, strict reader of the LDIF subset
// Export writes: it unfolds lines, decodes base64 values and fails on
// anything malformed.
func ldifTestParse(t testing.TB, text string) []ldifTestEntry {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, " ") {
			if len(lines) == 0 || lines[len(lines)-1] == "" {
				t.Fatalf("continuation line %q without a line to continue", l)
			}
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	var out []ldifTestEntry
	var cur *ldifTestEntry
	for i, l := range lines {
		switch {
		case l == "":
			cur = nil
			continue
		case strings.HasPrefix(l, "#"):
			continue
		case i == 0 && l == "version: 1":
			continue
		}
		attr, rest, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("LDIF line %q has no colon", l)
		}
		var value string
		switch {
		case strings.HasPrefix(rest, ":"):
			b, err := base64.StdEncoding.DecodeString(strings.TrimLeft(rest[1:], " "))
			if err != nil {
				t.Fatalf("LDIF line %q: %v", l, err)
			}
			value = string(b)
		default:
			value = strings.TrimLeft(rest, " ")
		}
		if cur == nil {
			if attr != "dn" {
				t.Fatalf("LDIF record starts with %q, not dn", l)
			}
			out = append(out, ldifTestEntry{dn: value})
			cur = &out[len(out)-1]
			continue
		}
		cur.attrs = append(cur.attrs, [2]string{attr, value})
	}
	return out
}

// ldifTestDNs is the lower-cased DN set of parsed entries.
func ldifTestDNs(entries []ldifTestEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, strings.ToLower(e.dn))
	}
	slices.Sort(out)
	return out
}

func TestExportLDIF(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulated host with a real directory")
	}
	const users, pab = 2000, 30
	h := simtest.New(t, func(s *sim.Scenario) { s.Users = users; s.PAB = pab })
	h.Start(t)
	url := directory.URL(h.State, h.State.Scenario.DSInstances[0])
	pw := h.State.Scenario.Secrets.DirectoryManager
	pwFile := h.DMPasswordFile(t)
	c := Conn{URL: url, BindDN: directory.DirectoryManagerDN, Password: pw, Timeout: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// An entry whose values need base64 or folding.
	special := map[string][]string{
		"description": {":starts with a colon", "café\nsecond line", " leading space", strings.Repeat("long value ", 30)},
		"sn":          {"Müller"},
	}
	specialDN := "cn=b64 test," + directory.PABSuffix
	conn, err := ldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Bind(directory.DirectoryManagerDN, pw); err != nil {
		t.Fatal(err)
	}
	add := ldap.NewAddRequest(specialDN, nil)
	add.Attribute("objectClass", []string{"top", "person"})
	add.Attribute("cn", []string{"b64 test"})
	for a, v := range special {
		add.Attribute(a, v)
	}
	if err := conn.Add(add); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	dir := t.TempDir()
	exports := []struct {
		name, base, filter, file string
		want                     int64
	}{
		{"users and groups", directory.UserSuffix, "(objectclass=inetlocalmailrecipient)", "ug.ldif", users},
		{"personal address book", directory.PABSuffix, "(objectclass=*)", "pab.ldif", pab + 1 + 1},
	}
	parsed := map[string][]ldifTestEntry{}
	for _, ex := range exports {
		t.Run(ex.name, func(t *testing.T) {
			out := filepath.Join(dir, ex.file)
			n, err := Export(ctx, c, ex.base, ex.filter, out)
			if err != nil || n != ex.want {
				t.Fatalf("Export(%s, %s) = %d, %v; want %d", ex.base, ex.filter, n, err, ex.want)
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode() != 0o600 {
				t.Errorf("export mode = %v, %v; want 0600", fi.Mode(), err)
			}
			text, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(text, []byte("version: 1\n\ndn: ")) {
				t.Errorf("export starts %q; want a version line, a blank line and a dn", text[:min(40, len(text))])
			}
			for _, l := range strings.Split(string(text), "\n") {
				if len(l) > ldifFoldWidth {
					t.Fatalf("line longer than %d columns: %q", ldifFoldWidth, l)
				}
			}
			entries := ldifTestParse(t, string(text))
			if int64(len(entries)) != n {
				t.Errorf("parsed %d entries; Export said %d", len(entries), n)
			}
			parsed[ex.file] = entries
			// ldapadd -n parses LDIF (version line included) without a server.
			dry, err := exec.CommandContext(ctx, "ldapadd", "-n", "-x", "-H", "ldap://127.0.0.1:1", "-f", out).CombinedOutput()
			if err != nil {
				t.Fatalf("ldapadd -n rejects the export: %v\n%s", err, dry)
			}
			if got := int64(strings.Count(string(dry), "!adding new entry")); got != n {
				t.Errorf("ldapadd -n read %d entries; want %d", got, n)
			}
			// The peer: ldapsearch with paged results must see the same DNs.
			cmd := exec.CommandContext(ctx, "ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", url,
				"-D", directory.DirectoryManagerDN, "-y", pwFile, "-E", "pr=1000/noprompt",
				"-b", ex.base, ex.filter, "1.1")
			peer, err := cmd.Output()
			if err != nil {
				t.Fatalf("ldapsearch: %v", err)
			}
			if got, want := ldifTestDNs(entries), ldifTestDNs(ldifTestParse(t, string(peer))); !slices.Equal(got, want) {
				t.Errorf("exported DNs (%d) differ from ldapsearch's (%d)", len(got), len(want))
			}
		})
	}

	t.Run("base64 values round-trip", func(t *testing.T) {
		var found *ldifTestEntry
		for i, e := range parsed["pab.ldif"] {
			if strings.EqualFold(e.dn, specialDN) {
				found = &parsed["pab.ldif"][i]
			}
		}
		if found == nil {
			t.Fatalf("%s not in the export", specialDN)
		}
		for a, want := range special {
			if got := found.values(a); !slices.Equal(got, want) {
				t.Errorf("%s = %q; want %q", a, got, want)
			}
		}
	})

	t.Run("slapadd accepts the exports", func(t *testing.T) {
		ldifTestSlapadd(t, ctx, dir, specialDN, special)
	})

	t.Run("wrong password", func(t *testing.T) {
		out := filepath.Join(dir, "wrong.ldif")
		bad := c
		bad.Password = "not-the-Secret-0000"
		_, err := Export(ctx, bad, directory.UserSuffix, "(objectclass=*)", out)
		if err == nil || !strings.Contains(err.Error(), "invalid credentials") {
			t.Fatalf("Export with a wrong password = %v; want invalid credentials", err)
		}
		if strings.Contains(err.Error(), bad.Password) || strings.Contains(fmt.Sprint(bad), bad.Password) {
			t.Errorf("the password leaks into %q or %v", err, bad)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("a failed export left %s: %v", out, err)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".wrong.ldif.tmp*")); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})

	t.Run("no such base", func(t *testing.T) {
		_, err := Export(ctx, c, "o=nowhere", "(objectclass=*)", filepath.Join(dir, "none.ldif"))
		if err == nil || !strings.Contains(err.Error(), "o=nowhere") {
			t.Errorf("Export of a missing base = %v; want an error naming it", err)
		}
	})
}

// ldifTestSlapadd loads the exports into a fresh OpenLDAP database with
// slapadd (which rejects malformed LDIF) and reads the special entry back
// with slapcat.
func ldifTestSlapadd(t *testing.T, ctx context.Context, dir, specialDN string, special map[string][]string) {
	t.Helper()
	db := filepath.Join(dir, "fresh")
	var conf strings.Builder
	for _, s := range []string{"core", "cosine", "inetorgperson", "nis", "misc"} {
		fmt.Fprintf(&conf, "include /etc/ldap/schema/%s.schema\n", s)
	}
	fmt.Fprintf(&conf, "modulepath /usr/lib/ldap\nmoduleload back_mdb\n")
	for _, s := range []string{directory.UserSuffix, directory.PABSuffix} {
		d := filepath.Join(db, strings.ReplaceAll(s, "=", "_"))
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "database mdb\nsuffix %q\ndirectory %q\nmaxsize 104857600\n", s, d)
	}
	confFile := filepath.Join(dir, "slapd.conf")
	// The user export holds only the users: their parents come first.
	parents := "dn: " + directory.UserSuffix + "\nobjectClass: top\nobjectClass: organization\no: siroe.com\n\n" +
		"dn: " + directory.PeopleDN + "\nobjectClass: top\nobjectClass: organizationalUnit\nou: People\n\n"
	parentsFile := filepath.Join(dir, "parents.ldif")
	for f, data := range map[string]string{confFile: conf.String(), parentsFile: parents} {
		if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// slapadd reads records only, without RFC 2849's version line.
	records := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".records")
		if err := os.WriteFile(f, bytes.TrimPrefix(b, []byte("version: 1\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	run("slapadd", "-f", confFile, "-b", directory.UserSuffix, "-l", parentsFile)
	run("slapadd", "-f", confFile, "-b", directory.UserSuffix, "-l", records("ug.ldif"))
	run("slapadd", "-f", confFile, "-b", directory.PABSuffix, "-l", records("pab.ldif"))
	cat, err := exec.CommandContext(ctx, "slapcat", "-f", confFile, "-b", directory.PABSuffix, "-a", "(cn=b64 test)").Output()
	if err != nil {
		t.Fatalf("slapcat: %v", err)
	}
	got := ldifTestParse(t, string(cat))
	if len(got) != 1 || !strings.EqualFold(got[0].dn, specialDN) {
		t.Fatalf("slapcat found %+v; want %s", got, specialDN)
	}
	for a, want := range special {
		if v := got[0].values(a); !slices.Equal(v, want) {
			t.Errorf("after slapadd, %s = %q; want %q", a, v, want)
		}
	}
	users := run("slapcat", "-f", confFile, "-b", directory.UserSuffix, "-a", "(objectclass=inetlocalmailrecipient)")
	if n := strings.Count("\n"+users, "\ndn: "); n != 2000 {
		t.Errorf("slapcat counts %d users after slapadd; want 2000", n)
	}
}

// TestIsNoSuchObject: a nil error is no "no such object" (and no panic).
func TestIsNoSuchObject(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"ldap code 32", ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("no base")), true},
		{"wrapped", fmt.Errorf("search o=pab: %w", ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("no base"))), true},
		{"other code", ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New("bad password")), false},
		{"text of a server", errors.New("LDAP Result Code 32 \"No Such Object\""), true},
	} {
		if got := IsNoSuchObject(tc.err); got != tc.want {
			t.Errorf("%s: IsNoSuchObject(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
