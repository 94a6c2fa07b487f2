#!/bin/sh
# Asks a question no answer table knows; records the answer in $1.
echo 'Preparing the installation.'
printf 'Do you want to format the disk? [No]: '
read ans
echo "$ans" > "$1"
echo 'Disk formatted.'
