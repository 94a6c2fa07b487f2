#!/bin/sh
# Prints part of a line, then hangs without output.
printf 'Copying files...'
sleep 600
