package treebackup

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The tree copies (Backup, Verify, Restore, Compare)
// work on raw file descriptors relative to an open directory: an *os.File
// costs four fcntl and an epoll_ctl per open on top of the openat, and a
// path relative to its directory's descriptor is not looked up again from
// the root for every file. Profiled on 42,000 queue and store files, the
// os.File calls and the path walks were a fifth of the system time.

// fileWorker is one copying or hashing worker's reusable state: a buffer,
// a SHA-256 and the directory descriptors it last opened, so that a file
// costs no allocation but its manifest strings.
type fileWorker struct {
	buf []byte
	h   hash.Hash
	sum [sha256.Size]byte
	hex [2 * sha256.Size]byte
	dir [2]dirCache
	ent dirReader
	st  unix.Stat_t // the last file hashFileAt or statFileAt read
}

func newFileWorker() *fileWorker {
	return &fileWorker{buf: make([]byte, copyBufSize), h: sha256.New()}
}

// close closes the cached directories.
func (w *fileWorker) close() {
	for i := range w.dir {
		w.dir[i].close()
	}
}

// sumHex returns the hex SHA-256 of what went into w.h, without allocating;
// the slice is valid until the next call.
func (w *fileWorker) sumHex() []byte {
	hex.Encode(w.hex[:], w.h.Sum(w.sum[:0]))
	return w.hex[:]
}

// dirCache keeps the descriptor of the directory whose files a worker is
// going through (the manifest lists a directory's files together).
type dirCache struct {
	root, rel string
	fd        int
	err       error
	open      bool
}

// get returns a descriptor of directory rel below root, reusing the open one.
func (c *dirCache) get(root, rel string) (int, error) {
	if c.open && c.rel == rel && c.root == root {
		return c.fd, c.err
	}
	c.close()
	c.root, c.rel, c.open = root, rel, true
	c.fd, c.err = openDir(absPath(root, rel))
	return c.fd, c.err
}

func (c *dirCache) close() {
	if c.open && c.err == nil {
		unix.Close(c.fd)
	}
	c.open = false
}

// splitRel splits a relative manifest path into its directory and name.
func splitRel(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ".", rel
	}
	return rel[:i], rel[i+1:]
}

// openDir opens directory p for *at calls and reading.
func openDir(p string) (int, error) {
	for {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: p, Err: err}
		}
		return fd, nil
	}
}

// openReadAt opens name in directory dirfd for reading without following
// a symlink, without blocking on a fifo that took a file's place, and,
// when allowed, without updating its access time (a backup leaves the
// source untouched; O_NOATIME needs the owner or CAP_FOWNER).
func openReadAt(dirfd int, name string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOATIME, 0)
		if err == unix.EPERM {
			fd, err = unix.Openat(dirfd, name, flags, 0)
		}
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// readFD reads into b, retrying interrupted calls.
func readFD(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// writeAll writes all of b to fd.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// copyFD copies in to out from their current offsets to the end of in:
// in the kernel (copy_file_range) for files larger than the buffer, else
// (or where the kernel cannot) through the worker's buffer. When hash is
// set, what is read goes into w.h too (the kernel copy is never hashed).
// A large file's holes stay holes in out (copyData): a sparse database
// map costs its data, not its size.
func (w *fileWorker) copyFD(out, in int, size int64, hash bool) (int64, error) {
	var n int64
	if size > copyBufSize && !hash {
		if n, ok, err := w.copyData(out, in, size); ok {
			return n, err
		}
		for {
			m, err := unix.CopyFileRange(in, nil, out, nil, 1<<30, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				if n == 0 && (err == unix.EXDEV || err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.EINVAL) {
					break // copy through user space
				}
				return n, err
			}
			if m == 0 {
				return n, nil
			}
			n += int64(m)
		}
	}
	for {
		m, err := readFD(in, w.buf)
		if m > 0 {
			if hash {
				w.h.Write(w.buf[:m])
			}
			if err := writeAll(out, w.buf[:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, nil
		}
	}
}

// copyData copies the data of in (size bytes, both files at offset 0) to
// the same offsets of out and leaves its holes as holes, found with
// lseek(SEEK_DATA/SEEK_HOLE); out is then truncated to size, which makes
// a trailing hole. ok is false, with nothing copied, when the file system
// of in cannot tell its holes. The offsets of in and out are left at 0.
func (w *fileWorker) copyData(out, in int, size int64) (n int64, ok bool, err error) {
	for off := int64(0); off < size; {
		data, err := unix.Seek(in, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // no data after off: a hole to the end
		}
		if err != nil {
			if off == 0 && (err == unix.EINVAL || err == unix.EOPNOTSUPP) {
				return 0, false, nil
			}
			return n, true, err
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(in, data, unix.SEEK_HOLE)
		if err != nil {
			return n, true, err
		}
		hole = min(hole, size)
		if err := w.copyRange(out, in, data, hole); err != nil {
			return n, true, err
		}
		n += hole - data
		off = hole
	}
	if _, err := unix.Seek(in, 0, io.SeekStart); err != nil {
		return n, true, err
	}
	if err := unix.Ftruncate(out, size); err != nil {
		return n, true, err
	}
	// n counts the data copied; the holes are the rest of size.
	return size, true, nil
}

// copyRange copies bytes [from, to) of in to the same offsets of out: in
// the kernel, else through the worker's buffer.
func (w *fileWorker) copyRange(out, in int, from, to int64) error {
	kernel := true
	for p := from; p < to; {
		if kernel {
			pin, pout := p, p
			m, err := unix.CopyFileRange(in, &pin, out, &pout, int(min(to-p, 1<<30)), 0)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EXDEV || err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.EINVAL {
				kernel = false
				continue
			}
			if err != nil {
				return err
			}
			if m == 0 {
				return fmt.Errorf("changed while being copied (ends before byte %d)", to)
			}
			p += int64(m)
			continue
		}
		m, err := unix.Pread(in, w.buf[:min(int64(len(w.buf)), to-p)], p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if m == 0 {
			return fmt.Errorf("changed while being copied (ends before byte %d)", to)
		}
		for b, q := w.buf[:m], p; len(b) > 0; {
			k, err := unix.Pwrite(out, b, q)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			if k == 0 {
				return io.ErrShortWrite
			}
			b, q = b[k:], q+int64(k)
		}
		p += int64(m)
	}
	return nil
}

// hashFD hashes fd from offset off (pread: the file offset is left alone)
// to its end into w.h and returns the bytes read.
func (w *fileWorker) hashFD(fd int, off int64) (int64, error) {
	var n int64
	for {
		m, err := unix.Pread(fd, w.buf, off+n)
		if err == unix.EINTR {
			continue
		}
		if m > 0 {
			w.h.Write(w.buf[:m])
			n += int64(m)
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, nil
		}
	}
}

// copyAndHash copies in to out and returns the bytes copied and the
// SHA-256 of in. A small file goes through the buffer and the hash in a
// single pass; a large one is copied in the kernel (copy_file_range) and
// then hashed by reading in again from the page cache: measured on 512 MiB,
// 1.7 s against 2.5 s for the single pass through user space.
func (w *fileWorker) copyAndHash(out, in int, size int64) (int64, []byte, error) {
	w.h.Reset()
	if size <= copyBufSize {
		n, err := w.copyFD(out, in, size, true)
		if err != nil {
			return n, nil, err
		}
		return n, w.sumHex(), nil
	}
	n, err := w.copyFD(out, in, size, false)
	if err != nil {
		return n, nil, err
	}
	m, err := w.hashFD(in, 0)
	if err != nil {
		return n, nil, err
	}
	if m != n {
		return n, nil, fmt.Errorf("changed while being copied (%d bytes copied, %d read back)", n, m)
	}
	return n, w.sumHex(), nil
}

// hashFileAt returns the size and hex SHA-256 (valid until the worker's
// next call) of regular file name in directory dirfd, not following a
// symlink. The file's stat, taken before its first byte is read, is left
// in w.st.
func (w *fileWorker) hashFileAt(dirfd int, name string) (int64, []byte, error) {
	fd, err := openReadAt(dirfd, name)
	if err != nil {
		return 0, nil, err
	}
	defer unix.Close(fd)
	st := &w.st
	if err := unix.Fstat(fd, st); err != nil {
		return 0, nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, nil, errors.New("not a regular file")
	}
	w.h.Reset()
	n, err := w.hashFD(fd, 0)
	if err != nil {
		return n, nil, err
	}
	return n, w.sumHex(), nil
}

// statMode is the os.FileMode of a stat result, as os.Lstat gives it.
func statMode(st *unix.Stat_t) fs.FileMode {
	m := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	}
	if st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// entryFromStat fills the metadata of an entry from a stat result.
func entryFromStat(rel, typ string, st *unix.Stat_t) ManifestEntry {
	e := ManifestEntry{Path: rel, Type: typ, Mode: uint32(statMode(st) & manifestModeBits),
		UID: int(st.Uid), GID: int(st.Gid), MTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)).UTC()} // int32 fields on 32-bit hosts
	if typ == EntryFile {
		e.Size = st.Size
	}
	return e
}

// unixMode is the chmod argument for the mode bits of e.
func unixMode(e *ManifestEntry) uint32 {
	m := e.FileMode()
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

// mtimeSpec is the utimensat argument setting access and modification
// time to t (whole range, not only what UnixNano can hold; on a 32-bit
// host, a time its time_t cannot hold is an error, ERANGE).
func mtimeSpec(t time.Time) ([]unix.Timespec, error) {
	ts, err := unix.TimeToTimespec(t)
	if err != nil {
		return nil, fmt.Errorf("mtime %s: %w", t.Format(time.RFC3339), err)
	}
	return []unix.Timespec{ts, ts}, nil
}

// setMtime sets the access and modification time of name in dfd to t,
// without following a symlink.
func setMtime(dfd int, name string, t time.Time) error {
	ts, err := mtimeSpec(t)
	if err != nil {
		return err
	}
	return unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// dirReader reads directory entries with getdents64 into a reused buffer.
type dirReader struct {
	fd       int
	buf      []byte
	pos, end int
}

// reset starts reading directory fd.
func (d *dirReader) reset(fd int) {
	if d.buf == nil {
		d.buf = make([]byte, 32<<10)
	}
	d.fd, d.pos, d.end = fd, 0, 0
}

// next returns the next entry's name (valid until the next call) and its
// d_type (unix.DT_UNKNOWN on file systems that do not fill it), skipping
// "." and ".."; io.EOF at the end.
func (d *dirReader) next() ([]byte, uint8, error) {
	for {
		if d.pos >= d.end {
			n, err := unix.Getdents(d.fd, d.buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			if n <= 0 {
				return nil, 0, io.EOF
			}
			d.pos, d.end = 0, n
		}
		// struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name NUL-terminated.
		rec := d.buf[d.pos:d.end]
		if len(rec) < 19 {
			return nil, 0, fmt.Errorf("getdents: short record")
		}
		reclen := int(binary.NativeEndian.Uint16(rec[16:18]))
		if reclen < 19 || reclen > len(rec) {
			return nil, 0, fmt.Errorf("getdents: bad record length %d", reclen)
		}
		d.pos += reclen
		if binary.NativeEndian.Uint64(rec[0:8]) == 0 {
			continue // deleted entry
		}
		name := rec[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if len(name) == 1 && name[0] == '.' || len(name) == 2 && name[0] == '.' && name[1] == '.' {
			continue
		}
		return name, rec[18], nil
	}
}
