#!/bin/sh
# Asks again until it gets the right password.
while :; do
	printf 'Password: '
	read pw
	[ "$pw" = right ] && break
done
echo ok
