#!/bin/bash
# RUSTC_WRAPPER: logs user/sys/wall CPU of each rustc invocation to $RUSTC_TIME_LOG.
name=-; kind=-; prev=
for a in "${@:2}"; do
  case "$prev" in --crate-name) name=$a;; --crate-type) kind=$a;; esac
  prev=$a
done
exec /usr/bin/time -a -o "${RUSTC_TIME_LOG:-/dev/null}" -f "%U %S %e $name $kind" "$@"
