#!/bin/sh
# Answers one prompt, then hangs without output.
printf 'Proceed with the upgrade? [Yes]: '
read ans
sleep 600
