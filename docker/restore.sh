#!/bin/sh
# Restore a backup made by backup.sh into fresh databases named <database><suffix>, leaving the
# originals alone. Usage: docker/restore.sh <folder> <suffix>   (PG* variables name the server)
# Then point the services at the restored stores and rebuild the read models
# (make rebuild-reporting); tests/e2e/test_restore_drill.py proves the KPIs come out the same.
set -eu
in=${1:?usage: restore.sh <folder> <suffix>}
suffix=${2:?usage: restore.sh <folder> <suffix>}
for dump in "$in"/*.dump; do
  db="$(basename "$dump" .dump)$suffix"
  createdb "$db"
  pg_restore --no-owner --exit-on-error --dbname="$db" "$dump"
  echo "restored $dump into $db"
done
