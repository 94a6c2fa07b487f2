#!/bin/sh
# Asks two prompts, one of them a password on stderr, and reports them.
printf 'Install location [/usr/iplanet/server5]: '
read loc
printf 'Administrator password: ' >&2
read pw
echo "location $loc"
echo "$pw" > "$1"
echo 'Installation complete.'
