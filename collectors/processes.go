package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/redact"
)

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

// procRoot is where the kernel's process table is read.
const procRoot = "/proc"

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture msguard runs on (what sysconf(_SC_CLK_TCK) says).
const clockTicks = 100

// pfKthread is PF_KTHREAD in /proc/<pid>/stat's flags: a kernel thread,
// which has no command line.
const pfKthread = 0x00200000

// procStat is what one read of /proc/<pid>/stat gives.
type procStat struct {
	comm      string
	state     byte
	ppid      int32
	flags     uint64
	startTime uint64 // clock ticks after boot
}

// readProcStat parses /proc/<pid>/stat: "pid (comm) state ppid ..."; comm
// may hold spaces and parentheses, so the fields start after the last ')'.
func readProcStat(dir string, buf []byte) (procStat, error) {
	var st procStat
	b, err := readSmall(dir+"/stat", buf)
	if err != nil {
		return st, err
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, fmt.Errorf("%s/stat: no command name", dir)
	}
	st.comm = string(b[open+1 : end])
	f := bytes.Fields(b[end+1:])
	// f[0] state, f[1] ppid, f[6] flags, f[19] starttime (fields 3, 4, 9 and 22 of proc(5))
	if len(f) < 20 || len(f[0]) != 1 {
		return st, fmt.Errorf("%s/stat: too few fields", dir)
	}
	st.state = f[0][0]
	ppid, err1 := strconv.ParseInt(string(f[1]), 10, 32)
	flags, err2 := strconv.ParseUint(string(f[6]), 10, 64)
	start, err3 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return st, fmt.Errorf("%s/stat: bad fields", dir)
	}
	st.ppid, st.flags, st.startTime = int32(ppid), flags, start
	return st, nil
}

// readSmall reads a small /proc file into buf (grown when too small).
func readSmall(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := 0
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf)+512)...)
		}
		m, err := f.Read(buf[n:])
		n += m
		if err == io.EOF || m == 0 && err == nil {
			return buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readCmdline returns the NUL-separated arguments of /proc/<pid>/cmdline
// (nil when empty, as for a kernel thread or a zombie).
func readCmdline(dir string, buf []byte) ([]string, error) {
	b, err := readSmall(dir+"/cmdline", buf)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte{0})
	parts := bytes.Split(b, []byte{0})
	argv := make([]string, len(parts))
	for i, a := range parts {
		argv[i] = string(a)
	}
	return argv, nil
}

// procName is the process's name as ps -o comm shows it, completed from
// argv[0] when the kernel cut it at 15 bytes ("tcp_smtp_server" is 15).
func procName(comm string, argv []string) string {
	if len(comm) >= 15 && len(argv) > 0 {
		if ext := filepath.Base(argv[0]); strings.HasPrefix(ext, comm) {
			return ext
		}
	}
	return comm
}

// bootTime is the btime line of /proc/stat: when the system booted, in
// seconds since the epoch (what ps uses for a start time).
func bootTime() (int64, error) {
	b, err := os.ReadFile(procRoot + "/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s/stat: no btime", procRoot)
}

// procUID is the real user id on the Uid line of /proc/<pid>/status.
func procUID(dir string, buf []byte) (string, error) {
	b, err := readSmall(dir+"/status", buf)
	if err != nil {
		return "", err
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
			if f := bytes.Fields(v); len(f) > 0 {
				return string(f[0]), nil
			}
		}
	}
	return "", fmt.Errorf("%s/status: no Uid line", dir)
}

// collectProcesses lists the install's running daemons. Processes are
// matched by executable path, never by name alone (installRoots.classify);
// the Host lists the process table and describes only the processes the
// classification keeps.
func collectProcesses(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	r := installRoots{root: filepath.Clean(t.Root), instance: t.Instance}
	if t.WSRoot != "" {
		r.wsRoot = filepath.Clean(t.WSRoot)
	}
	keep := func(p ProcessInfo) bool {
		_, owner := r.classify(p.procInfo())
		return owner != procOther
	}
	infos, partial, err := t.host.Processes(ctx, keep, t.probeParent)
	if err != nil {
		return nil, err
	}
	out := &facts.Processes{Daemons: []facts.Process{}}
	for _, info := range infos {
		fp, owner := r.classify(info.procInfo())
		if owner == procOther {
			continue
		}
		fp.PPID, fp.User, fp.Started, fp.Listening, fp.Cmdline = info.PPID, info.User, info.Started, info.Listening, info.Cmdline
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

// procInfo is what classify reads of p.
func (p ProcessInfo) procInfo() procInfo {
	return procInfo{pid: p.PID, name: p.Name, exe: p.Exe, exeErr: p.ExeErr, argv: p.Argv, zombie: p.Zombie}
}

// liveProcesses reads /proc directly, the least a process needs: one
// readlink of /proc/<pid>/exe decides for every other program's process; a
// process whose executable cannot be read (a kernel thread, another user's
// process when not root) costs one read of its stat (name, state, flags)
// and, unless a kernel thread, of its command line; only the processes keep
// wants cost more (status for the user, fd for the sockets). The children
// of skipParent (msguard's own probes) are left out.
//
// It is hand-written, not gopsutil, because gopsutil's lazy path
// (process.Pids, NewProcess, Exe for every pid, Name where Exe fails, the
// other fields only for the install's processes) measured 7.9× this
// reader's time with no daemon running and 2.6× with 20 (3.97× and 2.21×
// with its boot-time cache), and 6–13× the allocations: gopsutil v3.24.5,
// 76 processes, medians of 6, benchstat p=0.002
// (collectors/gopsutil_bench_test.go: go test -run '^$' -bench
// 'Gopsutil|Hand' ./collectors/).
func liveProcesses(ctx context.Context, keep func(ProcessInfo) bool, skipParent int) ([]ProcessInfo, []string, error) {
	d, err := os.Open(procRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("list processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("list processes: %w", err)
	}
	var out []ProcessInfo
	var partial []string
	var listening map[uint64]int // socket inode -> port, read once when needed
	var btime int64 = -1
	users := map[string]string{}
	buf := make([]byte, 4096)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("list processes: %w", err)
		}
		pid, err := strconv.ParseInt(name, 10, 32)
		if err != nil || pid <= 0 {
			continue // not a process
		}
		dir := procRoot + "/" + name
		info := ProcessInfo{PID: int32(pid)}
		info.Exe, info.ExeErr = os.Readlink(dir + "/exe")
		if info.ExeErr == nil && info.Exe != "" && !keep(info) {
			continue // another program's process: nothing more to read
		}
		st, stErr := readProcStat(dir, buf)
		if stErr != nil && errors.Is(stErr, fs.ErrNotExist) {
			continue // exited meanwhile
		}
		info.Zombie = stErr == nil && st.state == 'Z'
		if stErr == nil && (info.Zombie || st.flags&pfKthread != 0) && info.ExeErr != nil {
			// A zombie is not a running daemon, and a kernel thread has no
			// command line: only its name counts (see classify).
			if info.Zombie || !daemonNames[st.comm] {
				continue
			}
		} else {
			info.Argv, _ = readCmdline(dir, buf)
		}
		info.Name = procName(st.comm, info.Argv)
		if !keep(info) {
			continue
		}
		// msguard's own probes (imsimta version, ns-slapd -v, the cluster
		// CLIs run by other collectors right now) are not the install's daemons.
		if skipParent != 0 && stErr == nil && int(st.ppid) == skipParent {
			continue
		}
		if listening == nil {
			listening = listenInodes()
		}
		if btime < 0 {
			if btime, err = bootTime(); err != nil {
				btime = 0
			}
		}
		if err := describeProcess(dir, buf, st, stErr, btime, users, &info, listening); err != nil {
			partial = append(partial, err.Error())
		}
		out = append(out, info)
	}
	return out, partial, nil
}

// describeProcess fills the parent, user, start time, listening ports and
// redacted command line of a matched process. btime is the boot time (0
// when unknown: no start time then); users caches user names by uid.
func describeProcess(dir string, buf []byte, st procStat, stErr error, btime int64, users map[string]string,
	fp *ProcessInfo, listening map[uint64]int) error {
	var failed []string
	if stErr == nil {
		fp.PPID = st.ppid
	} else {
		failed = append(failed, "ppid")
	}
	if uid, err := procUID(dir, buf); err == nil {
		name, ok := users[uid]
		if !ok {
			name = uid
			if u, err := user.LookupId(uid); err == nil {
				name = u.Username
			}
			users[uid] = name
		}
		fp.User = name
	} else {
		failed = append(failed, "user")
	}
	if stErr == nil && btime > 0 {
		// Whole seconds, as ps -o lstart shows them.
		fp.Started = time.Unix(btime+int64(st.startTime/clockTicks), 0).UTC()
	} else {
		failed = append(failed, "start time")
	}
	if len(fp.Argv) > 0 {
		fp.Cmdline = redact.Cmdline(fp.Argv)
	}
	if ports, err := listeningPorts(fp.PID, listening); err == nil {
		fp.Listening = ports
	} else {
		failed = append(failed, "sockets")
	}
	if len(failed) > 0 {
		return fmt.Errorf("process %d (%s): cannot read %s", fp.PID, fp.Name, strings.Join(failed, ", "))
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
