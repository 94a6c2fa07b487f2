#!/bin/sh
# Asks on a line of its own, not shaped like a prompt; records the answer in $1.
echo 'Enter the name of the disk to format'
read ans
echo "$ans" > "$1"
