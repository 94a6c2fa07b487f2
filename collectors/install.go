package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
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

// Advice is how a Host's errors tell the operator what to do: the flag
// that names the server root, the one that picks the instance, and who
// can read the root.
type Advice struct {
	Root, Instance, Reader string
}

// liveAdvice is the advice of msguard's own flags.
var liveAdvice = Advice{
	Root:     "pass --server-root with the directory that holds setup/install.inf",
	Instance: "pass --instance with one of them",
	Reader:   "run as a user that can read it (root)",
}

// ResolveTarget checks the server root named in opts on this machine and
// resolves the install every other collector reads (see ResolveTargetOn).
func ResolveTarget(opts Options) (*Target, *facts.Install, error) {
	if opts.ServerRoot == "" {
		return nil, nil, errors.New("no server root given: " + liveAdvice.Root)
	}
	root, err := filepath.Abs(opts.ServerRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("server root %s: %w", opts.ServerRoot, err)
	}
	opts.ServerRoot = root
	if opts.WebServerRoot != "" {
		ws, err := filepath.Abs(opts.WebServerRoot)
		if err != nil {
			return nil, nil, fmt.Errorf("webserver root %s: %w", opts.WebServerRoot, err)
		}
		opts.WebServerRoot = ws
	}
	return ResolveTargetOn(LiveHost{Hostnames: opts.Hostnames}, opts, liveAdvice)
}

// ResolveTargetOn checks the server root opts.ServerRoot (absolute) on h
// and resolves the install every other collector reads: the root, the Web
// Server root, the messaging instance and install.inf. It returns an
// error only when the root is unusable (missing, not a directory,
// unreadable) or the instance is ambiguous; a root that exists but lacks
// admin-serv/, setup/install.inf or an msg-* instance gives Install.Valid
// = false with Problems saying what is missing. The returned Install
// never holds a secret.
func ResolveTargetOn(h Host, opts Options, advice Advice) (*Target, *facts.Install, error) {
	root := opts.ServerRoot
	if root == "" {
		return nil, nil, errors.New("no server root given: " + advice.Root)
	}
	switch h.Kind(root) {
	case PathDir:
	case PathMissing:
		return nil, nil, fmt.Errorf("server root %s does not exist: %s", root, advice.Root)
	case PathUnreadable:
		return nil, nil, fmt.Errorf("server root %s is unreadable: %s", root, advice.Reader)
	default:
		return nil, nil, fmt.Errorf("server root %s is not a directory: %s", root, advice.Root)
	}
	entries, err := h.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("server root %s is unreadable: %w: %s", root, unwrapPath(err), advice.Reader)
	}

	t := &Target{Options: opts, Root: root, host: h}
	in := &facts.Install{}
	var msgs, https []string
	for _, e := range entries {
		if !e.Dir {
			continue
		}
		switch name := e.Name; {
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

	if h.Kind(path.Join(root, "admin-serv")) != PathDir {
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
		return nil, nil, fmt.Errorf("server root %s holds %d messaging instances (%s): %s",
			root, len(msgs), strings.Join(msgs, ", "), advice.Instance)
	default:
		in.Problems = append(in.Problems, "no msg-* messaging instance in "+root)
	}
	if inst != "" {
		t.Instance = inst
		t.InstDir = path.Join(root, "msg-"+inst)
		in.StorePath = path.Join(t.InstDir, "store", "partition", "primary")
		in.QueuePath = path.Join(t.InstDir, "imta", "queue")
		in.StoreExists = h.Kind(in.StorePath) == PathDir
		in.Backups = backupDirs(h, root, t.InstDir)
	}

	// Web Server root: the one given, else the server root when it holds
	// https-admserv.
	switch ws := opts.WebServerRoot; {
	case ws != "":
		t.WSRoot = ws
		if ws != root {
			https = subdirs(h, ws, "https-")
		}
		if h.Kind(ws) != PathDir {
			in.Problems = append(in.Problems, "webserver root "+ws+" is not a directory")
		}
	case slices.Contains(https, "https-admserv"):
		t.WSRoot = root
	}
	in.HTTPSInstances = https

	readInstallInf(h, t, in)
	in.ThisHost = normaliseHosts(h.HostNames())
	in.SameMachine = sameMachine(in.FullMachineName, in.ThisHost)
	in.Valid = len(in.Problems) == 0
	return t, in, nil
}

// subdirs lists the directories of dir whose names start with prefix, in
// name order (none when dir cannot be read).
func subdirs(h Host, dir, prefix string) []string {
	entries, err := h.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.Dir && strings.HasPrefix(e.Name, prefix) {
			out = append(out, e.Name)
		}
	}
	sort.Strings(out)
	return out
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

// backupDirs lists INST/backup.<timestamp> directories, relative to root,
// oldest first.
func backupDirs(h Host, root, inst string) []string {
	var out []string
	for _, name := range subdirs(h, inst, "backup.") {
		if backupDirRe.MatchString(name) {
			out = append(out, relName(root, path.Join(inst, name)))
		}
	}
	return out
}

// readInstallInf parses setup/install.inf into t (secrets included) and a
// redacted copy into in. A missing, unreadable or malformed file is a
// problem of the install, not an error.
func readInstallInf(h Host, t *Target, in *facts.Install) {
	f, err := h.ReadFile(path.Join(t.Root, "setup", "install.inf"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			in.Problems = append(in.Problems, "no setup/install.inf in "+t.Root)
		} else {
			in.Problems = append(in.Problems, fmt.Sprintf("read setup/install.inf: %v", err))
		}
		return
	}
	inf, err := parse.INF(bytes.NewReader(f.Data))
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
