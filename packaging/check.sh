#!/usr/bin/env bash
# make package-check: prove dist/GroupMap runs without the venv or the source tree.
# Every bundle command runs with an empty environment (no VIRTUAL_ENV, PYTHONPATH, venv on
# PATH), from a scratch folder, on Qt's offscreen platform. Fails on the first broken step.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUNDLE=$ROOT/dist/GroupMap
EXE=$BUNDLE/groupmap
MAX_MB=${GROUPMAP_MAX_BUNDLE_MB:-200}      # the issue's limit: fails (e.g. pyarrow or WebEngine crept in)
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)

fail() { echo "package-check: FAILED: $*" >&2; exit 1; }
[ -x "$EXE" ] || fail "$EXE is missing; run 'make package' first."

SCRATCH=$(mktemp -d)
mkdir -p "$SCRATCH/home"
SAMPLE=$(find "$BUNDLE" -path '*/resources/sample' -type d | head -n1)
[ -n "$SAMPLE" ] || fail "the bundle has no resources/sample folder; check datas in packaging/groupmap.spec."

TOKEN=check-$$
CLEAN_ENV=(env -i PATH=/usr/bin:/bin HOME="$SCRATCH/home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen
           XDG_RUNTIME_DIR="$SCRATCH" GROUPMAP_TOKEN="$TOKEN")
bundle() {  # run the bundle in a clean environment from the scratch folder
  (cd "$SCRATCH" && exec "${CLEAN_ENV[@]}" "$EXE" "$@")
}
SERVER_PID=
trap 'if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi; rm -rf "$SCRATCH"' EXIT

echo "1. version"
got=$(bundle --version) || fail "'groupmap --version' exited $?."
[ "$got" = "groupmap $VERSION" ] || fail "'groupmap --version' printed '$got', expected 'groupmap $VERSION'."
echo "   $got"

echo "2. preview of the bundled sample (.csv)"
bundle preview --users "$SAMPLE/users.csv" --mapping "$SAMPLE/mapping.csv" --json >"$SCRATCH/csv.json" \
  || fail "'groupmap preview' on $SAMPLE exited non-zero (output above)."
bundle preview --users "$SAMPLE/users.csv" --mapping "$SAMPLE/mapping.csv" --out "$SCRATCH/preview.xlsx" \
  >"$SCRATCH/preview.txt" || fail "'groupmap preview --out preview.xlsx' exited non-zero (output above)."
[ -s "$SCRATCH/preview.xlsx" ] || fail "'groupmap preview --out preview.xlsx' wrote nothing."
echo "   $(head -n 1 "$SCRATCH/preview.txt") Wrote preview.xlsx."

echo "3. the same sample as .xlsx (python-calamine inside the bundle)"
xlsx=$(find "$SAMPLE" -name 'users*.xlsx' | head -n1)
if [ -z "$xlsx" ]; then  # no .xlsx sample shipped: convert the .csv with the venv (not the bundle)
  xlsx=$SCRATCH/users.xlsx
  .venv/bin/python -c 'import sys, pandas as pd; pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False).to_excel(sys.argv[2], index=False)' \
    "$SAMPLE/users.csv" "$xlsx"
fi
bundle preview --users "$xlsx" --mapping "$SAMPLE/mapping.csv" --json >"$SCRATCH/xlsx.json" \
  || fail "'groupmap preview' on $xlsx exited non-zero (output above)."
.venv/bin/python - "$SCRATCH/csv.json" "$SCRATCH/xlsx.json" <<'EOF' || fail "the .xlsx preview differs from the .csv one."
import json, sys
csv, xlsx = (json.load(open(p)) for p in sys.argv[1:])
for report in (csv, xlsx):
    report.pop("sources", None)
    report.pop("files", None)
print(f"   {csv['users']} users, {csv['changes']} changes; .xlsx and .csv agree: {csv == xlsx}")
sys.exit(0 if csv == xlsx and csv["users"] > 0 else 1)
EOF

echo "3b. SCIM: groupmap sync against groupmap serve on loopback (httpx, scim2 in the bundle)"
(cd "$SCRATCH" && exec "${CLEAN_ENV[@]}" "$EXE" serve --port 0 --users "$SAMPLE/users.csv" \
  --token "$TOKEN" >"$SCRATCH/serve.log" 2>&1) &
SERVER_PID=$!  # the bundle itself (exec), so kill stops the server
for _ in $(seq 1 150); do  # up to 30 s for the server to say where it listens
  grep -q '^Serving SCIM on ' "$SCRATCH/serve.log" && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.2
done
url=$(sed -n 's/^Serving SCIM on \([^ ]*\) .*/\1/p' "$SCRATCH/serve.log")
[ -n "$url" ] || { cat "$SCRATCH/serve.log" >&2; fail "'groupmap serve' did not start (output above)."; }
bundle sync --users "$SAMPLE/users.csv" --mapping "$SAMPLE/mapping.csv" --url "$url" \
  --token-env GROUPMAP_TOKEN --json >"$SCRATCH/sync.json" || fail "'groupmap sync' to $url exited non-zero."
kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
.venv/bin/python - "$SCRATCH/sync.json" <<'EOF' || fail "the sync did not apply cleanly: $(cat "$SCRATCH/sync.json")"
import json, sys
result = json.load(open(sys.argv[1]))
print(f"   synced: {result['added']} added, {result['removed']} removed, {result['failed']} failed, "
      f"{result['requests']} requests")
sys.exit(0 if result["failed"] == 0 and result["added"] > 0 else 1)
EOF

echo "4. main window opens and closes (offscreen)"
bundle --smoke-test 2>"$SCRATCH/smoke.err" \
  || { cat "$SCRATCH/smoke.err" >&2; fail "'groupmap --smoke-test' failed (Qt messages above)."; }

if command -v xvfb-run >/dev/null; then
  echo "4b. the same on a real X server (xcb under Xvfb)"
  (cd "$SCRATCH" && xvfb-run -a sh -c 'exec env -i PATH=/usr/bin:/bin HOME="$0" LANG=C.UTF-8 \
      DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY" QT_QPA_PLATFORM=xcb "$1" --smoke-test' \
      "$SCRATCH/home" "$EXE") 2>"$SCRATCH/xcb.err" \
    || { cat "$SCRATCH/xcb.err" >&2; fail "the main window did not open on X11 (xcb); see the Qt messages above."; }
else
  echo "4b. skipped: xvfb-run is not installed (apt-get install xvfb to also test X11)"
fi

echo "5. size"
bytes=$(du -sb "$BUNDLE" | cut -f1)
mb=$(( (bytes + 1048575) / 1048576 ))
files=$(find "$BUNDLE" -type f | wc -l)
echo "   dist/GroupMap: ${mb} MB unpacked, ${files} files"
echo "   largest parts (MB):"
(cd "$BUNDLE/_internal" && du -sm -- *) | sort -rn | head -n 8 | sed "s/^/     /"
[ "$mb" -le "$MAX_MB" ] || fail "the bundle is ${mb} MB, over the ${MAX_MB} MB limit; see the largest parts above (README, Packaging: size)."

echo "package-check: OK (groupmap $VERSION, ${mb} MB)"
