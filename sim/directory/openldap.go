package directory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/msguard/msguard/sim"
)

// Real OpenLDAP programs.
var (
	slapdBin     = "/usr/sbin/slapd"
	slapaddBin   = "/usr/sbin/slapadd"
	slapcatBin   = "/usr/sbin/slapcat"
	slapindexBin = "/usr/sbin/slapindex"
)

// dbName is the mdb directory name of a suffix under slapd-<id>/db.
func dbName(suffix string) string {
	switch suffix {
	case UserSuffix:
		return "siroe"
	case PABSuffix:
		return "pab"
	case ConfigSuffix:
		return "netscaperoot"
	}
	return strings.NewReplacer("=", "_", ",", "_", " ", "_").Replace(strings.ToLower(suffix))
}

// mailSchemaFile is the messaging schema ApplyDSSetup installs (config/).
const mailSchemaFile = "ims50-mail.schema"

// userIndexMarker precedes the o=siroe.com indexes in slapd.conf.
const userIndexMarker = "# indexes of " + UserSuffix

// mdbMaxSize is the map size of a suffix's mdb database: room for the
// scenario's entries with a wide margin, and no more. back-mdb makes
// data.mdb a sparse file of that size, and a server-root backup copies it
// whole, so a fixed 4 GiB map cost every remediate test 12 GiB of copies.
func mdbMaxSize(st *sim.State) int64 {
	n := int64(max(st.Scenario.Users, st.Scenario.PAB))
	return 16<<20 + n*16<<10
}

// slapdConf is the slapd.conf of an OpenLDAP-backed instance.
func slapdConf(st *sim.State, in instance, dmHash string) string {
	var b strings.Builder
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	fmt.Fprintf(&b, "# slapd-%s: Netscape Directory Server %s, served by OpenLDAP slapd (msguard-sim)\n",
		in.ID, st.DSVersion)
	for _, s := range []string{"core", "cosine", "inetorgperson", "nis", "misc"} {
		fmt.Fprintf(&b, "include /etc/ldap/schema/%s.schema\n", s)
	}
	fmt.Fprintf(&b, "modulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload back_monitor\n")
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\n", q(filepath.Join(in.logs(), "slapd.pid")), q(filepath.Join(in.logs(), "slapd.args")))
	fmt.Fprintf(&b, "sizelimit 2000\n\n")
	fmt.Fprintf(&b, "database mdb\nsuffix %s\nrootdn %s\nrootpw %s\ndirectory %s\nmaxsize 10485760\n\n",
		q(DirectoryManagerDN), q(DirectoryManagerDN), dmHash, q(in.dbDir("dm")))
	for _, s := range in.Suffixes {
		fmt.Fprintf(&b, "database mdb\nsuffix %s\ndirectory %s\nmaxsize %d\n", q(s), q(in.dbDir(dbName(s))), mdbMaxSize(st))
		fmt.Fprintf(&b, "limits dn.exact=%s size=unlimited time=unlimited\n", q(DirectoryManagerDN))
		if s == UserSuffix {
			fmt.Fprintf(&b, "%s\n", userIndexMarker)
		}
		fmt.Fprintf(&b, "index objectClass eq\n")
		fmt.Fprintf(&b, "access to attrs=userPassword by dn.exact=%s manage by self write by anonymous auth by * none\n", q(DirectoryManagerDN))
		fmt.Fprintf(&b, "access to * by dn.exact=%s manage by * read\n\n", q(DirectoryManagerDN))
	}
	fmt.Fprintf(&b, "database monitor\naccess to * by * read\n")
	return b.String()
}

// createOpenLDAP writes the slapd.conf of in and seeds its databases offline.
func createOpenLDAP(ctx context.Context, st *sim.State, in instance) error {
	dirs := []string{in.dbDir("dm")}
	for _, s := range in.Suffixes {
		dirs = append(dirs, in.dbDir(dbName(s)))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create slapd-%s database dir: %w", in.ID, err)
		}
	}
	conf := slapdConf(st, in, ssha(st.Scenario.Secrets.DirectoryManager))
	if err := os.WriteFile(in.conf(), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write slapd-%s slapd.conf: %w", in.ID, err)
	}
	for _, s := range in.Suffixes {
		entries := seedEntries(&st.Scenario, s)
		if len(entries) == 0 {
			continue
		}
		if err := slapadd(ctx, in, s, entries); err != nil {
			return err
		}
	}
	return nil
}

func slapadd(ctx context.Context, in instance, suffix string, entries []entry) error {
	f, err := os.CreateTemp("", "msguard-sim-seed-*.ldif")
	if err != nil {
		return fmt.Errorf("seed %s: %w", suffix, err)
	}
	defer os.Remove(f.Name())
	lw := newLDIFWriter(f)
	for _, e := range entries {
		lw.entry(e)
	}
	if err := lw.flush(); err != nil {
		f.Close()
		return fmt.Errorf("seed %s: %w", suffix, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("seed %s: %w", suffix, err)
	}
	return runTool(ctx, slapaddBin, "-q", "-f", in.conf(), "-b", suffix, "-l", f.Name())
}

// runTool runs a real directory tool and wraps its output into the error.
func runTool(ctx context.Context, name string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(tail(out.String(), 2000)))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// openLDAPCommand is the real server a supervisor runs for in.
func openLDAPCommand(in instance) *exec.Cmd {
	return exec.Command(slapdBin, "-d", "none", "-f", in.conf(), "-h", fmt.Sprintf("ldap://127.0.0.1:%d/", in.Port))
}

// slapcatExport writes every suffix of in to w with slapcat (works while slapd runs).
func slapcatExport(ctx context.Context, in instance, w io.Writer) error {
	for _, s := range in.Suffixes {
		var errb bytes.Buffer
		cmd := exec.CommandContext(ctx, slapcatBin, "-f", in.conf(), "-b", s)
		cmd.Stdout, cmd.Stderr = w, &errb
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("slapcat %s of slapd-%s: %w: %s", s, in.ID, err, strings.TrimSpace(errb.String()))
		}
	}
	return nil
}
