#!/bin/sh
# Back up the three databases (custom format; the read models need no backup: they are
# rebuilt from the feeds). Usage: docker/backup.sh <folder>   (PG* variables name the server)
set -eu
out=${1:?usage: backup.sh <folder>}
mkdir -p "$out"
for db in referral journey reporting; do
  pg_dump --format=custom --file="$out/$db.dump" "$db"
done
echo "backed up to $out"
