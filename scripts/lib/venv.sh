# Sourced by scripts/run and scripts/test: make sure .venv exists and holds
# the project installed in editable mode with the requested extras.
#
# pip runs only when pyproject.toml changed since the last install of the same
# spec; .venv/.passerelle-installed records "<spec> <fingerprint>". The
# fingerprint also covers which top-level packages exist, because an editable
# install maps only the packages present when it ran: a new one (say web/
# appearing after a pull) needs a reinstall for .venv/bin/passerelle to see it.

ensure_venv() {
    local spec=$1   # what to pip-install, e.g. "." or ".[test]"
    local root venv stamp want
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    venv="$root/.venv"
    stamp="$venv/.passerelle-installed"

    if [[ ! -x "$venv/bin/python" ]]; then
        echo "==> creating $venv" >&2
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "error: $venv uses Python < 3.11; remove it or set PYTHON=python3.11" >&2
        return 1
    }

    want="$spec $(cd "$root" && { cat pyproject.toml; ls -d -- */__init__.py 2>/dev/null || true; } \
        | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp" ]] && grep -qxF -- "$want" "$stamp"; then
        return 0
    fi
    echo "==> pip install -e '$spec' (first run, or pyproject.toml or the package list changed)" >&2
    (cd "$root" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec")
    # Keep only stamps with the current fingerprint, then add this one;
    # ".[extras]" also installs everything "." needs.
    local hash=${want##* }
    {
        grep -F -- " $hash" "$stamp" 2>/dev/null || true
        echo "$want"
        if [[ $spec == .\[* ]]; then echo ". $hash"; fi
    } | sort -u > "$stamp.new"
    mv "$stamp.new" "$stamp"
}
