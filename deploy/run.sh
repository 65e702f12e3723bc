#!/usr/bin/env bash
# The two commands of the README:
#   bash deploy/run.sh demo [ARGS...]   the whole system on this machine (`sitewatch demo ARGS...`)
#   bash deploy/run.sh test [ARGS...]   ruff, ruff format, mypy, then pytest (ARGS go to pytest)
#
# Both set the machine up first, so a fresh Debian 12 with Python 3.11 is enough: as root the Debian
# packages below are installed when missing, then .venv is created and `pip install -e '.[dev]'` runs
# again only when pyproject.toml changed.
set -euo pipefail

# Every Debian package the stack and the tests need: add new ones here and nowhere else.
DEB_PACKAGES=(
    mosquitto mosquitto-clients postgresql
    umockdev gir1.2-umockdev-1.0 python3-gi
    gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    chromium fonts-noto-cjk
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.sitewatch-pyproject.sha256"
cd "$ROOT"

say() { printf '[run.sh] %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

usage() {
    echo "usage: bash deploy/run.sh demo|test [ARGS...]" >&2
    exit 2
}

# Microseconds since the epoch; the decimal separator of EPOCHREALTIME follows the locale.
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

since() {
    local ms=$((($(now_us) - $1) / 1000))
    printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

# The interpreter to build .venv with: python3.11, or python3 if it is a version pyproject.toml accepts.
find_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))'; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

missing_packages() {
    local pkg
    for pkg in "$@"; do
        [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || echo "$pkg"
    done
}

ensure_debian_packages() {
    local wanted=("${DEB_PACKAGES[@]}") missing
    if ! command -v dpkg-query >/dev/null; then
        say "not a Debian system: make sure these are installed yourself: ${wanted[*]}"
        return 0
    fi
    # Debian's own python3 can only build a venv with python3-venv; a self-built one ships ensurepip.
    if [[ ! -x "$VENV/bin/python" ]] && ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
        wanted+=(python3-venv)
    fi
    # The TimescaleDB test lane runs on Node.js. A machine with another Node.js build (NodeSource bundles
    # npm) keeps it: Debian's npm package would conflict with it.
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        wanted+=(nodejs npm)
    fi
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    ((${#missing[@]} == 0)) && return 0
    if ((EUID != 0)); then
        die "missing Debian packages: ${missing[*]}
    run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}
    (or run this script as root and it installs them)"
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_venv() {
    local want have
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV"
    fi
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    have="$(cat "$STAMP" 2>/dev/null || true)"
    if [[ "$want" != "$have" ]]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        # Written last, so an interrupted install is retried next time.
        echo "$want" >"$STAMP"
    fi
}

FAILED=()

# step NAME COMMAND...: run, print how long it took, remember a failure and carry on.
step() {
    local name=$1 start rc=0
    shift
    start="$(now_us)"
    "$@" || rc=$?
    if ((rc == 0)); then
        say "$(printf '%-14s ok      %s' "$name" "$(since "$start")")"
    else
        say "$(printf '%-14s FAILED  %s (exit %d)' "$name" "$(since "$start")" "$rc")"
        FAILED+=("$name")
    fi
}

run_pytest() {
    local rc=0
    "$VENV/bin/pytest" -q -p no:cacheprovider "$@" || rc=$?
    if ((rc == 5)); then
        say "pytest collected no tests: that is a failure, not a pass"
        return 1
    fi
    return "$rc"
}

(($# >= 1)) || usage
command=$1
shift
case "$command" in
demo | test) ;;
*) usage ;;
esac

setup_start="$(now_us)"
PYTHON="$(find_python)" || die "need Python 3.11 to 3.13 as python3.11 or python3 (Debian 12: apt-get install python3)"
ensure_debian_packages
ensure_venv
say "$(printf '%-14s ok      %s' setup "$(since "$setup_start")")"

if [[ "$command" == demo ]]; then
    exec "$VENV/bin/sitewatch" demo "$@"
fi

total_start="$(now_us)"
step "ruff check" "$VENV/bin/ruff" check .
step "ruff format" "$VENV/bin/ruff" format --check .
step mypy "$VENV/bin/mypy"
step pytest run_pytest "$@"
if ((${#FAILED[@]})); then
    die "FAILED: ${FAILED[*]} (checks took $(since "$total_start"))"
fi
say "all checks passed in $(since "$total_start")"
