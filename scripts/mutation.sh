#!/usr/bin/env bash
# Mutation check (docs/reliability.md, "Mutation testing"): mutmut over the most important
# modules, each against the tests that are meant to catch their bugs, in a clean copy of HEAD
# (mutmut writes a mutants/ tree beside the code), at low priority.
#
#   scripts/mutation.sh crypto     mano_core/crypto/envelope.py and membership.py vs tests/crypto
#   scripts/mutation.sh handlers   sync_server/handlers.py's push and log append (the relay's
#                                  write authorisation) vs tests/relay/test_features.py and
#                                  test_push_and_log_refusals.py
#
# Needs mutmut in the venv (pip install mutmut==3.8.1; not a project dependency). Prints
# mutmut's per-mutant results and the kill ratio; the work tree is left in $MANO_MUTATION_DIR
# (default: a new temporary directory) to inspect survivors with `mutmut show NAME`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:?usage: scripts/mutation.sh crypto|handlers}"
case "$target" in
    crypto)
        only='"mano_core/crypto/envelope.py", "mano_core/crypto/membership.py"'
        tests='"tests/crypto"'
        names=()
        ;;
    handlers)
        only='"sync_server/handlers.py"'
        # Only in-process relays count (mutmut maps tests to code in its own process), and
        # every mutant re-runs its tests: the fast file keeps this run near 10 minutes.
        tests='"tests/relay/test_features.py", "tests/relay/test_push_and_log_refusals.py"'
        names=("sync_server.handlers.xǁHandlersǁpush__mutmut_*"
               "sync_server.handlers.xǁHandlersǁlog_append__mutmut_*"
               "sync_server.handlers.xǁHandlersǁ_log_append__mutmut_*")
        ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
work="${MANO_MUTATION_DIR:-$(mktemp -d -t mano-mutation-XXXX)}"
mkdir -p "$work"
git -C "$here" archive HEAD | tar -x -C "$work"
cat >> "$work/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["mano_core", "sync_server"]
only_mutate = [$only]
pytest_add_cli_args_test_selection = [$tests]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-m", "not slow"]
TOML
cd "$work"
export PATH="$here/.venv/bin:$PATH"
nice -n 10 mutmut run --max-children 1 "${names[@]}" || true
mutmut results --all true > all-results.txt
if [ ${#names[@]} -gt 0 ]; then  # only the mutants this run tested
    python -c 'import fnmatch, sys
pats = sys.argv[1:]
for line in open("all-results.txt"):
    if any(fnmatch.fnmatch(line.split(":")[0].strip(), p) for p in pats):
        print(line, end="")' "${names[@]}" > results.txt
else
    cp all-results.txt results.txt
fi
python - <<'PY'
import collections, re
counts = collections.Counter()
for line in open("results.txt"):
    m = re.match(r"\s*(\S+): (.+)$", line)
    if m:
        counts[m.group(2).strip()] += 1
killed = counts.get("killed", 0)
tested = killed + counts.get("survived", 0) + counts.get("timeout", 0)
print(dict(counts))
print(f"killed {killed} of {tested} tested mutants ({killed / max(tested, 1):.0%})")
PY
echo "work tree: $work"
