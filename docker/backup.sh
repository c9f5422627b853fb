#!/bin/sh
# Back up the event stores and the reporting records (custom format). The read models need no
# backup: they are rebuilt from the feeds. Usage: docker/backup.sh <folder>
# PG* variables name the server; DATABASES the databases (default: referral journey reporting).
set -eu
out=${1:?usage: backup.sh <folder>}
mkdir -p "$out"
for db in ${DATABASES:-referral journey reporting}; do
  pg_dump --format=custom --file="$out/$db.dump" "$db"
done
echo "backed up to $out"
