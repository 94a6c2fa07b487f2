package collectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/parse"
)

// hostLookupTimeout bounds the DNS lookups of this host's own names.
const hostLookupTimeout = 5 * time.Second

// backupDirRe matches INST/backup.<YYYYMMDDhhmmss>, left by the 5.2 setup.
var backupDirRe = regexp.MustCompile(`^backup\.\d{14}$`)

// ResolveTarget checks the server root named in opts and resolves the
// install every other collector reads: the root, the Web Server root, the
// messaging instance and install.inf. It returns an error only when the
// root is unusable (missing, not a directory, unreadable) or the instance
// is ambiguous; a root that exists but lacks admin-serv/, setup/install.inf
// or an msg-* instance gives Install.Valid = false with Problems saying
// what is missing. The returned Install never holds a secret.
func ResolveTarget(opts Options) (*Target, *facts.Install, error) {
	if opts.ServerRoot == "" {
		return nil, nil, errors.New("no server root given: pass --server-root with the directory that holds setup/install.inf")
	}
	root, err := filepath.Abs(opts.ServerRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("server root %s: %w", opts.ServerRoot, err)
	}
	entries, err := readRoot(root)
	if err != nil {
		return nil, nil, err
	}

	t := &Target{Options: opts, Root: root}
	in := &facts.Install{}
	var msgs, https []string
	for _, e := range entries {
		if !isDir(root, e) {
			continue
		}
		switch name := e.Name(); {
		case strings.HasPrefix(name, "msg-"):
			msgs = append(msgs, name)
		case strings.HasPrefix(name, "slapd-"):
			in.SlapdInstances = append(in.SlapdInstances, name)
			t.SlapdIDs = append(t.SlapdIDs, strings.TrimPrefix(name, "slapd-"))
		case strings.HasPrefix(name, "https-"):
			https = append(https, name)
		}
	}
	in.MsgInstances = msgs

	if st, err := os.Stat(filepath.Join(root, "admin-serv")); err != nil || !st.IsDir() {
		in.Problems = append(in.Problems, "no admin-serv/ directory in "+root)
	}

	// Messaging instance: the one asked for, else the only one.
	inst := strings.TrimPrefix(opts.Instance, "msg-")
	switch {
	case inst != "":
		if !slices.Contains(msgs, "msg-"+inst) {
			in.Problems = append(in.Problems, fmt.Sprintf("instance msg-%s not found in %s (found: %s)", inst, root, listOrNone(msgs)))
		}
	case len(msgs) == 1:
		inst = strings.TrimPrefix(msgs[0], "msg-")
	case len(msgs) > 1:
		return nil, nil, fmt.Errorf("server root %s holds %d messaging instances (%s): pass --instance with one of them",
			root, len(msgs), strings.Join(msgs, ", "))
	default:
		in.Problems = append(in.Problems, "no msg-* messaging instance in "+root)
	}
	if inst != "" {
		t.Instance = inst
		t.InstDir = filepath.Join(root, "msg-"+inst)
		in.StorePath = filepath.Join(t.InstDir, "store", "partition", "primary")
		in.QueuePath = filepath.Join(t.InstDir, "imta", "queue")
		if st, err := os.Stat(in.StorePath); err == nil && st.IsDir() {
			in.StoreExists = true
		}
		in.Backups = backupDirs(root, t.InstDir)
	}

	// Web Server root: the one given, else the server root when it holds
	// https-admserv.
	switch {
	case opts.WebServerRoot != "":
		ws, err := filepath.Abs(opts.WebServerRoot)
		if err != nil {
			return nil, nil, fmt.Errorf("webserver root %s: %w", opts.WebServerRoot, err)
		}
		t.WSRoot = ws
		if ws != root {
			https = httpsInstances(ws)
		}
		if st, err := os.Stat(ws); err != nil || !st.IsDir() {
			in.Problems = append(in.Problems, "webserver root "+ws+" is not a directory")
		}
	case slices.Contains(https, "https-admserv"):
		t.WSRoot = root
	}
	in.HTTPSInstances = https

	readInstallInf(t, in)
	in.ThisHost = opts.Hostnames
	if len(in.ThisHost) == 0 {
		in.ThisHost = localHostnames()
	}
	in.ThisHost = normaliseHosts(in.ThisHost)
	in.SameMachine = sameMachine(in.FullMachineName, in.ThisHost)
	in.Valid = len(in.Problems) == 0
	return t, in, nil
}

// readRoot lists the server root, or explains why it cannot be used.
func readRoot(root string) ([]os.DirEntry, error) {
	const hint = "pass --server-root with the directory that holds setup/install.inf"
	st, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("server root %s does not exist: %s", root, hint)
	case err != nil:
		return nil, fmt.Errorf("server root %s: %w: run as a user that can read it", root, err)
	case !st.IsDir():
		return nil, fmt.Errorf("server root %s is not a directory: %s", root, hint)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("server root %s is unreadable: %w: run as a user that can read it (root)", root, err)
	}
	return entries, nil
}

// isDir reports whether e is a directory or a symbolic link to one.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && st.IsDir()
}

// httpsInstances lists the https-* directories of a Web Server root.
func httpsInstances(ws string) []string {
	entries, err := os.ReadDir(ws)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "https-") && isDir(ws, e) {
			out = append(out, e.Name())
		}
	}
	return out
}

// backupDirs lists INST/backup.<timestamp> directories, relative to root,
// oldest first.
func backupDirs(root, inst string) []string {
	entries, err := os.ReadDir(inst)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if backupDirRe.MatchString(e.Name()) && isDir(inst, e) {
			rel, err := filepath.Rel(root, filepath.Join(inst, e.Name()))
			if err != nil {
				continue
			}
			out = append(out, filepath.ToSlash(rel))
		}
	}
	sort.Strings(out)
	return out
}

// readInstallInf parses setup/install.inf into t (secrets included) and a
// redacted copy into in. A missing, unreadable or malformed file is a
// problem of the install, not an error.
func readInstallInf(t *Target, in *facts.Install) {
	path := filepath.Join(t.Root, "setup", "install.inf")
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			in.Problems = append(in.Problems, "no setup/install.inf in "+t.Root)
		} else {
			in.Problems = append(in.Problems, fmt.Sprintf("read setup/install.inf: %v", err))
		}
		return
	}
	defer f.Close()
	inf, err := parse.INF(f)
	if err != nil {
		in.Problems = append(in.Problems, fmt.Sprintf("parse setup/install.inf: %v", err))
		return
	}
	t.InstallInf = inf
	in.InstallInf = redactINF(inf)
	in.FullMachineName = infValue(inf, "General", "FullMachineName")
}

// redactINF copies an .inf map with every secret value replaced by
// facts.Redacted.
func redactINF(inf map[string]map[string]string) map[string]map[string]string {
	out := make(map[string]map[string]string, len(inf))
	for sec, kv := range inf {
		out[sec] = redactValues(kv)
	}
	return out
}

// redactValues copies m with secret values replaced: values of secret keys,
// password hashes, and secret "key=value" pairs inside a value.
func redactValues(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch {
		case v == "":
			out[k] = v
		case parse.IsSecretKey(k), parse.IsSecretValue(v):
			out[k] = facts.Redacted
		default:
			out[k] = parse.RedactInline(v, facts.Redacted)
		}
	}
	return out
}

// infValue looks a key up in an .inf map, section and key case-insensitive.
func infValue(inf map[string]map[string]string, section, key string) string {
	for s, kv := range inf {
		if !strings.EqualFold(s, section) {
			continue
		}
		for k, v := range kv {
			if strings.EqualFold(k, key) {
				return v
			}
		}
	}
	return ""
}

// localHostnames returns this host's name and the names DNS gives for it
// and for its addresses. Lookup failures only shorten the list.
func localHostnames() []string {
	name, err := os.Hostname()
	if err != nil || name == "" {
		return nil
	}
	out := []string{name}
	ctx, cancel := context.WithTimeout(context.Background(), hostLookupTimeout)
	defer cancel()
	r := net.DefaultResolver
	if cname, err := r.LookupCNAME(ctx, name); err == nil {
		out = append(out, cname)
	}
	addrs, _ := r.LookupHost(ctx, name)
	for _, a := range addrs {
		names, _ := r.LookupAddr(ctx, a)
		out = append(out, names...)
	}
	return out
}

// normaliseHosts lower-cases host names, drops trailing dots, empties and
// duplicates, and sorts them.
func normaliseHosts(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range in {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// sameMachine reports whether full (install.inf FullMachineName) names
// one of hosts: equal ignoring case, or one is a short name equal to the
// other's first label ("mail" matches "mail.siroe.com").
func sameMachine(full string, hosts []string) bool {
	full = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(full)), ".")
	if full == "" {
		return false
	}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.ToLower(h), ".")
		if h == full {
			return true
		}
		fullDotted, hostDotted := strings.Contains(full, "."), strings.Contains(h, ".")
		if fullDotted != hostDotted && firstLabel(full) == firstLabel(h) {
			return true
		}
	}
	return false
}

func firstLabel(h string) string {
	if i := strings.IndexByte(h, '.'); i >= 0 {
		return h[:i]
	}
	return h
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
