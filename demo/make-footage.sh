#!/usr/bin/env bash
# Generates the demo segment folder that `scelle demo` exports: camera "cam1", three 10 s H.264
# segments (320x180, 25 fps, GOP 50, burnt-in UTC clock) named by their start time in UTC,
#   footage/cam1/2026/01/15/14-00-00.mp4, 14-00-10.mp4, 14-00-30.mp4
# with the 14:00:20 segment deliberately absent, so an export of 14:00:00–14:00:40 shows one
# reported hole. Pattern for the segment source: "{camera}/%Y/%m/%d/%H-%M-%S.mp4".
# Deterministic enough to re-run (same sizes); needs ffmpeg with libx264 and drawtext.
set -euo pipefail
cd "$(dirname "$0")"

START_EPOCH=1768485600 # 2026-01-15T14:00:00Z
OUT=footage/cam1/2026/01/15
rm -rf footage
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for offset in 0 10 30; do
  t=$((START_EPOCH + offset))
  name=$(date -u -d "@$t" +%H-%M-%S)
  ffmpeg -v error -y -f lavfi -i "testsrc=size=320x180:rate=25:duration=10" \
    -vf "drawtext=text='cam1 %{pts\:gmtime\:$t\:%Y-%m-%d %H\\\\\:%M\\\\\:%S} UTC':fontsize=16:x=8:y=8:fontcolor=white:box=1:boxcolor=black" \
    -c:v libx264 -preset veryfast -crf 30 -pix_fmt yuv420p -g 50 -bf 0 \
    -map_metadata -1 -fflags +bitexact -flags:v +bitexact \
    "$tmp/seg.mp4"
  mv "$tmp/seg.mp4" "$OUT/$name.mp4"
done
du -sh footage
