#!/bin/sh
# Turns echo on (on a terminal), then prints the password it was given.
stty echo 2>/dev/null
printf 'Password: '
read pw
echo "you typed $pw, twice: $pw$pw"
echo "$pw" > "$1"
