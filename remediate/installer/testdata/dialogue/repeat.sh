#!/bin/sh
# Asks the same two prompts once per instance.
for i in 1 2; do
	printf 'Instance name [slapd-%s]: ' "$i"
	read name
	printf 'Password: '
	read pw
	echo "instance $i: $name"
done
