# Sourced by scripts/run, scripts/test and scripts/bench: make sure .venv holds exactly the
# versions of uv.lock (the lock file: every dependency, direct and transitive, with hashes),
# plus Passerelle itself in editable mode.
#
# uv installs from the lock; uv itself is pinned, with its hashes, by scripts/lib/uv-requirements.txt
# and lives in .tools/ beside the project. `uv sync --locked` refuses to run when uv.lock no longer
# satisfies pyproject.toml; refresh it with ./scripts/lock (see README).

UV_VERSION=0.13.9

# The path of the pinned uv, installed on first use.
uv_bin() {
    local root tools
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    tools="$root/.tools/uv-$UV_VERSION"
    if [[ ! -x "$tools/bin/uv" ]]; then
        echo "==> installing uv $UV_VERSION into $tools" >&2
        rm -rf "$tools"
        "${PYTHON:-python3}" -m venv "$tools" >&2
        "$tools/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
            -r "$root/scripts/lib/uv-requirements.txt" >&2
    fi
    echo "$tools/bin/uv"
}

# ensure_venv [EXTRA...]: .venv with the product's dependencies and the given extras (test, bench).
ensure_venv() {
    local root uv args=()
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    uv=$(uv_bin)
    "${PYTHON:-python3}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "error: Passerelle needs Python >= 3.11; set PYTHON=python3.11" >&2
        return 1
    }
    for extra in "$@"; do args+=(--extra "$extra"); done
    # --inexact: what another script installed (say the test extras, before ./scripts/run) stays.
    # --compile-bytecode, and compileall for Passerelle's own code: every process starts from
    # compiled modules even where PYTHONDONTWRITEBYTECODE is set (an import of the app otherwise
    # compiles ~200 modules again: 3-4 s per gunicorn worker, CLI call or benchmark run).
    (cd "$root" && UV_PROJECT_ENVIRONMENT="$root/.venv" UV_PYTHON_DOWNLOADS=never \
        "$uv" sync --locked --inexact --compile-bytecode --quiet --python "${PYTHON:-python3}" "${args[@]}")
    (cd "$root" && .venv/bin/python -m compileall -q -j 0 engine web bench tests >/dev/null)
}
