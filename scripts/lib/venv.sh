# Sourced by scripts/run and scripts/test: make sure .venv exists and holds
# the project installed in editable mode with the requested extras.
#
# pip runs only when pyproject.toml changed since the last install of the same
# spec; .venv/.passerelle-installed records "<spec> <sha256 of pyproject.toml>".

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

    want="$spec $(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
    if [[ -f "$stamp" ]] && grep -qxF -- "$want" "$stamp"; then
        return 0
    fi
    echo "==> pip install -e '$spec' (pyproject.toml changed or first run)" >&2
    (cd "$root" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec")
    # Keep only stamps for the current pyproject.toml, then add this one;
    # ".[extras]" also installs everything "." needs.
    local hash=${want##* }
    {
        grep -F -- " $hash" "$stamp" 2>/dev/null || true
        echo "$want"
        if [[ $spec == .\[* ]]; then echo ". $hash"; fi
    } | sort -u > "$stamp.new"
    mv "$stamp.new" "$stamp"
}
