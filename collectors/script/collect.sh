#!/bin/sh
# msguard collector script: gathers the raw material of every msguard
# collector on a host where msguard itself cannot run (Solaris 8/9 on
# SPARC), for `msguard ingest BUNDLE` to turn into a snapshot.
#
# Usage: sh collect.sh [-r ROOT] [-w WSROOT] [-i INSTANCE] [-b BACKUPDIR]
#                      [-l LDAPURL] [-D BINDDN] [-s STATEDIR] [-n LOGLINES] [-Z] > bundle
# On Solaris run it with a POSIX shell: /usr/xpg4/bin/sh collect.sh ...
# The directory manager password is read by ldapsearch from the file named
# by $MSGUARD_BIND_PASSWORD_FILE (ldapsearch -y; no trailing newline); it
# never appears on a command line. Secrets are redacted here, on the host,
# before anything is written. The script only reads; it changes nothing.
# Output: a gzip-compressed tar holding msguard-bundle.txt when tar and
# gzip are present, else the text bundle itself.

LC_ALL=C
LANG=C
export LC_ALL LANG
umask 077
# Solaris: the POSIX tools (awk with functions, tail -n, id) come first.
if [ -d /usr/xpg4/bin ]; then PATH=/usr/xpg4/bin:$PATH; export PATH; fi

# say: print its arguments as they are (no escape processing).
say() { printf '%s\n' "$*"; }

# Defaults written by `msguard collect --emit-script` from its flags.
#@DEFAULTS@

ROOT=$DEF_ROOT
WSROOT=$DEF_WSROOT
INSTANCE=$DEF_INSTANCE
BACKUPDIR=$DEF_BACKUPDIR
LDAPURL=$DEF_LDAPURL
BINDDN=${DEF_BINDDN:-cn=Directory Manager}
STATEDIR=${DEF_STATEDIR:-/var/lib/msguard}
LOGLINES=
LDAPSTARTTLS=$DEF_STARTTLS
ROOT=${ROOT:-/usr/iplanet/server5}

usage() {
	say "usage: sh collect.sh [-r ROOT] [-w WSROOT] [-i INSTANCE] [-b BACKUPDIR] [-l LDAPURL] [-D BINDDN] [-s STATEDIR] [-n LOGLINES] [-Z] > bundle" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	-r|-w|-i|-b|-l|-D|-s|-n) [ $# -ge 2 ] || usage ;;
	esac
	case $1 in
	-r) ROOT=$2 ;;
	-w) WSROOT=$2 ;;
	-i) INSTANCE=$2 ;;
	-b) BACKUPDIR=$2 ;;
	-l) LDAPURL=$2 ;;
	-D) BINDDN=$2 ;;
	-s) STATEDIR=$2 ;;
	-n) LOGLINES=$2 ;;
	-Z) LDAPSTARTTLS=1; shift; continue ;;
	-h) usage ;;
	*) say "collect.sh: unknown argument: $1" >&2; usage ;;
	esac
	shift 2
done
case $LOGLINES in
''|*[!0-9]*) [ -z "$LOGLINES" ] || { say "collect.sh: -n wants a number of lines" >&2; exit 2; } ;;
esac

M='@@msguard@@'

# have NAME: NAME is an executable on PATH (prints its path).
have() {
	_h_ifs=$IFS
	IFS=:
	for _h_d in $PATH; do
		if [ -n "$_h_d" ] && [ -f "$_h_d/$1" ] && [ -x "$_h_d/$1" ]; then
			IFS=$_h_ifs
			say "$_h_d/$1"
			return 0
		fi
	done
	IFS=$_h_ifs
	return 1
}

# abspath DIR: DIR made absolute (not resolved), without trailing slashes.
abspath() {
	case $1 in
	/*) _a=$1 ;;
	*) _a=`pwd`/$1 ;;
	esac
	say "$_a" | sed -e 's|//*|/|g' -e 's|/\./|/|g' -e 's|/\.$||' -e 's|\(.\)/$|\1|'
}

# realdir DIR: DIR with symbolic links resolved (DIR must exist).
realdir() {
	(cd "$1" 2>/dev/null && { pwd -P 2>/dev/null || /bin/pwd; })
}

begin() { say "$M BEGIN $*"; }
end() { say "$M END $1 rc=$2"; }

# emit NAME PATH: the file's text (a final newline added if missing).
emitfile() { awk '{ print }' "$1"; }

# sha FILE: the hex SHA-256 of FILE, or nothing.
SHATOOL=
if have sha256sum >/dev/null; then SHATOOL=sha256sum
elif have digest >/dev/null && digest -l 2>/dev/null | grep sha256 >/dev/null; then SHATOOL=digest
elif have openssl >/dev/null; then SHATOOL=openssl
fi
sha() {
	case $SHATOOL in
	sha256sum) sha256sum < "$1" 2>/dev/null ;;
	digest) digest -a sha256 < "$1" 2>/dev/null ;;
	openssl) openssl dgst -sha256 < "$1" 2>/dev/null ;;
	esac | awk '{ for (i = 1; i <= NF; i++) if (length($i) == 64 && $i !~ /[^0-9a-fA-F]/) { print tolower($i); exit } }'
}

# The awk redaction library: the rules of msguard's parse.IsSecretKey,
# parse.IsSecretValue, parse.RedactInline and redact.Args.
REDACT_AWK='
function secretkey(k,   l) {
	l = tolower(k)
	if (l == "siepid") return 1
	return (index(l, "pwd") || index(l, "passw") || index(l, "passphrase") || index(l, "cred") || index(l, "secret") || index(l, "bindpw"))
}
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function hashvalue(v,   n) {
	if (!match(v, /^[ \t]*\{[A-Za-z0-9._-]+\}[^ \t]/)) return 0
	n = index(v, "}") - index(v, "{") - 1
	return n >= 2 && n <= 16
}
# inline: URL passwords ("ldap://u:pw@h") and the values of secret
# key=value pairs anywhere in v (also inside the value of another pair or a
# URL query) become <redacted>; a value is a "quoted string" or runs to
# the next , ; & or blank.
function inline(v,   out, k, eq, pair, rest, n) {
	v = urlpw(v)
	out = ""
	while (match(v, /[A-Za-z0-9_.-]+[ \t]*=[ \t]*/)) {
		pair = substr(v, RSTART, RLENGTH)
		out = out substr(v, 1, RSTART + RLENGTH - 1)
		rest = substr(v, RSTART + RLENGTH)
		eq = index(pair, "=")
		k = substr(pair, 1, eq - 1); sub(/[ \t]+$/, "", k)
		n = 0
		if (secretkey(k)) {
			if (substr(rest, 1, 1) == "\"") {
				n = index(substr(rest, 2), "\"")
				n = (n == 0) ? length(rest) : n + 1
			} else if (match(rest, /^[^,;& \t]+/)) n = RLENGTH
			if (n > 0) out = out "<redacted>"
		}
		v = substr(rest, n + 1)
	}
	return out v
}
function urlpw(t,   out, m, at) {
	out = ""
	while (match(t, /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\/@: \t]*:[^\/@ \t]*@/)) {
		m = substr(t, RSTART, RLENGTH)
		at = index(substr(m, index(m, "://") + 3), ":") + index(m, "://") + 2
		out = out substr(t, 1, RSTART - 1) substr(m, 1, at) "<redacted>@"
		t = substr(t, RSTART + RLENGTH)
	}
	return out t
}
# value: the redacted form of a raw value v of key k (spacing kept).
function value(k, v,   t) {
	t = trim(v)
	if (t == "") return v
	if (secretkey(k) || hashvalue(t)) return " <redacted>"
	return inline(v)
}
function cmdsecret(k,   l) {
	l = tolower(k)
	return l ~ /(password|passwd|pwd|bindcred|bindpw|secret)$/
}
function cmdline(s,   n, a, i, out, tok, mask, k, eq, key) {
	n = split(s, a, /[ \t]+/)
	out = ""; mask = 0
	for (i = 1; i <= n; i++) {
		tok = a[i]
		if (tok == "" ) continue
		if (mask) { tok = "***"; mask = 0 }
		else if (tok == "-w") mask = 1
		else if (substr(tok, 1, 2) == "-w") tok = "-w***"
		else if (substr(tok, 1, 2) == "--" && cmdsecret(substr(tok, 3)) && index(tok, "=") == 0) mask = 1
		else if ((eq = index(tok, "=")) > 0 && (key = substr(tok, 1, eq - 1)) != "" && cmdsecret(stripdash(key))) tok = key "=***"
		else tok = urluser(tok)
		out = out (out == "" ? "" : " ") tok
	}
	return out
}
function stripdash(k) { sub(/^-+/, "", k); return k }
function urluser(t,   out, m, at) {
	out = ""
	while (match(t, /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\/@: \t]*:[^\/@ \t]*@/)) {
		m = substr(t, RSTART, RLENGTH)
		at = index(substr(m, index(m, "://") + 3), ":") + index(m, "://") + 2
		out = out substr(t, 1, RSTART - 1) substr(m, 1, at) "***@"
		t = substr(t, RSTART + RLENGTH)
	}
	return out t
}
'

# redact MODE FILE: FILE with secret values replaced by <redacted>, line
# by line, so that every line parses (or fails to) as the original did.
# Modes: inf, conf (msg.conf), disp (dispatcher.cnf), colon (adm.conf),
# ws (magnus.conf), prop (servlets.properties), text (inline pairs only).
redact() {
	awk -v mode="$1" "$REDACT_AWK"'
	{
		sub(/\r$/, "", $0)
		line = $0
		t = trim(line)
		if (mode == "prop") { print prop(line); next }
		if (t == "") { print line; next }
		c = substr(t, 1, 1)
		if (mode == "text") { print inline(line); next }
		if (c == "#" || (c == ";" && mode == "inf") || (c == "!" && (mode == "conf" || mode == "disp"))) { print line; next }
		if (c == "[" && (mode == "inf" || mode == "disp")) { print line; next }
		if (mode == "ws") {
			if (!match(line, /^[ \t]*[^ \t]+/)) { print line; next }
			k = trim(substr(line, 1, RLENGTH))
			print substr(line, 1, RLENGTH) value(k, substr(line, RLENGTH + 1))
			next
		}
		sep = (mode == "colon") ? ":" : "="
		i = index(line, sep)
		if (i == 0 || trim(substr(line, 1, i - 1)) == "") { print "<line without a key redacted>"; next }
		k = trim(substr(line, 1, i - 1)); v = substr(line, i + 1)
		if (mode == "conf" && substr(trim(v), 1, 1) == "\"") {
			q = trim(v)
			closed = length(q) >= 2 && substr(q, length(q), 1) == "\""
			inner = closed ? substr(q, 2, length(q) - 2) : substr(q, 2)
			if (secretkey(k) || hashvalue(inner)) inner = "<redacted>"
			else inner = inline(inner)
			print substr(line, 1, i) " \"" inner (closed ? "\"" : "")
			next
		}
		print substr(line, 1, i) value(k, v)
	}
	function prop(line,   t, c, j, k, odd, n) {
		t = line; sub(/^[ \t\f]+/, "", t)
		n = 0; for (j = length(line); j > 0 && substr(line, j, 1) == "\\"; j--) n++
		odd = n % 2
		if (cont) {
			cont = odd
			if (contsecret) return odd ? "\\" : ""
			return inline(line)
		}
		if (t == "" || substr(t, 1, 1) == "#" || substr(t, 1, 1) == "!") return line
		cont = odd
		if (!match(t, /[=: \t]/)) return line
		k = substr(t, 1, RSTART - 1)
		contsecret = secretkey(k)
		if (contsecret) return substr(line, 1, length(line) - length(t)) k "=<redacted>" (odd ? "\\" : "")
		return inline(line)
	}'
}

# file PATH MODE: one file section, redacted, with the SHA-256 of the
# original; or why it could not be read.
file() {
	if [ ! -e "$1" ] && [ ! -h "$1" ]; then
		say "$M FILE $1 missing"
	elif [ -d "$1" ]; then
		say "$M FILE $1 isdir"
	elif [ ! -r "$1" ]; then
		say "$M FILE $1 unreadable"
	else
		begin "file $1 sha256=`sha "$1"`"
		redact "$2" < "$1"
		end file 0
	fi
}

# hasnul FILE: FILE holds a NUL byte (is not text).
hasnul() { ! tr -d '\000' < "$1" | cmp -s - "$1"; }

# backupdiff BACKUP INST: how each regular file of BACKUP, but
# config/msg.conf and config/local.conf (compared by key), differs from the
# file of the same name under INST; one line each that differs: "absent
# REL", "binary REL", "unreadable backup|current REL" or "text REL"; then
# both copies of each text file, redacted (text mode).
backupdiff() {
	(cd "$1" 2>/dev/null && find . -type f -print) | sed 's|^\./||' | sort > "$TMPD/bfiles"
	: > "$TMPD/btext"
	begin "backupdiff $1"
	while IFS= read -r _bd_r; do
		case $_bd_r in config/msg.conf|config/local.conf) continue ;; esac
		_bd_o=$1/$_bd_r
		_bd_c=$2/$_bd_r
		if [ ! -r "$_bd_o" ]; then say "unreadable backup $_bd_r"
		elif [ ! -f "$_bd_c" ]; then say "absent $_bd_r"
		elif [ ! -r "$_bd_c" ]; then say "unreadable current $_bd_r"
		elif cmp -s "$_bd_o" "$_bd_c"; then :
		elif hasnul "$_bd_o" || hasnul "$_bd_c"; then say "binary $_bd_r"
		else
			say "text $_bd_r"
			say "$_bd_r" >> "$TMPD/btext"
		fi
	done < "$TMPD/bfiles"
	end backupdiff 0
	while IFS= read -r _bd_r; do
		file "$1/$_bd_r" text
		file "$2/$_bd_r" text
	done < "$TMPD/btext"
}

# run NAME EXE ARGS...: a command's output (stdout and stderr, first 64
# KiB) run in the executable's directory, and its exit status.
run() {
	_r_name=$1
	shift
	if [ ! -f "$1" ]; then
		say "$M CMD $_r_name missing $1"
		return
	fi
	begin "cmd $_r_name"
	_r_dir=`dirname "$1"`
	( cd "$_r_dir" && "$@" < /dev/null 2>&1; say "$M RC $?" ) |
		awk -v m="$M" '$1 == m && $2 == "RC" { rc = $3; next } { n += length($0) + 1; if (n <= 65536) print } END { print m " END cmd rc=" (rc == "" ? "cut" : rc) }'
}

# dirs DIR: a listing of DIR's entries: "d NAME" for directories (or links
# to them), "f NAME" for anything else.
dirs() {
	for _d_e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
		[ -e "$_d_e" ] || [ -h "$_d_e" ] || continue
		_d_n=`basename "$_d_e"`
		if [ -d "$_d_e" ]; then say "d $_d_n"; else say "f $_d_n"; fi
	done
}

# kind PATH: d (directory), f (file), x (executable file), - (missing),
# r (exists, unreadable directory).
kind() {
	if [ -d "$1" ]; then
		if [ -r "$1" ] && [ -x "$1" ]; then echo d; else echo r; fi
	elif [ -f "$1" ]; then
		if [ -x "$1" ]; then echo x; else echo f; fi
	elif [ -e "$1" ]; then echo o
	else echo -
	fi
}

# tree NAME DIR: ls -lRa of DIR, errors in a section of their own.
tree() {
	begin "tree $1 $2"
	ls -lRa "$2" 2>"$TMPD/err"
	end tree $?
	begin "treeerr $1"
	cat "$TMPD/err"
	end treeerr 0
}

# ---- output: a private temporary directory, removed on exit ----
TMPD=${TMPDIR:-/tmp}/msguard-collect.$$
mkdir "$TMPD" 2>/dev/null || { say "collect.sh: cannot create $TMPD" >&2; exit 1; }
trap 'rm -rf "$TMPD"' 0
trap 'exit 130' 1 2 15
PACK=
if have tar >/dev/null && have gzip >/dev/null; then PACK=tgz; fi

collect() {
	say "$M BUNDLE msguard-collect/1"
	ROOTABS=`abspath "$ROOT"`
	WSABS=
	[ -z "$WSROOT" ] || WSABS=`abspath "$WSROOT"`

	begin meta
	say "script_version=1"
	say "root=$ROOTABS"
	say "wsroot=$WSABS"
	say "instance=$INSTANCE"
	[ -z "$BACKUPDIR" ] || say "backup_dir=`abspath "$BACKUPDIR"`"
	say "ldap_url=$LDAPURL"
	say "bind_dn=$BINDDN"
	say "state_dir=$STATEDIR"
	say "date_utc=`date -u '+%Y %m %d %H %M %S'`"
	say "date_local=`date '+%Y %m %d %H %M %S'`"
	say "uname=`uname -a`"
	say "nodename=`uname -n`"
	_hn=`hostname 2>/dev/null` && say "hostname=$_hn"
	say "id=`id`"
	say "starttls=$LDAPSTARTTLS"
	say "sha_tool=$SHATOOL"
	say "pack=$PACK"
	end meta 0

	begin "kind root"
	say "`kind "$ROOTABS"` $ROOTABS"
	end kind 0
	if [ ! -d "$ROOTABS" ]; then say "$M DONE"; return 0; fi
	begin "dir $ROOTABS"
	dirs "$ROOTABS"
	end dir 0

	# The messaging instance: the one asked for, else the only msg-*.
	INST=${INSTANCE#msg-}
	if [ -z "$INST" ]; then
		_n=0
		for _e in "$ROOTABS"/msg-*; do
			[ -d "$_e" ] || continue
			_n=`expr $_n + 1`
			INST=`basename "$_e"`
			INST=${INST#msg-}
		done
		[ "$_n" -le 1 ] || INST=
	fi
	INSTDIR=
	[ -z "$INST" ] || [ ! -d "$ROOTABS/msg-$INST" ] || INSTDIR=$ROOTABS/msg-$INST
	if [ -z "$WSABS" ] && [ -d "$ROOTABS/https-admserv" ]; then WSABS=$ROOTABS; fi

	begin kinds
	for _p in "$ROOTABS/admin-serv" "$ROOTABS/setup/install.inf" "$ROOTABS/bin/slapd/server/ns-slapd" \
		"$WSABS" "$WSABS/bin/https/bin/ns-httpd" "$INSTDIR/store/partition/primary" "$INSTDIR/imta/queue" \
		"$INSTDIR/imsimta" "$INSTDIR/log/imta/mail.log_current"; do
		case $_p in /*) say "`kind "$_p"` $_p" ;; esac
	done
	end kinds 0
	if [ -n "$INSTDIR" ]; then
		begin "dir $INSTDIR"
		dirs "$INSTDIR"
		end dir 0
	fi
	if [ -n "$WSABS" ] && [ "$WSABS" != "$ROOTABS" ] && [ -d "$WSABS" ]; then
		begin "dir $WSABS"
		dirs "$WSABS"
		end dir 0
	fi

	# Configuration files, redacted.
	file "$ROOTABS/setup/install.inf" inf
	file "$ROOTABS/setup/slapd/slapd.inf" inf
	file "$ROOTABS/setup/nda/nda.inf" inf
	file "$ROOTABS/admin-serv/config/adm.conf" colon
	if [ -n "$INSTDIR" ]; then
		file "$INSTDIR/config/msg.conf" conf
		file "$INSTDIR/config/local.conf" conf
		file "$INSTDIR/imta/config/imta.cnf" text
		file "$INSTDIR/imta/config/dispatcher.cnf" disp
		file "$INSTDIR/imta/config/job_controller.cnf" disp
		_nb=
		for _b in "$INSTDIR"/backup.*; do
			[ -d "$_b" ] || continue
			file "$_b/config/msg.conf" conf
			file "$_b/config/local.conf" conf
			case ${_b##*/} in
			backup.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) _nb=$_b ;;
			esac
		done
		# The newest backup.<timestamp>, file by file.
		[ -z "$_nb" ] || backupdiff "$_nb" "$INSTDIR"
	fi
	if [ -n "$WSABS" ] && [ -d "$WSABS" ]; then
		for _h in "$WSABS"/https-*; do
			[ -d "$_h" ] || continue
			file "$_h/config/magnus.conf" ws
			file "$_h/config/servlets.properties" prop
			for _f in "$_h"/config/*.nda; do
				[ -f "$_f" ] || [ -h "$_f" ] || continue
				file "$_f" prop
			done
		done
	fi

	# Version commands.
	[ -z "$INSTDIR" ] || run "imsimta version" "$INSTDIR/imsimta" version
	run "ns-slapd -v" "$ROOTABS/bin/slapd/server/ns-slapd" -v
	[ -z "$WSABS" ] || run "ns-httpd -v" "$WSABS/bin/https/bin/ns-httpd" -v

	# Processes: the list with redacted command lines; on Linux also each
	# process's executable.
	_psf=
	for _f in "pid,ppid,user,s,args" "pid,ppid,user,stat,args" "pid,ppid,user,args"; do
		if ps -eo "$_f" > "$TMPD/ps" 2>/dev/null; then _psf=$_f; break; fi
	done
	if [ -n "$_psf" ]; then
		begin "ps $_psf"
		_nf=`say "$_psf" | awk -F, '{ print NF - 1 }'`
		awk -v nf="$_nf" "$REDACT_AWK"'
		NR == 1 { next }
		{
			line = $0
			sub(/^[ \t]+/, "", line)
			head = ""
			for (i = 0; i < nf; i++) {
				match(line, /^[^ \t]+[ \t]*/)
				f = substr(line, 1, RLENGTH); sub(/[ \t]+$/, "", f)
				head = head f " "
				line = substr(line, RLENGTH + 1)
			}
			print head cmdline(line)
		}' "$TMPD/ps"
		end ps 0
	else
		say "$M PS unavailable"
	fi
	if [ -d /proc/self ] && ls -l /proc/self/exe >/dev/null 2>&1; then
		begin exe
		ls -l /proc/[0-9]*/exe 2>/dev/null | sed -n -e 's|^.* /proc/\([0-9]*\)/exe -> \(.*\)$|\1 \2|p' -e 't' \
			-e 's|^.* /proc/\([0-9]*\)/exe$|\1|p'
		end exe 0
	fi

	# Mount table and free space.
	if [ -r /proc/self/mountinfo ]; then
		begin "mounts mountinfo"
		cat /proc/self/mountinfo
		end mounts $?
	elif [ -r /etc/mnttab ]; then
		begin "mounts mnttab"
		cat /etc/mnttab
		end mounts $?
	else
		say "$M MOUNTS unavailable"
	fi
	begin paths
	_sp=
	[ -z "$INSTDIR" ] || _sp=$INSTDIR/store/partition/primary
	for _kp in "server_root $ROOTABS" "store $_sp" "backup `[ -z "$BACKUPDIR" ] || abspath "$BACKUPDIR"`"; do
		_k=${_kp%% *}
		_p=${_kp#* }
		[ -n "$_p" ] || continue
		_probe=$_p
		while [ ! -d "$_probe" ] && [ "$_k" = backup ] && [ "$_probe" != / ]; do
			_probe=`dirname "$_probe"`
		done
		if [ -d "$_probe" ] && _real=`realdir "$_probe"` && [ -n "$_real" ]; then
			_df=`df -k "$_real" 2>/dev/null | awk 'NR > 1 { for (i = 1; i <= NF; i++) f[++n] = $i } END { if (n >= 6) print f[n - 4], f[n - 2] }'`
			say "$_k	$_p	$_real	$_df"
		else
			say "$_k	$_p	-	"
		fi
	done
	end paths 0

	# Queue and store listings (sizes and modification times).
	if [ -n "$INSTDIR" ]; then
		[ ! -d "$INSTDIR/imta/queue" ] || tree queue "$INSTDIR/imta/queue"
		[ ! -d "$INSTDIR/store/partition/primary" ] || tree store "$INSTDIR/store/partition/primary"
	fi

	# MTA log.
	_log=$INSTDIR/log/imta/mail.log_current
	if [ -n "$INSTDIR" ] && [ -f "$_log" ] && [ -r "$_log" ]; then
		if [ -n "$LOGLINES" ]; then
			_total=`wc -l < "$_log" | awk '{ print $1 }'`
			begin "maillog total=$_total tail=$LOGLINES"
			tail -n "$LOGLINES" "$_log" 2>/dev/null || tail -"$LOGLINES" "$_log"
		else
			begin "maillog total=all"
			cat "$_log"
		fi
		end maillog $?
	fi

	# Cluster CLIs.
	begin ha
	for _t in hareg haget hagrp hares scrgadm scstat pkginfo ssh; do
		_p=`have $_t` && say "tool $_t $_p"
	done
	end ha 0
	if have scrgadm >/dev/null && have scstat >/dev/null; then
		run "scstat -g" "`have scstat`" -g
		if have pkginfo >/dev/null; then run "pkginfo SUNWscims" "`have pkginfo`" SUNWscims; fi
		# Every Online node's agent package: pkginfo here, ssh elsewhere.
		run "scstat -n" "`have scstat`" -n
		_me=`uname -n | sed 's/\..*//' | tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' 'abcdefghijklmnopqrstuvwxyz'`
		"`have scstat`" -n > "$TMPD/sc3nodes" 2>/dev/null || : > "$TMPD/sc3nodes"
		awk '$1 == "Cluster" && $2 == "node:" && tolower($4) == "online" { print $3 }' "$TMPD/sc3nodes" |
		while IFS= read -r _n; do
			if [ "$_n" = "$_me" ]; then
				if have pkginfo >/dev/null; then run "pkginfo -l SUNWscims" "`have pkginfo`" -l SUNWscims
				else say "$M CMD pkginfo -l SUNWscims missing pkginfo"; fi
			elif have ssh >/dev/null; then
				run "ssh -o BatchMode=yes $_n pkginfo -l SUNWscims" "`have ssh`" -o BatchMode=yes "$_n" pkginfo -l SUNWscims
			else
				say "$M CMD ssh -o BatchMode=yes $_n pkginfo -l SUNWscims missing ssh"
			fi
		done
	elif have hagrp >/dev/null && have hares >/dev/null; then
		run "hagrp -state iMS5" "`have hagrp`" -state iMS5
		run "hares -dep" "`have hares`" -dep
	elif have hareg >/dev/null; then
		run "hareg" "`have hareg`"
		if have haget >/dev/null; then
			run "haget -f master -h ims-lh" "`have haget`" -f master -h ims-lh
			run "haget -f mastered" "`have haget`" -f mastered
		fi
	fi

	# msguard's own remediate state, if msguard ever ran here.
	for _s in "$STATEDIR"/roots/*/state.json; do
		[ -f "$_s" ] || continue
		file "$_s" text
	done

	# The directory, through ldapsearch.
	ldap
	if [ -r /etc/hosts ]; then
		begin hosts
		cat /etc/hosts
		end hosts 0
	fi
	say "$M DONE"
}

# ldapq NAME ARGS...: one ldapsearch, LDIF out, its exit status.
ldapq() {
	_q_name=$1
	shift
	begin "ldap $_q_name"
	"$LDAPSEARCH" $LDAPOPTS "$@" >"$TMPD/lout" 2>"$TMPD/lerr"
	_q_rc=$?
	cat "$TMPD/lout"
	sed "s/^/$M STDERR /" "$TMPD/lerr"
	end ldap $_q_rc
}

ldap() {
	if [ -z "$LDAPURL" ] && [ -r "$ROOTABS/setup/install.inf" ]; then
		LDAPURL=`awk '/^[ \t]*\[/ { s = $0; gsub(/[][ \t\r]/, "", s); next }
			s == "General" && /^[ \t]*UserDirectoryLdapURL[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t\r]+$/, "", v); u = v }
			END { print u }' "$ROOTABS/setup/install.inf"`
	fi
	LDAPSEARCH=`have ldapsearch` || LDAPSEARCH=
	if [ -z "$LDAPSEARCH" ] && [ -x "$ROOTABS/shared/bin/ldapsearch" ]; then LDAPSEARCH=$ROOTABS/shared/bin/ldapsearch; fi
	begin ldapmeta
	say "url=$LDAPURL"
	say "ldapsearch=$LDAPSEARCH"
	if [ -n "$MSGUARD_BIND_PASSWORD_FILE" ]; then
		if [ -r "$MSGUARD_BIND_PASSWORD_FILE" ]; then say "password=file"; else say "password=unreadable"; fi
	else
		say "password=none"
	fi
	end ldapmeta 0
	[ -n "$LDAPSEARCH" ] && [ -n "$LDAPURL" ] || return 0
	_hp=`say "$LDAPURL" | sed -n 's|^\([A-Za-z]*://[^/]*\).*$|\1|p'`
	SUFFIX=`say "$LDAPURL" | sed -n 's|^[A-Za-z]*://[^/]*/\{0,1\}||p'`
	[ -n "$SUFFIX" ] || SUFFIX=o=siroe.com
	LDAPOPTS="-x -LLL -H $_hp"
	[ -z "$LDAPSTARTTLS" ] || LDAPOPTS="$LDAPOPTS -ZZ"
	if [ -z "$MSGUARD_BIND_PASSWORD_FILE" ] || [ ! -r "$MSGUARD_BIND_PASSWORD_FILE" ]; then
		ldapq anon -s base -b "" "(objectClass=*)" namingContexts
		return 0
	fi
	ldapq rootdse -D "$BINDDN" -y "$MSGUARD_BIND_PASSWORD_FILE" -s base -b "" "(objectClass=*)" \
		namingContexts vendorName vendorVersion subschemaSubentry
	SCHEMADN=`sed -n 's/^subschemaSubentry: //p' "$TMPD/lout" | sed -n 1p`
	ldapq monitor -D "$BINDDN" -y "$MSGUARD_BIND_PASSWORD_FILE" -s base -b cn=monitor "(objectClass=*)" version monitoredInfo
	ldapq schema -D "$BINDDN" -y "$MSGUARD_BIND_PASSWORD_FILE" -s base -b "${SCHEMADN:-cn=Subschema}" "(objectClass=*)" objectClasses
	ldapq pab -D "$BINDDN" -y "$MSGUARD_BIND_PASSWORD_FILE" -s base -b o=pab "(objectClass=*)" 1.1
	ldapq recipients -D "$BINDDN" -y "$MSGUARD_BIND_PASSWORD_FILE" -s sub -b "$SUFFIX" "(objectClass=inetLocalMailRecipient)" 1.1
	ldapq pabentries -D "$BINDDN" -y "$MSGUARD_BIND_PASSWORD_FILE" -s sub -b o=pab "(objectClass=*)" 1.1
}

if [ "$PACK" = tgz ]; then
	collect > "$TMPD/msguard-bundle.txt"
	(cd "$TMPD" && tar cf - msguard-bundle.txt) | gzip -c
else
	collect
fi
