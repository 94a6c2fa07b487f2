#!/bin/sh
# Fails after its prompt with two ERROR lines.
printf 'Continue [yes]: '
read ans
echo 'ERROR: first problem'
echo 'Cleaning up.'
echo 'ERROR: disk full'
exit 3
