package collectors

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/redact"
)

func init() { register(facts.CollectorProcesses, collectProcesses) }

// daemonNames are the executables of an iPlanet install: the Messaging
// Server's (ROOT/bin/msg/lib), the Directory Server's, and the Admin and
// Web Servers'. A process with one of these names whose executable cannot
// be read is reported as unreadable, since it may be ours.
var daemonNames = map[string]bool{
	"stored": true, "imapd": true, "popd": true, "mshttpd": true, "enpd": true,
	"job_controller": true, "dispatcher": true, "tcp_smtp_server": true,
	"tcp_lmtp_server": true, "ims_master": true, "sched": true,
	"ns-slapd": true, "ns-httpd": true, "uxwdog": true,
}

// deletedSuffix ends /proc/<pid>/exe when the binary was replaced or
// removed while the process ran (an upgrade in progress).
const deletedSuffix = " (deleted)"

// procInfo is what is read from /proc about one process before deciding
// whether it belongs to the install.
type procInfo struct {
	pid    int32
	name   string // comm
	exe    string
	exeErr error
	argv   []string
	zombie bool
}

// procOwner says how a process relates to the install.
type procOwner int

const (
	procOther      procOwner = iota // not ours
	procOurs                        // exe (or absolute argv[0]) under the roots
	procUnreadable                  // exe unreadable and the name is a daemon's
)

// installRoots are the directories a daemon of the install runs from.
type installRoots struct {
	root, wsRoot, instance string
}

// classify decides whether p belongs to the install and fills Exe, Daemon
// and Role. Zombies are never running daemons.
func (r installRoots) classify(p procInfo) (facts.Process, procOwner) {
	fp := facts.Process{PID: p.pid}
	if p.zombie {
		return fp, procOther
	}
	exe := ""
	if p.exeErr == nil && p.exe != "" {
		exe = filepath.Clean(strings.TrimSuffix(p.exe, deletedSuffix))
		if !r.under(exe) {
			return fp, procOther
		}
	} else {
		if len(p.argv) > 0 && filepath.IsAbs(p.argv[0]) && pathUnder(filepath.Clean(p.argv[0]), r.root) {
			exe = filepath.Clean(p.argv[0])
		} else {
			name := p.name
			if len(p.argv) > 0 && p.argv[0] != "" {
				name = filepath.Base(p.argv[0])
			}
			if p.exeErr != nil && (daemonNames[p.name] || daemonNames[name]) {
				fp.Daemon = name
				if !daemonNames[name] {
					fp.Daemon = p.name
				}
				return fp, procUnreadable
			}
			return fp, procOther
		}
	}
	fp.Exe = exe
	fp.Daemon = filepath.Base(exe)
	fp.Role = r.role(exe, fp.Daemon, p.argv)
	return fp, procOurs
}

// under reports whether the clean absolute path p is below ROOT or WSROOT.
func (r installRoots) under(p string) bool {
	if r.root != "" && pathUnder(p, r.root) && p != r.root {
		return true
	}
	return r.wsRoot != "" && pathUnder(p, r.wsRoot) && p != r.wsRoot
}

// role refines a daemon from its command line (see facts.Process.Role).
func (r installRoots) role(exe, daemon string, argv []string) string {
	switch daemon {
	case "ns-httpd", "uxwdog":
		d := optionValue(argv, "-d")
		if d == "" {
			return ""
		}
		d = filepath.Clean(d)
		if d == filepath.Join(r.root, "admin-serv", "config") {
			return "admin-server"
		}
		inst := filepath.Base(filepath.Dir(d))
		if filepath.Base(d) == "config" && strings.HasPrefix(inst, "https-") {
			top := filepath.Dir(filepath.Dir(d))
			if top == r.wsRoot || top == r.root {
				return "webserver:" + inst
			}
		}
		return ""
	case "ns-slapd":
		d := optionValue(argv, "-D")
		if d == "" {
			return ""
		}
		d = filepath.Clean(d)
		if id, ok := strings.CutPrefix(filepath.Base(d), "slapd-"); ok && filepath.Dir(d) == r.root {
			return "slapd:" + id
		}
		return ""
	}
	if pathUnder(exe, filepath.Join(r.root, "bin", "msg")) && r.instance != "" {
		return "msg:" + r.instance
	}
	return ""
}

// optionValue returns the value of a single-letter option given as
// "-x value" or "-xvalue" (the last one wins), or "".
func optionValue(argv []string, opt string) string {
	v := ""
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == opt && i+1 < len(argv):
			v = argv[i+1]
			i++
		case strings.HasPrefix(a, opt) && len(a) > len(opt):
			v = a[len(opt):]
		}
	}
	return v
}

// collectProcesses lists the install's running daemons. Processes are
// matched by executable path, never by name alone.
func collectProcesses(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	r := installRoots{root: filepath.Clean(t.Root), instance: t.Instance}
	if t.WSRoot != "" {
		r.wsRoot = filepath.Clean(t.WSRoot)
	}
	out := &facts.Processes{Daemons: []facts.Process{}}
	var partial []string
	var listening map[uint64]int // socket inode -> port, read once when needed
	for _, p := range procs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list processes: %w", err)
		}
		info := procInfo{pid: p.Pid}
		info.exe, info.exeErr = p.ExeWithContext(ctx)
		if info.exeErr == nil && info.exe != "" && !r.under(filepath.Clean(strings.TrimSuffix(info.exe, deletedSuffix))) {
			continue // another program's process: nothing more to read
		}
		info.name, _ = p.NameWithContext(ctx)
		info.argv, _ = p.CmdlineSliceWithContext(ctx)
		if st, err := p.StatusWithContext(ctx); err == nil && len(st) > 0 && st[0] == process.Zombie {
			info.zombie = true
		}
		fp, owner := r.classify(info)
		if owner == procOther {
			continue
		}
		// msguard's own probes (imsimta version, ns-slapd -v, the cluster
		// CLIs run by other collectors right now) are not the install's daemons.
		if t.probeParent != 0 {
			if ppid, err := p.PpidWithContext(ctx); err == nil && int(ppid) == t.probeParent {
				continue
			}
		}
		if listening == nil {
			listening = listenInodes()
		}
		if err := describeProcess(ctx, p, info, &fp, listening); err != nil {
			partial = append(partial, err.Error())
		}
		if owner == procUnreadable {
			out.Unreadable = append(out.Unreadable, fp)
		} else {
			out.Daemons = append(out.Daemons, fp)
		}
	}
	sort.Slice(out.Daemons, func(i, j int) bool { return out.Daemons[i].PID < out.Daemons[j].PID })
	sort.Slice(out.Unreadable, func(i, j int) bool { return out.Unreadable[i].PID < out.Unreadable[j].PID })
	if len(out.Unreadable) > 0 {
		partial = append(partial, fmt.Sprintf("%d daemon-named processes with unreadable executables", len(out.Unreadable)))
	}
	s.Processes = out
	return partial, nil
}

// describeProcess fills the parent, user, start time, listening ports and
// redacted command line of a matched process.
func describeProcess(ctx context.Context, p *process.Process, info procInfo, fp *facts.Process, listening map[uint64]int) error {
	var failed []string
	if ppid, err := p.PpidWithContext(ctx); err == nil {
		fp.PPID = ppid
	} else {
		failed = append(failed, "ppid")
	}
	if u, err := p.UsernameWithContext(ctx); err == nil {
		fp.User = u
	} else if uids, err := p.UidsWithContext(ctx); err == nil && len(uids) > 0 {
		fp.User = strconv.Itoa(int(uids[0]))
	} else {
		failed = append(failed, "user")
	}
	if ms, err := p.CreateTimeWithContext(ctx); err == nil {
		fp.Started = time.UnixMilli(ms).UTC()
	} else {
		failed = append(failed, "start time")
	}
	if len(info.argv) > 0 {
		fp.Cmdline = redact.Cmdline(info.argv)
	}
	if ports, err := listeningPorts(p.Pid, listening); err == nil {
		fp.Listening = ports
	} else {
		failed = append(failed, "sockets")
	}
	if len(failed) > 0 {
		return fmt.Errorf("process %d (%s): cannot read %s", fp.PID, fp.Daemon, strings.Join(failed, ", "))
	}
	return nil
}

// listenInodes maps the inode of every listening TCP socket of this network
// namespace to its port, from one read of /proc/net/tcp and tcp6 (instead
// of reading both tables again for every process).
func listenInodes() map[uint64]int {
	out := map[uint64]int{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" { // 0A = TCP_LISTEN
				continue
			}
			_, portHex, ok := strings.Cut(f[1], ":")
			port, err1 := strconv.ParseUint(portHex, 16, 16)
			inode, err2 := strconv.ParseUint(f[9], 10, 64)
			if ok && err1 == nil && err2 == nil && inode != 0 {
				out[inode] = int(port)
			}
		}
	}
	return out
}

// listeningPorts returns the ports a process listens on: its socket file
// descriptors matched against the listening sockets' inodes.
func listeningPorts(pid int32, listening map[uint64]int) ([]int, error) {
	dir := filepath.Join("/proc", strconv.Itoa(int(pid)), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	var ports []int
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:[") {
			continue
		}
		inode, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 64)
		if err != nil {
			continue
		}
		if port, ok := listening[inode]; ok && !seen[port] {
			seen[port] = true
			ports = append(ports, port)
		}
	}
	sort.Ints(ports)
	return ports, nil
}
