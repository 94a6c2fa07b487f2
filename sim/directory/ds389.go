package directory

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/sim"
)

// Real 389 Directory Server programs and container-mode paths
// (directory-servers.md: without systemd, dscreate needs container mode).
var (
	ns389Bin      = "/usr/sbin/ns-slapd"
	dscreateBin   = "/usr/sbin/dscreate"
	containerInf  = "/data/config/container.inf"
	containerRun  = "/data/run"
	dirsrvUser    = "dirsrv"
	ds389RunDir   = "/run/dirsrv"
	ds389Backends = map[string]string{UserSuffix: "userroot", PABSuffix: "pab", ConfigSuffix: "netscaperoot"}
)

// ds389Name is the 389 instance name of slapd-<id> of a root: the id's
// letters and digits plus a hash of the root, so two roots never clash.
func ds389Name(st *sim.State, in instance) string {
	var b strings.Builder
	for _, r := range in.ID {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	h := fnv.New32a()
	h.Write([]byte(st.Scenario.Root))
	return fmt.Sprintf("msg%s%08x", b.String(), h.Sum32())
}

func ds389ConfigDir(name string) string { return "/etc/dirsrv/slapd-" + name }
func ds389PidFile(name string) string   { return filepath.Join(ds389RunDir, "slapd-"+name+".pid") }

// ds389Dirs are the directories and files dscreate and ns-slapd make for name.
func ds389Dirs(name string) []string {
	return []string{ds389ConfigDir(name), "/var/lib/dirsrv/slapd-" + name, "/var/log/dirsrv/slapd-" + name,
		"/run/lock/dirsrv/slapd-" + name, ds389PidFile(name)}
}

// ds389Command is the real 389 server a supervisor runs in the foreground.
func ds389Command(st *sim.State, in instance) *exec.Cmd {
	name := ds389Name(st, in)
	return exec.Command(ns389Bin, "-D", ds389ConfigDir(name), "-i", ds389PidFile(name), "-d", "0")
}

// inetLocalMailRecipient for 389, whose own schema lacks it; 389 already
// defines mailHost and mailRoutingAddress.
const ds389MailRecipientSchema = `dn: cn=schema
objectClasses: ( 2.16.840.1.113730.3.2.147 NAME 'inetLocalMailRecipient' DESC 'Internet local mail recipient' SUP top AUXILIARY MAY ( mailAlternateAddress $ mailHost $ mailRoutingAddress ) X-ORIGIN 'draft-lachman-laser-ldap-mail-routing-02.txt' )
`

// create389 makes the 389 instance of in with dscreate (container mode),
// records its directories for teardown, and seeds it over LDAP.
func create389(ctx context.Context, st *sim.State, in instance, log io.Writer) error {
	for _, pid := range allPids() {
		if exeOf(pid) == ns389Bin && alive(pid) {
			return fmt.Errorf("a 389 server already runs (pid %d): one 389 instance at a time on a machine", pid)
		}
	}
	if err := containerMode(); err != nil {
		return err
	}
	name := ds389Name(st, in)
	if _, err := os.Stat(ds389ConfigDir(name)); err == nil {
		return fmt.Errorf("389 instance %s exists already", name)
	}
	st.DirectoryDirs = append(st.DirectoryDirs, ds389Dirs(name)...)
	if err := st.Save(); err != nil {
		return err
	}
	securePort, err := freePort(st.Scenario.Root)
	if err != nil {
		return err
	}
	var inf strings.Builder
	fmt.Fprintf(&inf, "[general]\nfull_machine_name = localhost\nstart = False\n")
	fmt.Fprintf(&inf, "[slapd]\ninstance_name = %s\nport = %d\nsecure_port = %d\nroot_dn = %s\nroot_password = %s\nself_sign_cert = False\n",
		name, in.Port, securePort, DirectoryManagerDN, st.Scenario.Secrets.DirectoryManager)
	for _, s := range in.Suffixes {
		fmt.Fprintf(&inf, "[backend-%s]\nsuffix = %s\ncreate_suffix_entry = False\n", ds389Backends[s], s)
	}
	f, err := os.CreateTemp("", "msguard-sim-ds-*.inf")
	if err != nil {
		return fmt.Errorf("write dscreate inf: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(inf.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write dscreate inf: %w", err)
	}
	fmt.Fprintf(log, "directory: dscreate 389 instance %s for slapd-%s\n", name, in.ID)
	if err := runTool(ctx, dscreateBin, "from-file", f.Name()); err != nil {
		return err
	}
	schema := filepath.Join(ds389ConfigDir(name), "schema", "60inetlocalmailrecipient.ldif")
	if err := os.WriteFile(schema, []byte(ds389MailRecipientSchema), 0o644); err != nil {
		return fmt.Errorf("write 389 schema: %w", err)
	}
	if err := Start(ctx, st, in.ID, io.Discard); err != nil {
		return err
	}
	err = seedLDAP(ctx, st, in)
	if serr := Stop(ctx, st, in.ID, io.Discard); err == nil {
		err = serr
	}
	return err
}

// containerMode prepares /data for dscreate's container mode.
func containerMode() error {
	if err := os.MkdirAll(filepath.Dir(containerInf), 0o755); err != nil {
		return fmt.Errorf("389 container mode: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(containerRun, "lock"), 0o755); err != nil {
		return fmt.Errorf("389 container mode: %w", err)
	}
	if _, err := os.Stat(containerInf); os.IsNotExist(err) {
		if err := os.WriteFile(containerInf, nil, 0o644); err != nil {
			return fmt.Errorf("389 container mode: %w", err)
		}
	}
	if err := clearStaleContainerRun(); err != nil {
		return err
	}
	u, err := user.Lookup(dirsrvUser)
	if err != nil {
		return fmt.Errorf("389 container mode: %w (is 389-ds-base installed?)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range []string{containerRun, filepath.Join(containerRun, "lock")} {
		if err := os.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("389 container mode: %w", err)
		}
	}
	return nil
}

// clearStaleContainerRun removes the pid file and LDAPI socket that a
// killed 389 instance leaves in /data/run: with them a new instance fails
// to start ("Failed to start DS"). A live instance is an error instead:
// container mode runs one instance at a time.
func clearStaleContainerRun() error {
	pidFile := filepath.Join(containerRun, "slapd-localhost.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 && syscall.Kill(pid, 0) == nil {
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.HasSuffix(exe, "ns-slapd") {
				return fmt.Errorf("389 container mode: another 389 instance runs (pid %d); only one at a time", pid)
			}
		}
	}
	for _, f := range []string{pidFile, filepath.Join(containerRun, "slapd-localhost.socket")} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("389 container mode: remove stale %s: %w", f, err)
		}
	}
	return nil
}

func freePort(root string) (int, error) {
	l, err := sim.ListenFreePort(root)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// seedLDAP adds the scenario's entries of every suffix of in over LDAP.
func seedLDAP(ctx context.Context, st *sim.State, in instance) error {
	conn, err := Connect(ctx, URL(st, in.ID), DirectoryManagerDN, st.Scenario.Secrets.DirectoryManager)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range in.Suffixes {
		entries := seedEntries(&st.Scenario, s)
		if len(entries) == 0 {
			// dscreate makes suffix entries; o=pab must be missing when PABMissing.
			if err := conn.Del(ldap.NewDelRequest(s, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return fmt.Errorf("remove %s: %w", s, err)
			}
		}
		for _, e := range entries {
			req := ldap.NewAddRequest(e.DN, nil)
			var order []string
			vals := map[string][]string{}
			for _, av := range e.Attrs {
				if _, ok := vals[av[0]]; !ok {
					order = append(order, av[0])
				}
				vals[av[0]] = append(vals[av[0]], av[1])
			}
			for _, a := range order {
				req.Attribute(a, vals[a])
			}
			// dscreate may have made the suffix entry already.
			if err := conn.Add(req); err != nil && !(e.DN == s && ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists)) {
				return fmt.Errorf("seed %s: %w", e.DN, err)
			}
		}
	}
	return nil
}

// mailSchema389 adds the messaging schema to cn=schema over LDAP.
func mailSchema389(ctx context.Context, url, dmPassword string) error {
	conn, err := Connect(ctx, url, DirectoryManagerDN, dmPassword)
	if err != nil {
		return err
	}
	defer conn.Close()
	mod := ldap.NewModifyRequest("cn=schema", nil)
	mod.Add("attributeTypes", mailSchema.attributeTypes)
	mod.Add("objectClasses", mailSchema.objectClasses)
	return conn.Modify(mod)
}
