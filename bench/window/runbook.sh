#!/bin/sh
# The upgrade runbook done by hand with the standard tools: the peer of
# `msguard remediate` in the window row of the benchmark. It does what an
# administrator types, in the runbook's order, with no proofs beyond the
# tools' own exit codes:
#   stop (dispatcher, admin, messaging, web), cp -a + sha256sum of the
#   server root, the queue and the store, db2ldif and ldapsearch exports,
#   the store set aside, setup -k for the Directory Server and
#   ims_dssetup.pl, setup -k for Messaging, the configuration saved, the
#   store back, the Web Server and Delegated Administrator installers, the
#   servers started.
# The installers are fed their answers on stdin, in order.
#
# Usage: runbook.sh ROOT MEDIA BACKUP DM_PASSWORD_FILE ADMIN_PASSWORD_FILE LDAP_URL
set -eu
ROOT=$1 MEDIA=$2 BACKUP=$3 DMPW=$4 ADMINPW=$5 LDAPURL=$6
INST=$(ls -d "$ROOT"/msg-* | head -n 1)
SLAPD=$(ls -d "$ROOT"/slapd-* | head -n 1)
STORE=$INST/store/partition/primary
mkdir -p "$BACKUP"
say() { echo "runbook: $*" >&2; }

say "stop"
"$INST/imsimta" stop dispatcher
"$ROOT/stop-admin"
"$INST/stop-msg"
for w in "$ROOT"/https-*; do [ -x "$w/stop" ] && "$w/stop"; done

say "back up the server root, the queue and the store (cp -a + sha256sum)"
sums() { (cd "$1" && find . -type f -print0 | xargs -0 -r sha256sum) > "$2"; }
mkdir -p "$BACKUP/server-root"
for e in "$ROOT"/* "$ROOT"/.[!.]*; do
	[ -e "$e" ] || continue
	cp -a "$e" "$BACKUP/server-root/"
done
sums "$BACKUP/server-root" "$BACKUP/server-root.sha256"
cp -a "$INST/imta/queue" "$BACKUP/queue"
sums "$BACKUP/queue" "$BACKUP/queue.sha256"
cp -a "$STORE" "$BACKUP/store"
sums "$BACKUP/store" "$BACKUP/store.sha256"
(cd "$BACKUP/server-root" && sha256sum -c --quiet ../server-root.sha256)

say "export the directory (db2ldif, ldapsearch)"
"$SLAPD/db2ldif" >"$BACKUP/db2ldif.out"
suffix=${LDAPURL##*/}
server=${LDAPURL%/*}
for base in "$suffix" o=pab; do
	ldapsearch -x -LLL -H "$server" -D "cn=Directory Manager" -y "$DMPW" -E pr=1000/noprompt -b "$base" '(objectClass=*)' \
		>"$BACKUP/$base.ldif"
done

say "set the store aside"
if mountpoint -q "$STORE"; then
	dev=$(findmnt -n -o SOURCE --target "$STORE")
	umount "$STORE"
else
	mv "$STORE" "$STORE.saved"
	mkdir "$STORE"
fi

adminpw=$(cat "$ADMINPW")
dmpw=$(cat "$DMPW")
components="1, 2, 3, 4"
if "$ROOT/bin/slapd/server/ns-slapd" -v 2>&1 | grep -q 'Directory Server 4\.1[0-5]\b'; then
	say "upgrade the Directory Server (setup -k, components 1, 2, 3)"
	(cd "$SLAPD" && printf 'Yes\nYes\n2\n%s\n1, 2, 3\n\nadmin\n%s\nServiceAdmin\n' "$ROOT" "$adminpw" | "$MEDIA/msg52/setup" -k)
	components="1, 3, 4"
fi
say "prepare the directory (ims_dssetup.pl)"
printf '%s\n1\n\n%s\nYes\n\nyes\nyes\ny\n' "$ROOT" "$dmpw" | "$MEDIA/msg52/ims_dssetup.pl"

say "upgrade Messaging Server (setup -k, components $components)"
(cd "$MEDIA/msg52" && printf 'Yes\nYes\n2\n%s\n%s\n2\n\nadmin\n%s\nServiceAdmin\n' "$ROOT" "$components" "$adminpw" | ./setup -k)

say "save the configuration, put the store back"
mkdir -p "$BACKUP/post"
cp "$ROOT/setup/install.inf" "$INST/config/msg.conf" "$INST/config/local.conf" "$BACKUP/post/"
if [ -n "${dev:-}" ]; then
	mount "$dev" "$STORE"
else
	rmdir "$STORE"
	mv "$STORE.saved" "$STORE"
fi

if [ -d "$ROOT/https-admserv" ]; then
	say "upgrade the Web Server"
	printf 'Yes\n%s\nYes\n' "$ROOT" | "$MEDIA/ws60sp2/setup"
fi
if [ -f "$ROOT/setup/nda/nda.inf" ]; then
	say "upgrade Delegated Administrator"
	printf '%s\nYes\n' "$ROOT" | "$MEDIA/da12/uninstall"
	printf 'Yes\n%s\n' "$ROOT" | "$MEDIA/da12/setup"
fi

say "start the servers"
"$INST/start-msg"
"$ROOT/start-admin"
for w in "$ROOT"/https-*; do [ -x "$w/start" ] && "$w/start"; done
say "done"
